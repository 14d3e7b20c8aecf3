/*
 * The driver of scripted crash workloads (crash_model.h).
 *
 * A case makes its template image once, then per seed runs the workload
 * uncut (the reference run), recording the listing of the live tree
 * after every operation; the workload is seeded and chooses its
 * operations from what the tree holds, so every cut run passes through
 * the same states until the cut. A cut run records no listing: it counts
 * the states passed and notes the last sync that returned, which bound
 * the states its survivor may hold.
 *
 * A survivor must: pass `btrfs check` (with --qgroup-report for
 * CRASH_QGROUPS) as it is, before ghee mounts it (a sample in make test,
 * every one with GHEE_CRASH_ALL=1); mount (a balance it holds resumes,
 * as on any read-write mount, and runs beside what follows); pass
 * ghee's fsck; list as one of those states (with CRASH_PARTIAL, a
 * writable subvolume under partial_dir may be there half received: the
 * rest must be a state); let that balance finish; take a new file and a
 * sync, let the cleaner finish dropping deleted
 * subvolumes, and pass fsck again. A failing survivor is a finding,
 * printed with its case, mode, seed and cut (the first image kept); the
 * case goes on and fails at the end.
 *
 * To debug: GHEE_CRASH_SEED=N runs that seed only, GHEE_CRASH_CUT=N that
 * cut only, GHEE_CRASH_TRACE=1 prints what each state of the reference
 * run changed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/fs.h"
#include "../../fs/transaction.h"
#include "balance_fixture.h"
#include "crash_model.h"
#include "shim/host.h"
#include "test.h"

#define MAX_STATES 4000
#define SHOWN_FINDINGS 5	/* findings printed per case */

uint64_t crash_rnd(struct crash_ctx *c, uint64_t n)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng % n;
}

/* Bytes of pattern op at file offset off. */
void crash_fill(uint8_t *buf, uint64_t op, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)((op * 131 + (off + i) / 7) ^ (off + i));
}

int crash_put(struct fs_info *fs, const char *path, uint64_t op,
	      uint64_t off, size_t len)
{
	static uint8_t buf[CRASH_PUT_MAX];
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (len > sizeof(buf))
		return -EINVAL;
	if (ret == -ENOENT)
		ret = fs_create(fs, path, 0644, &ino);
	crash_fill(buf, op, off, len);
	return ret ? ret : fs_write(fs, ino, off, buf, len);
}

int crash_write(struct crash_ctx *c, const char *path, uint64_t op,
		uint64_t off, size_t len)
{
	struct fs_ino ino;
	int ret = fs_lookup(c->fs, path, 0, &ino);

	if (ret == -ENOENT)
		ret = crash_done(c, fs_create(c->fs, path, 0644, &ino), 0);
	return ret ? ret : crash_put(c->fs, path, op, off, len);
}

int crash_done(struct crash_ctx *c, int ret, int sync)
{
	char *l;

	if (ret)
		return ret;
	if (c->ref) {
		l = crash_listing(c->fs);
		if (!l || crash_states_add(c->ref, l, fault_dev_writes(c->f),
					   sync)) {
			c->record_failed = 1;
			return -EIO;
		}
		if (getenv("GHEE_CRASH_TRACE") && c->nstates) {
			printf("# state %d at write %llu%s:\n", c->nstates,
			       (unsigned long long)fault_dev_writes(c->f),
			       sync ? " (sync)" : "");
			crash_print_diff(l, c->ref->st[c->nstates - 1].listing);
		}
	}
	if (sync)
		c->synced = c->nstates;
	c->nstates++;
	return 0;
}

int crash_run_ops(struct crash_ctx *c, int nops,
		  int (*one)(struct crash_ctx *c, uint64_t op, uint64_t k,
			     int *sync))
{
	uint64_t op;
	int done = 0, ret = 0;

	for (op = 1; done < nops && ret == 0; op++) {
		uint64_t k = crash_rnd(c, 100);
		int sync = 0;

		ret = one(c, op, k, &sync);
		if (ret == 1) {
			ret = 0;
			continue;
		}
		ret = crash_done(c, ret, sync);
		done++;
	}
	return ret;
}

