/*
 * `profile [-s SECONDS] [-f HZ] [CMD [ARG...]]`: run CMD (or, with -s,
 * wait SECONDS while whatever runs runs) with the sampling profiler on
 * (include/ghee/profile.h), then print where the CPUs were:
 *
 *   profile: 2004 samples, 2 CPUs at 1000 Hz for 1.002 s, 0 lost
 *      samples       %  function
 *         1500   74.85  sched_idle
 *          ...
 *           50    2.49  [12 other functions]
 *
 *   top functions with their callees (inclusive, 10 frames deep):
 *      samples       %  function
 *          ...
 *
 *   top call chains (innermost first):
 *      samples       %  chain
 *          800   39.92  crc32c_sw
 *                         <- csum_data ...
 *
 *   top waits (tasks asleep, innermost first):
 *      slept ms     sleeps  chain
 *       1603.412       310  completion_take
 *                             <- volumes_read_end ...
 *
 * Function rows count the samples whose interrupted instruction was in
 * the function (self time); with the last row they add up to every
 * sample. Inclusive rows count every sample whose call chain holds the
 * function (its own time and its callees'), to find which caller a
 * commonly called function's time belongs to. Chains are the
 * frame-pointer call chains, PROFILE_DEPTH deep.
 * Waits are where tasks slept while the profile ran, by the time they
 * slept there (summed over the tasks: it can pass the profile's length),
 * from the function that went to sleep out: the disk reads, locks and
 * commits that a CPU profile shows only as idle time.
 * The profile goes to the command's output, after CMD's own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/profile.h>
#include <ghee/task.h>

#include "cmd_profile.h"
#include "shell.h"

#define TOP_FUNCS	20	/* function rows printed */
#define TOP_CHAINS	5	/* call chains printed */
#define TOP_WAITS	8	/* wait chains printed */

/* One function's self samples. */
struct func_count {
	const char *name;
	uint64_t samples;
};

static int by_name(const void *a, const void *b)
{
	const char *x = ((const struct func_count *)a)->name;
	const char *y = ((const struct func_count *)b)->name;

	return x < y ? -1 : x > y;
}

static int by_samples(const void *a, const void *b)
{
	uint64_t x = ((const struct profile_chain *)a)->samples;
	uint64_t y = ((const struct profile_chain *)b)->samples;

	return x > y ? -1 : x < y;
}

static int by_ns(const void *a, const void *b)
{
	uint64_t x = ((const struct profile_chain *)a)->ns;
	uint64_t y = ((const struct profile_chain *)b)->ns;

	return x > y ? -1 : x < y;
}

static int func_by_samples(const void *a, const void *b)
{
	uint64_t x = ((const struct func_count *)a)->samples;
	uint64_t y = ((const struct func_count *)b)->samples;

	return x > y ? -1 : x < y;
}

/* Print "   samples       %" of n out of total. */
static void print_share(uint64_t n, uint64_t total)
{
	uint64_t bp = total ? n * 10000 / total : 0;	/* basis points */

	con_printf("%10llu  %3llu.%02llu  ", (unsigned long long)n,
		   (unsigned long long)(bp / 100),
		   (unsigned long long)(bp % 100));
}

/* Sort f (n entries, a name more than once) by name, sum each name's
 * samples into one entry, then sort those by samples; returns how many. */
static size_t sum_by_func(struct func_count *f, size_t n)
{
	size_t i, m = 0;

	qsort(f, n, sizeof(*f), by_name);
	for (i = 0; i < n; i++) {
		if (m && f[m - 1].name == f[i].name)
			f[m - 1].samples += f[i].samples;
		else
			f[m++] = f[i];
	}
	qsort(f, m, sizeof(*f), func_by_samples);
	return m;
}

/* The function rows: chains grouped by innermost function. */
static int print_funcs(const struct profile_result *r)
{
	struct func_count *f = kmalloc((r->nr_chains + 1) * sizeof(*f));
	size_t i, n = 0;
	uint64_t rest = 0;

	if (!f)
		return -ENOMEM;
	for (i = 0; i < r->nr_chains; i++)
		f[n++] = (struct func_count){ r->chains[i].func[0],
					      r->chains[i].samples };
	n = sum_by_func(f, n);
	con_printf("   samples       %%  function\n");
	for (i = 0; i < n; i++) {
		if (i < TOP_FUNCS) {
			print_share(f[i].samples, r->samples);
			con_printf("%s\n", f[i].name);
		} else {
			rest += f[i].samples;
		}
	}
	if (n > TOP_FUNCS) {
		print_share(rest, r->samples);
		con_printf("[%zu other functions]\n", n - TOP_FUNCS);
	}
	kfree(f);
	return 0;
}

/* The inclusive rows: each function with the samples of every chain it
 * is in (itself or anything it called), as `perf report --children`
 * does; a function deeper than PROFILE_DEPTH frames from the sampled
 * one is not seen. A recursive function counts a chain once. */
static int print_inclusive(const struct profile_result *r)
{
	struct func_count *f = kmalloc((r->nr_chains * PROFILE_DEPTH + 1) *
				       sizeof(*f));
	size_t i, n = 0;
	int d, e;

	if (!f)
		return -ENOMEM;
	for (i = 0; i < r->nr_chains; i++) {
		const struct profile_chain *c = &r->chains[i];

		for (d = 0; d < c->depth; d++) {
			for (e = 0; e < d && c->func[e] != c->func[d]; e++)
				;
			if (e == d)
				f[n++] = (struct func_count){ c->func[d],
							      c->samples };
		}
	}
	n = sum_by_func(f, n);
	con_printf("\ntop functions with their callees (inclusive, %d frames "
		   "deep):\n   samples       %%  function\n", PROFILE_DEPTH);
	for (i = 0; i < n && i < TOP_FUNCS; i++) {
		print_share(f[i].samples, r->samples);
		con_printf("%s\n", f[i].name);
	}
	kfree(f);
	return 0;
}

