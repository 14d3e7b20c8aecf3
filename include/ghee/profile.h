/*
 * The sampling profiler (kernel/profile.c; the host tool has none: it
 * runs under perf on the host). While a profile runs, every CPU's timer
 * interrupt records the function it interrupted and the call chain that
 * led there, and every task that sleeps records the call chain it slept
 * in and for how long (the time a CPU profile shows only as idle); the
 * shell's `profile` command reports them.
 */
#ifndef GHEE_PROFILE_H
#define GHEE_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#define PROFILE_DEPTH	10	/* functions kept of each call chain */
#define PROFILE_HZ_STEP	1000	/* rates are multiples of the scheduler
				 * tick, and the default */
#define PROFILE_HZ_MAX	10000	/* highest sampling rate, per CPU */

/* One call chain and how many samples found it (a wait chain: how many
 * sleeps began there, and how long they lasted in all). */
struct profile_chain {
	uint64_t samples;
	uint64_t ns;				/* wait chains only */
	int depth;				/* entries in func */
	const char *func[PROFILE_DEPTH];	/* names, innermost first;
						 * static strings, equal
						 * pointers for one function */
};

struct profile_result {
	struct profile_chain *chains;	/* nr_chains, in no order */
	size_t nr_chains;
	uint64_t samples;	/* samples counted in chains */
	uint64_t lost;		/* samples dropped: too many distinct chains */
	struct profile_chain *waits;	/* nr_waits, in no order */
	size_t nr_waits;
	uint64_t waits_lost;	/* sleeps dropped: too many distinct chains */
	uint64_t ns;		/* how long the profile ran */
	uint32_t hz;		/* samples a second on each CPU */
	int cpus;		/* CPUs sampled */
};

/* Start sampling every CPU hz times a second (a multiple of
 * PROFILE_HZ_STEP up to PROFILE_HZ_MAX). 0; -EINVAL for another hz; -EBUSY
 * while another profile runs; -ENOMEM; -EOPNOTSUPP on the host. */
int profile_start(uint32_t hz);
/* Stop the profile profile_start began and hand over its samples in *r
 * (free them with profile_result_free). 0, -ENOMEM (the samples are
 * lost), or -EINVAL when no profile runs. */
int profile_stop(struct profile_result *r);
void profile_result_free(struct profile_result *r);

/* The scheduler's hooks around a task's sleep (kernel only): begin notes
 * where and when the calling task goes to sleep, if a profile runs and
 * the task is asleep (not yielding); end, once it runs again, records
 * the sleep. */
struct profile_wait {
	uint64_t start_ns;		/* 0: nothing to record */
	uint32_t depth;
	uint32_t sym[PROFILE_DEPTH];
};
void profile_wait_begin(struct profile_wait *w);
void profile_wait_end(const struct profile_wait *w);

#endif