void crash_finding(const char *name, enum fault_mode mode, uint64_t cut,
		   uint64_t writes, const char *why)
{
	printf("# finding: %s, mode %s, cut at write %llu of %llu "
	       "(GHEE_CRASH_CUT=%llu): %s\n", name, crash_mode_names[mode],
	       (unsigned long long)cut, (unsigned long long)writes,
	       (unsigned long long)cut, why);
}

void crash_summary(const char *name, enum fault_mode mode, uint64_t writes,
		   uint64_t cuts, uint64_t checks, uint64_t findings)
{
	printf("# crash %s %s: %llu writes, %llu cuts, %llu btrfs checks, "
	       "%llu findings\n", name, crash_mode_names[mode],
	       (unsigned long long)writes, (unsigned long long)cuts,
	       (unsigned long long)checks, (unsigned long long)findings);
	fflush(stdout);		/* a long campaign's log shows progress */
}

/* The workload's seed number i: GHEE_CRASH_SEED (then only one), else
 * one of its name and i. */
static uint64_t seed_of(const struct crash_workload *w, int i)
{
	const char *s = getenv("GHEE_CRASH_SEED");

	return s ? strtoull(s, NULL, 0) :
		   crash_fnv(CRASH_FNV0, w->name, strlen(w->name)) ^
		   (uint64_t)i * 0x9E3779B97F4A7C15ull;
}

static struct fault_dev *make_template(const struct crash_workload *w)
{
	struct fs_mkfs_opts o = { NULL, w->nodesize, 0, NULL };
	struct fault_dev *t = fault_dev_new(w->dev_size);
	struct fs_info *fs;
	int ret = t ? fs_mkfs(fault_dev_blk(t), &o) : -ENOMEM;

	if (ret == 0 && (ret = fs_mount(fault_dev_blk(t), 0, &fs)) == 0) {
		trans_stop_committer(fs);	/* see run_once */
		ret = w->prepare ? w->prepare(fs) : 0;
		if (ret == 0)
			ret = fs_sync(fs);
		fs_umount(fs);
	}
	if (ret) {
		printf("# %s: making the template failed: %d\n", w->name, ret);
		fault_dev_free(t);
		t = NULL;
	}
	return t;
}

/*
 * Run w on a copy of tmpl, the power cut at write cut (0: never); c says
 * which states it passed, *out is the survivor, *writes the workload's
 * writes. NULL, or why the run itself went wrong: it must stop because
 * of the cut, and the uncut run must end.
 */
static const char *run_once(struct fault_dev *tmpl,
			    const struct crash_workload *w,
			    enum fault_mode mode, uint64_t seed, uint64_t cut,
			    struct crash_states *ref, struct crash_ctx *c,
			    struct fault_dev **out, uint64_t *writes)
{
	struct fault_dev *f = fault_dev_clone(tmpl);
	const char *why = NULL;
	int ret;

	memset(c, 0, sizeof(*c));
	c->f = f;
	c->ref = ref;
	c->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	fault_dev_arm(f, cut, mode, seed ^ cut);
	ret = fs_mount(fault_dev_blk(f), 0, &c->fs);
	if (ret) {
		why = "the template does not mount";
	} else {
		/* Commits only where the workload and the filesystem's own
		 * tasks make them, not on the wall clock: a slow or loaded
		 * run would commit at other writes, and write N of a seed
		 * (GHEE_CRASH_CUT) would fall elsewhere from run to run.
		 * A workload whose calls run beside the cleaner's drop
		 * (crash_subvol's drop) still varies with their timing. */
		trans_stop_committer(c->fs);
		ret = crash_done(c, 0, 1);	/* the template */
		if (ret == 0)
			ret = w->run(c);
		if (ret == 0)
			ret = crash_done(c, fs_sync(c->fs), 1);
		*writes = fault_dev_writes(f);
		fs_umount(c->fs);
	}
	if (!why && c->record_failed)
		why = "listing a state of the reference run failed";
	else if (!why && !cut && ret)
		why = "the uncut workload failed";
	else if (!why && cut && ret && !fault_dev_is_cut(f))
		why = "the workload failed before the cut";
	*out = fault_dev_crash_image(f);
	fault_dev_free(f);
	return why;
}