/* The functions of c after the first, one a line under it, indent
 * columns in. */
static void print_callers(const struct profile_chain *c, int indent)
{
	int d;

	for (d = 1; d < c->depth; d++)
		con_printf("%*s<- %s\n", indent, "", c->func[d]);
}

static void print_chains(struct profile_result *r)
{
	size_t i;

	qsort(r->chains, r->nr_chains, sizeof(*r->chains), by_samples);
	con_printf("\ntop call chains (innermost first):\n"
		   "   samples       %%  chain\n");
	for (i = 0; i < r->nr_chains && i < TOP_CHAINS; i++) {
		print_share(r->chains[i].samples, r->samples);
		con_printf("%s\n", r->chains[i].func[0]);
		print_callers(&r->chains[i], 22);
	}
}

static void print_waits(struct profile_result *r)
{
	size_t i;

	qsort(r->waits, r->nr_waits, sizeof(*r->waits), by_ns);
	con_printf("\ntop waits (tasks asleep, innermost first), %llu lost:\n"
		   "   slept ms     sleeps  chain\n",
		   (unsigned long long)r->waits_lost);
	for (i = 0; i < r->nr_waits && i < TOP_WAITS; i++) {
		const struct profile_chain *c = &r->waits[i];

		con_printf("%7llu.%03llu %10llu  %s\n",
			   (unsigned long long)(c->ns / 1000000),
			   (unsigned long long)(c->ns / 1000 % 1000),
			   (unsigned long long)c->samples,
			   c->depth ? c->func[0] : "[unknown]");
		print_callers(c, 24);
	}
}

static int report(struct profile_result *r)
{
	con_printf("profile: %llu samples, %d CPU%s at %u Hz for "
		   "%llu.%03llu s, %llu lost\n",
		   (unsigned long long)r->samples, r->cpus,
		   r->cpus == 1 ? "" : "s", r->hz,
		   (unsigned long long)(r->ns / 1000000000),
		   (unsigned long long)(r->ns / 1000000 % 1000),
		   (unsigned long long)r->lost);
	if (r->samples) {
		if (print_funcs(r) < 0 || print_inclusive(r) < 0) {
			con_eprintf("profile: out of memory for the report\n");
			return -ENOMEM;
		}
		print_chains(r);
	}
	if (r->nr_waits)
		print_waits(r);
	return 0;
}

/* Parse -s SECONDS and -f HZ; *first is the index of CMD (argc: none). */
static int parse(int argc, char **argv, uint64_t *secs, uint64_t *hz,
		 int *first)
{
	int i, ret;

	for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if ((strcmp(argv[i], "-s") && strcmp(argv[i], "-f")) ||
		    i + 1 >= argc) {
			con_eprintf("profile: %s: want -s SECONDS or -f HZ\n",
				    argv[i]);
			return -EINVAL;
		}
		ret = shell_parse_u64(argv[i + 1], argv[i][1] == 's' ?
				      "SECONDS" : "HZ",
				      argv[i][1] == 's' ? secs : hz);
		if (ret < 0)
			return ret;
	}
	*first = i;
	if ((*secs != 0) == (i < argc)) {
		con_eprintf("profile: give a command to run, or -s SECONDS "
			    "(at least 1) without one\n");
		return -EINVAL;
	}
	if (*secs > 24ull * 3600) {
		con_eprintf("profile: %llu s is more than a day\n",
			    (unsigned long long)*secs);
		return -EINVAL;
	}
	if (!*hz || *hz > PROFILE_HZ_MAX || *hz % PROFILE_HZ_STEP) {
		con_eprintf("profile: HZ must be a multiple of %d up to %d\n",
			    PROFILE_HZ_STEP, PROFILE_HZ_MAX);
		return -EINVAL;
	}
	return 0;
}

/* Start the profiler, saying why when it cannot. */
static int start(uint32_t hz)
{
	int ret = profile_start(hz);

	if (ret == -EOPNOTSUPP)
		con_eprintf("profile: the host tool has no profiler: run it "
			    "under perf (README)\n");
	else if (ret == -EBUSY)
		con_eprintf("profile: another profile is running\n");
	else if (ret < 0)
		con_eprintf("profile: cannot start (%d)\n", ret);
	return ret;
}

int cmd_profile(int argc, char **argv)
{
	uint64_t secs = 0, hz = PROFILE_HZ_STEP;
	struct profile_result r;
	int first, ret, stop_ret;

	ret = parse(argc, argv, &secs, &hz, &first);
	if (ret < 0)
		return ret;
	ret = start((uint32_t)hz);
	if (ret < 0)
		return ret;
	if (first < argc) {
		ret = shell_run_argv(argc - first, argv + first);
		/* CMD printed its own usage: keep the shell from adding
		 * profile's (as time does). */
		if (ret == -EINVAL)
			ret = -ECANCELED;
	} else if (msleep(secs * 1000)) {
		con_eprintf("profile: cancelled; the samples so far:\n");
		ret = -ECANCELED;
	}
	stop_ret = profile_stop(&r);
	if (stop_ret < 0) {
		con_eprintf("profile: no samples (%d)\n", stop_ret);
		return ret ? ret : stop_ret;
	}
	stop_ret = report(&r);
	profile_result_free(&r);
	return ret ? ret : stop_ret;
}