/* Drop from listing l every line of a writable subvolume under dir (one
 * received in part) and of what it holds; how many were dropped. */
static int strip_partial(char *l, const char *dir)
{
	char sub[CRASH_PATH_LEN + 1] = "", *p = l, *nl;
	size_t dl = strlen(dir), sl = 0;
	int n = 0;

	while (*p) {
		nl = strchr(p, '\n') + 1;
		if (sl && !strncmp(p, sub, sl)) {
			memmove(p, nl, strlen(nl) + 1);
			continue;
		}
		if (!strncmp(p, dir, dl) && strstr(p, " subvol rw\n") &&
		    strstr(p, " subvol rw\n") < nl) {
			sl = (size_t)(strchr(p, ' ') - p) + 1;
			snprintf(sub, sizeof(sub), "%.*s/", (int)sl - 1, p);
			n++;
			memmove(p, nl, strlen(nl) + 1);
			continue;
		}
		p = nl;
	}
	return n;
}

/* A new file and a sync on the survivor, the cleaner's drops finished. */
static int recover(struct fs_info *fs)
{
	struct fs_ino ino;
	int ret = fs_create(fs, "/after-crash", 0644, &ino);

	if (ret == 0)
		ret = fs_write(fs, ino, 0, "x", 1);
	if (ret == 0)
		ret = fs_sync(fs);
	return ret ? ret : fs_subvol_sync(fs);
}

/* Verify survivor img of a run that passed the states c says. */
static const char *verify(struct fault_dev *img,
			  const struct crash_workload *w,
			  const struct crash_states *ref,
			  const struct crash_ctx *c, int *partial)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	char *l = NULL;
	const char *why = NULL;

	/* A balance the cut left resumes at the mount: the listing reads
	 * every file beside it, as a user would (fs/file.c, "Data that
	 * moves under a read"). */
	if (fs_mount(fault_dev_blk(img), 0, &fs))
		return "the image does not mount";
	if (fs_check(fs, &rep))
		why = "ghee's fsck found errors";
	else if (!(l = crash_listing(fs)))
		why = "reading the tree failed";
	if (!why && crash_states_find(ref, l, c->synced, c->nstates) < 0) {
		char *whole = strdup(l);

		if ((w->flags & CRASH_PARTIAL) &&
		    strip_partial(l, w->partial_dir) &&
		    crash_states_find(ref, l, c->synced, c->nstates) >= 0)
			(*partial)++;
		else if (crash_states_match(ref, whole, c->synced,
					    c->nstates))
			why = "the tree is no state the workload passed "
			      "through";
		free(whole);
	}
	if (!why && bal_finish(fs, 600))
		why = "the balance the cut left does not finish";
	if (!why && recover(fs))
		why = "the survivor takes no new writes";
	if (!why && fs_check(fs, &rep))
		why = "ghee's fsck found errors after new writes";
	free(l);
	fs_umount(fs);
	return why;
}

/* btrfs check of survivor img: NULL or why not clean. */
static const char *btrfs_judge(const struct crash_workload *w,
			       const struct fault_dev *img)
{
	enum btrfs_check_result r = (w->flags & CRASH_QGROUPS) ?
		fault_dev_btrfs_check_qgroups(img) :
		fault_dev_btrfs_check(img);

	if (r == BTRFS_CHECK_MISSING)
		test_skip("btrfs-progs not installed: no btrfs check");
	return r == BTRFS_CHECK_ERRORS ? "btrfs check found errors" :
	       r == BTRFS_CHECK_NO_IMAGE ? "btrfs check could not run" : NULL;
}

/* What the runs of one case came to. */
struct tally {
	uint64_t writes, cuts, checks, found;
	int partial;	/* survivors holding a subvolume received in part */
};

/* A finding: print it (the first few) and keep the first image. */
static void finding(const struct crash_workload *w, enum fault_mode mode,
		    uint64_t seed, uint64_t cut, uint64_t total,
		    const char *why, const struct fault_dev *img,
		    struct tally *t)
{
	char path[128];

	if (++t->found > SHOWN_FINDINGS)
		return;
	printf("# finding: %s, mode %s, GHEE_CRASH_SEED=%#llx, cut at write "
	       "%llu of %llu: %s\n", w->name, crash_mode_names[mode],
	       (unsigned long long)seed, (unsigned long long)cut,
	       (unsigned long long)total, why);
	snprintf(path, sizeof(path), "/tmp/ghee-crash-%s-%s.img", w->name,
		 crash_mode_names[mode]);
	if (t->found == 1 && img && fault_dev_save(img, path) == 0)
		printf("# the failing image is %s\n", path);
}

/* The runs of one seed: the reference, then the cuts. */
static void one_seed(struct fault_dev *tmpl, const struct crash_workload *w,
		     const struct crash_plan *plan, uint64_t seed, int all,
		     struct tally *t)
{
	static struct crash_states ref;
	const char *one = getenv("GHEE_CRASH_CUT");	/* one cut, to debug */
	struct fault_dev *img;
	struct crash_ctx c;
	uint64_t total = 0, writes, ncuts, k, cut, every;
	const char *why;

	crash_states_init(&ref, MAX_STATES);
	why = run_once(tmpl, w, plan->mode, seed, 0, &ref, &c, &img, &total);
	fault_dev_free(img);
	if (why)
		finding(w, plan->mode, seed, 0, total, why, NULL, t);
	ncuts = all ? plan->all_cuts : plan->test_cuts;
	ncuts = why || total < 2 ? 0 : ncuts < total - 1 ? ncuts : total - 1;
	ncuts = one && ncuts ? 1 : ncuts;
	every = all ? 1 : ncuts / (uint64_t)plan->test_checks + 1;
	for (k = 0; k < ncuts; k++) {
		cut = one ? strtoull(one, NULL, 0) :
			    1 + k * (total - 1) / ncuts;
		why = run_once(tmpl, w, plan->mode, seed, cut, NULL, &c, &img,
			       &writes);
		if (!why && k % every == 0) {
			t->checks++;
			why = btrfs_judge(w, img);
		}
		if (!why)
			why = verify(img, w, &ref, &c, &t->partial);
		if (why)
			finding(w, plan->mode, seed, cut, total, why, img, t);
		fault_dev_free(img);
	}
	crash_states_free(&ref);
	t->writes += total;
	t->cuts += ncuts;
}

void crash_workload_run(const struct crash_workload *w,
			const struct crash_plan *plan)
{
	struct fault_dev *tmpl = make_template(w);
	int all = getenv("GHEE_CRASH_ALL") != NULL, i;
	int seeds = all && !getenv("GHEE_CRASH_SEED") ? plan->all_seeds : 1;
	struct tally t = { 0, 0, 0, 0, 0 };

	CHECK(tmpl != NULL);
	host_console_capture(1);	/* the aborts' messages */
	for (i = 0; i < seeds; i++)
		one_seed(tmpl, w, plan, seed_of(w, i), all, &t);
	host_console_capture(0);
	fault_dev_free(tmpl);
	if (t.partial)
		printf("# %d survivors held a subvolume received in part\n",
		       t.partial);
	crash_summary(w->name, plan->mode, t.writes, t.cuts, t.checks,
		      t.found);
	if (t.found)
		test_fail(__FILE__, __LINE__, "%s (%s): %llu findings",
			  w->name, crash_mode_names[plan->mode],
			  (unsigned long long)t.found);
}
