/*
 * Injected I/O errors: each workload (test_ioerr_work.c) runs on the
 * fault device (shim/fault_dev.c) with a read, write or flush error
 * injected at its Nth I/O of that kind, once (one-shot) or from then on
 * (persistent). A run without errors first counts the workload's reads,
 * writes and flushes; N then goes over that whole range: evenly sampled
 * (IOERR_SAMPLES indexes per kind and persistence) in make test, every
 * index with GHEE_IOERR_ALL=1 (make ioerr).
 *
 * The oracle, for each run:
 *  - no crash, no sanitizer finding (the build's sanitizers);
 *  - the workload ends well, or its failing call returns -EIO, or the
 *    filesystem aborted to read-only (then -EROFS is right too) and the
 *    console (captured) says so; a write or flush error that the
 *    workload never saw, on a filesystem still writable, is a silent loss;
 *  - after a one-shot error returned, the filesystem still writable: a
 *    new file and a sync work;
 *  - while still mounted, every path of the model reads back its current
 *    state (any state since the last sync after an abort) or -EIO:
 *    never wrong bytes;
 *  - with the fault cleared, a remount is read-write, fsck is clean,
 *    every path holds a state it had since the last sync that returned
 *    (a path synced and not changed since: exactly that), and the
 *    filesystem takes a new file; a sample of the images (one run in
 *    IOERR_CHECK_EVERY in the campaign) passes btrfs check with its data
 *    checksums verified.
 * Paths an operation failed on are read, but only a read error is judged
 * (the model's "unsure": the operation may have done part of its work).
 *
 * Each workload prints its counts: reads, writes and flushes, runs,
 * errors injected, how runs ended (returned an error, aborted, survived
 * the error, or never reached it) and its first abort's message. The
 * tree-block cache keeps no block nobody holds, so that every search
 * reads from the device. GHEE_IOERR_AT="read 197" (or write, flush; and
 * "persistent") runs that one error of a workload, to reproduce a
 * finding.
 *
 * ioerr.dup_metadata checks that a read error on the first copy of DUP
 * metadata is survived by the second. The *_every_read cases fail each
 * read of one call in turn on SINGLE metadata (no second copy), then
 * judge as above: the regression tests of the findings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>

#include "../../fs/fs_info.h"
#include "../../fs/volumes.h"
#include "balance_fixture.h"
#include "shim/host.h"
#include "test.h"
#include "test_ioerr.h"

#define DEV_SIZE (128ull << 20)
#define IOERR_SAMPLES 8		/* indexes per kind and persistence */
#define IOERR_CHECKS 2		/* btrfs checks per workload (make test) */
#define IOERR_CHECK_EVERY 16	/* the campaign: one run in so many */
#define IOERR_SHOWN 4		/* findings printed per workload */

static struct model tmodel;	/* the template's */
static struct model rmodel;	/* a run's */

/* How runs of a workload ended, and what they cost. */
struct tally {
	uint64_t runs, errors, returned, aborted, survived, unreached;
	uint64_t checks, findings;
	uint64_t io[3];		/* the workload's reads, writes, flushes */
	char said[200];		/* the first abort's console line */
};

/* Keep no unheld block cached (test_ioerr.h). max_bytes is [I] in
 * tree_block.h; this runs right after mount, before any other user. */
void ioerr_cold_cache(struct fs_info *fs)
{
	spin_lock(&fs->cache.lock);
	fs->cache.max_bytes = 0;
	spin_unlock(&fs->cache.lock);
}

/* A fresh filesystem with w's setup done, synced and unmounted; its
 * model in tmodel. NULL on failure (printed). */
static struct fault_dev *make_template(const struct workload *w)
{
	struct fs_mkfs_opts o = { NULL, w->nodesize, w->metadata_single,
				  NULL };
	struct env e = { fault_dev_new(DEV_SIZE), NULL, &tmodel };
	int ret = -ENOMEM;

	tmodel.n = 0;
	if (e.dev)
		ret = fs_mkfs(fault_dev_blk(e.dev), &o);
	if (ret == 0)
		ret = fs_mount(fault_dev_blk(e.dev), 0, &e.fs);
	if (ret == 0) {
		ret = w->setup(&e);
		if (ret == 0)
			ret = w_sync(&e);
		fs_umount(e.fs);
	}
	if (ret == 0)
		return e.dev;
	printf("# %s: setup failed: %d\n", w->name, ret);
	fault_dev_free(e.dev);
	return NULL;
}

/* Read t's path as the filesystem shows it into got (a directory or a
 * file, whatever the model thinks it is). 0 (absent is no error) or the
 * first error. */
static int read_state(struct fs_info *fs, const struct ment *t,
		      struct ment *got)
{
	struct fs_ino ino;
	struct fs_stat st;
	size_t n, xl;
	int ret = fs_lookup(fs, t->path, 0, &ino);

	got->exists = ret == 0;
	got->len = 0;
	got->xlen = -1;
	if (ret)
		return ret == -ENOENT ? 0 : ret;
	ret = fs_stat(fs, ino, &st);
	if (ret)
		return ret;
	got->type = (st.mode & 0170000) == 0040000 ? 'd' : 'f';
	if (got->type == 'd')
		return 0;
	n = st.size < IOERR_FILE ? st.size : IOERR_FILE;
	ret = fs_read(fs, ino, 0, got->data, n, &n);
	if (ret)
		return ret;
	got->len = n;
	if (st.size > IOERR_FILE) {	/* larger than any file made */
		got->xlen = -2;		/* a state no file of the model has */
		return 0;
	}
	ret = fs_getxattr(fs, ino, "user.t", got->x, sizeof(got->x), &xl);
	if (ret == 0)
		got->xlen = (int)xl;
	return ret == -ENODATA ? 0 : ret;
}

/* Judge every path of the model as fs shows it: its current state only
 * (current), else any state since the last sync; a read error is
 * accepted when io_ok. NULL or why not. */
static const char *judge_paths(struct fs_info *fs, const struct model *m,
			       int current, int io_ok)
{
	static struct ment got;
	static char why[200];
	const struct ment *t;
	uint64_t s;
	int i, k, ret;

	for (i = 0; i < m->n; i++) {
		t = &m->e[i];
		ret = read_state(fs, t, &got);
		if (ret == -EIO && io_ok)
			continue;
		if (ret) {
			snprintf(why, sizeof(why), "reading %s: error %d",
				 t->path, ret);
			return why;
		}
		if (t->unsure)
			continue;
		s = m_state(&got);
		for (k = current ? t->nver - 1 : 0; k < t->nver; k++)
			if (s == t->ver[k])
				break;
		if (k == t->nver) {
			snprintf(why, sizeof(why), "%s is %s: none of the "
				 "states the model allows", t->path,
				 got.exists ? "wrong" : "missing");
			return why;
		}
	}
	return NULL;
}

/* Judge how the run ended: its return and the filesystem's state. */
static const char *judge_end(const struct env *e, unsigned kind, int ret,
			     uint64_t injected, int aborted)
{
	static char why[120];

	if (aborted && !strstr(host_console_output(), "read-only"))
		return "the filesystem went read-only without saying why";
	if (ret == 0 && !aborted && kind != FAULT_IO_READ && injected)
		return "a write failed and nothing said so";
	if (ret == 0 || ret == -EIO || (aborted && ret == -EROFS))
		return NULL;
	snprintf(why, sizeof(why), "the workload returned %d (%s)", ret,
		 e->fs ? "mounted" : "not mounted");
	return why;
}

/* After an error a call returned (the filesystem still writable, the
 * one-shot error spent): a new file, written and synced, must work.
 * NULL or why not. */
static const char *go_on(struct env *e)
{
	static char why[120];
	int ret = w_create(e, "/after-error");

	if (ret == 0)
		ret = w_write(e, "/after-error", 0, 5000, 99);
	if (ret == 0)
		ret = w_sync(e);
	if (ret == 0)
		return NULL;
	snprintf(why, sizeof(why), "after the error was returned, a new "
		 "file and a sync fail (%d)", ret);
	return why;
}

/* With the fault cleared: mount, fsck, the model, a new file; and, when
 * check, btrfs check. NULL or why not. */
static const char *remount_check(struct env *e, int check)
{
	struct fs_check_report rep;
	const char *why = NULL;
	struct fs_ino ino;
	int r;

	/* A balance the fault left resumes at the mount and runs beside
	 * the reads (fs/file.c, "Data that moves under a read"). */
	if (fs_mount(fault_dev_blk(e->dev), 0, &e->fs))
		return "the image does not mount after the fault";
	if (fs_is_read_only(e->fs))
		why = "the image mounts read-only after the fault";
	if (!why && fs_check(e->fs, &rep))
		why = "fsck finds errors after the fault";
	if (!why)
		why = judge_paths(e->fs, e->m, 0, 0);
	if (!why && bal_finish(e->fs, 600))
		why = "the balance the fault left does not finish";
	if (!why && (fs_create(e->fs, "/after-ioerr", 0644, &ino) ||
		     fs_sync(e->fs)))
		why = "the image takes no new file after the fault";
	fs_umount(e->fs);
	e->fs = NULL;
	if (why || !check)
		return why;
	r = fault_dev_btrfs_check_data(e->dev);
	if (r != BTRFS_CHECK_CLEAN && r != BTRFS_CHECK_MISSING) {
		test_btrfs_check(__FILE__, __LINE__, r);
		return "btrfs check rejects the image after the fault";
	}
	return NULL;
}

/* Keep the console's line saying the filesystem went read-only. */
static void keep_said(struct tally *t)
{
	const char *out = host_console_output();
	const char *at = strstr(out, "read-only");
	size_t start, end;

	if (t->said[0] || !at)
		return;
	for (start = (size_t)(at - out); start && out[start - 1] != '\n';)
		start--;
	for (end = (size_t)(at - out); out[end] && out[end] != '\n';)
		end++;
	snprintf(t->said, sizeof(t->said), "%.*s", (int)(end - start),
		 out + start);
}

/* Print the console of a failing run (its end), for the finding. */
static void show_console(void)
{
	const char *out = host_console_output(), *p;
	size_t n = strlen(out);

	p = n > 3000 ? strchr(out + n - 3000, '\n') : out;
	for (; p && *p; p = strchr(p, '\n')) {
		p += *p == '\n';
		if (*p)
			printf("#   %.*s\n", (int)strcspn(p, "\n"), p);
	}
}

/* Count how the run ended. */
static void tally_end(struct tally *t, int ret, uint64_t injected,
		      int aborted)
{
	if (!injected)
		t->unreached++;
	else if (aborted)
		t->aborted++;
	else if (ret)
		t->returned++;
	else
		t->survived++;
}

/*
 * Run w from template tmpl with the nth I/O of kind failing (nth 0: no
 * error; then t->io gets the run's reads and writes). NULL or why the
 * oracle rejects the run.
 */
static const char *one_run(const struct workload *w, struct fault_dev *tmpl,
			   unsigned kind, uint64_t nth, int persistent,
			   int check, struct tally *t)
{
	struct env e = { fault_dev_clone(tmpl), NULL, &rmodel };
	uint64_t before, io[3], injected;
	const char *why = NULL;
	int ret, aborted, k;

	if (!e.dev)
		return "out of memory";
	rmodel.n = tmodel.n;
	memcpy(rmodel.e, tmodel.e, (size_t)tmodel.n * sizeof(tmodel.e[0]));
	host_console_capture(1);
	if (!w->mounts) {
		if (fs_mount(fault_dev_blk(e.dev), 0, &e.fs)) {
			why = "the template does not mount";
			goto out;
		}
		ioerr_cold_cache(e.fs);
	}
	before = fault_dev_errors(e.dev);
	for (k = 0; k < 3; k++)
		io[k] = fault_dev_ios(e.dev, 1u << k);
	fault_dev_fail_nth(e.dev, kind, nth, persistent);
	ret = w->run(&e);
	injected = fault_dev_errors(e.dev) - before;
	for (k = 0; k < 3 && !nth; k++)
		t->io[k] = fault_dev_ios(e.dev, 1u << k) - io[k];
	aborted = e.fs && fs_is_read_only(e.fs);
	if (aborted)
		keep_said(t);
	why = judge_end(&e, kind, ret, injected, aborted);
	if (!why && ret && e.fs && !aborted && !persistent)
		why = go_on(&e);
	if (!why && e.fs)
		why = judge_paths(e.fs, e.m, !aborted, 1);
	fs_umount(e.fs);
	e.fs = NULL;
	t->errors += fault_dev_errors(e.dev) - before;
	fault_dev_clear_errors(e.dev);
	if (nth)
		tally_end(t, ret, injected, aborted);
	if (!why)
		why = remount_check(&e, check);
	t->checks += check && !why;
out:
	if (why && t->findings < IOERR_SHOWN)
		show_console();
	host_console_capture(0);
	fault_dev_free(e.dev);
	return why;
}

/* How many error indexes of n are tried: every one (all), else up to
 * IOERR_SAMPLES. */
static uint64_t tries_of(uint64_t n, int all)
{
	return all || n < IOERR_SAMPLES ? n : IOERR_SAMPLES;
}

/* The i-th of the tries indexes spread evenly over 1..n. */
static uint64_t nth_of(uint64_t n, uint64_t tries, uint64_t i)
{
	return tries <= 1 || tries == n ? i + 1 : 1 + i * (n - 1) / (tries - 1);
}

/* A finding: print it (the first few) and keep the first. */
static void found(const struct workload *w, struct tally *t, const char *how,
		  uint64_t nth, const char *why, char *first, size_t size)
{
	if (t->findings++ < IOERR_SHOWN)
		printf("# FINDING %s, %s %llu: %s\n", w->name, how,
		       (unsigned long long)nth, why);
	if (!first[0])
		snprintf(first, size, "%s %llu: %s", how,
			 (unsigned long long)nth, why);
}

/*
 * GHEE_IOERR_AT="KIND N [persistent]" (KIND read, write or flush): run
 * only that error of each workload named, to reproduce a finding. 1 when
 * it was set (the case has run), 0 when not.
 */
static int one_at(const struct workload *w, struct fault_dev *tmpl,
		  struct tally *t)
{
	const char *at = getenv("GHEE_IOERR_AT");
	char kind[8] = "", pers[16] = "";
	unsigned long long nth = 0;
	const char *why;

	if (!at)
		return 0;
	if (sscanf(at, "%7s %llu %15s", kind, &nth, pers) < 2 || !nth ||
	    (strcmp(kind, "read") && strcmp(kind, "write") &&
	     strcmp(kind, "flush"))) {
		test_fail(__FILE__, __LINE__, "GHEE_IOERR_AT: \"%s\"?", at);
	} else {
		why = one_run(w, tmpl, kind[0] == 'r' ? FAULT_IO_READ :
			      kind[0] == 'w' ? FAULT_IO_WRITE : FAULT_IO_FLUSH,
			      nth, pers[0] != 0, 1, t);
		if (why)
			test_fail(__FILE__, __LINE__, "%s, %s %llu: %s",
				  w->name, kind, nth, why);
	}
	fault_dev_free(tmpl);
	return 1;
}

/* Try w with errors at the chosen indexes of each kind, one-shot and
 * persistent; print the counts; fail on any finding. */
static void ioerr_run(const struct workload *w)
{
	static const char *const how[3][2] = {
		{ "one-shot read error at read",
		  "persistent read errors from read" },
		{ "one-shot write error at write",
		  "persistent write errors from write" },
		{ "one-shot flush error at flush",
		  "persistent flush errors from flush" },
	};
	struct fault_dev *tmpl = make_template(w);
	int all = getenv("GHEE_IOERR_ALL") != NULL, k, p;
	uint64_t i, tries[3], every;
	struct tally t = { 0 };
	char first[300] = "";
	const char *why;

	CHECK(tmpl != NULL);
	why = one_run(w, tmpl, FAULT_IO_READ, 0, 0, 1, &t);
	if (why) {
		fault_dev_free(tmpl);
		test_fail(__FILE__, __LINE__, "%s without errors: %s",
			  w->name, why);
		return;
	}
	for (k = 0; k < 3; k++)
		tries[k] = tries_of(t.io[k], all);
	if (one_at(w, tmpl, &t))
		return;
	every = all ? IOERR_CHECK_EVERY :
		      2 * (tries[0] + tries[1] + tries[2]) / IOERR_CHECKS + 1;
	for (k = 0; k < 3; k++)
		for (p = 0; p < 2; p++)
			for (i = 0; i < tries[k]; i++) {
				uint64_t nth = nth_of(t.io[k], tries[k], i);

				why = one_run(w, tmpl, 1u << k, nth, p,
					      ++t.runs % every == 0, &t);
				if (why)
					found(w, &t, how[k][p], nth, why,
					      first, sizeof(first));
			}
	fault_dev_free(tmpl);
	printf("# ioerr %s: %llu reads, %llu writes, %llu flushes; %llu runs, "
	       "%llu errors injected; %llu returned an error, %llu aborted, "
	       "%llu survived, %llu unreached; %llu btrfs checks; %llu "
	       "findings\n", w->name, (unsigned long long)t.io[0],
	       (unsigned long long)t.io[1], (unsigned long long)t.io[2],
	       (unsigned long long)t.runs,
	       (unsigned long long)t.errors, (unsigned long long)t.returned,
	       (unsigned long long)t.aborted, (unsigned long long)t.survived,
	       (unsigned long long)t.unreached, (unsigned long long)t.checks,
	       (unsigned long long)t.findings);
	if (t.said[0])
		printf("# e.g. %s\n", t.said);
	if (first[0])
		test_fail(__FILE__, __LINE__, "%s: %s", w->name, first);
}

TEST(ioerr, namespace) { ioerr_run(&ioerr_namespace); }
TEST(ioerr, data) { ioerr_run(&ioerr_data); }
TEST(ioerr, commit) { ioerr_run(&ioerr_commit); }
TEST(ioerr, snapshot) { ioerr_run(&ioerr_snapshot); }
TEST(ioerr, reflink) { ioerr_run(&ioerr_reflink); }
TEST(ioerr, xattr) { ioerr_run(&ioerr_xattr); }
TEST(ioerr, qgroup) { ioerr_run(&ioerr_qgroup); }
TEST(ioerr, quota_enable) { ioerr_run(&ioerr_quota_enable); }
TEST(ioerr, receive) { ioerr_run(&ioerr_receive); }
TEST(ioerr, send) { ioerr_run(&ioerr_send); }
TEST(ioerr, balance) { ioerr_run(&ioerr_balance); }
TEST(ioerr, dedupe) { ioerr_run(&ioerr_dedupe); }
TEST(ioerr, fsck) { ioerr_run(&ioerr_fsck); }
TEST(ioerr, mount) { ioerr_run(&ioerr_mount); }
TEST(ioerr, mount_single) { ioerr_run(&ioerr_mount_single); }
TEST(ioerr, deep) { ioerr_run(&ioerr_deep); }
TEST(ioerr, concurrent) { ioerr_run(&ioerr_concurrent); }
TEST(ioerr, deep_single) { ioerr_run(&ioerr_deep_single); }

/* Mount with every read of the first copy of chunk map's DUP chunk
 * failing (once, or always), read every path and fsck: all of it from
 * the second copy. NULL or why not. */
static const char *first_copy_fails(struct fault_dev *tmpl,
				    const struct chunk_mapping *map,
				    int persistent)
{
	struct fault_dev *dev = fault_dev_clone(tmpl);
	struct fs_check_report rep;
	const char *why = NULL;
	struct fs_info *fs;

	if (!dev)
		return "out of memory";
	host_console_capture(1);
	fault_dev_fail_range(dev, FAULT_IO_READ, map->physical[0],
			     map->length, persistent);
	if (fs_mount(fault_dev_blk(dev), 0, &fs)) {
		why = "the filesystem does not mount";
		goto out;
	}
	ioerr_cold_cache(fs);
	why = judge_paths(fs, &tmodel, 1, 0);
	if (!why && fs_check(fs, &rep))
		why = "fsck fails";
	fs_umount(fs);
	if (!why && !fault_dev_errors(dev))
		why = "no read of the first copy";
	if (!why && !strstr(host_console_output(), "trying copy 2"))
		why = "the console does not name the bad copy";
out:
	host_console_capture(0);
	fault_dev_free(dev);
	return why;
}

/* A read error on the first copy of DUP metadata (system or metadata
 * chunks), once or on every read, is survived by reading the second. */
TEST(ioerr, dup_metadata)
{
	struct fault_dev *tmpl = make_template(&ioerr_fsck);
	struct chunk_mapping *maps = NULL;
	struct fs_info *fs;
	const char *why;
	u32 n = 0, i, dup = 0;
	int p;

	CHECK(tmpl != NULL);
	if (fs_mount(fault_dev_blk(tmpl), FS_MOUNT_RO, &fs) == 0) {
		volumes_copy_all(fs, &maps, &n);
		fs_umount(fs);
	}
	for (i = 0; i < n; i++) {
		if (maps[i].num_stripes != 2 ||
		    !(maps[i].type & (BTRFS_BLOCK_GROUP_METADATA |
				      BTRFS_BLOCK_GROUP_SYSTEM)))
			continue;
		dup++;
		for (p = 0; p < 2; p++) {
			why = first_copy_fails(tmpl, &maps[i], p);
			if (why) {
				kfree(maps);
				fault_dev_free(tmpl);
				test_fail(__FILE__, __LINE__, "chunk %llu, %s "
					  "errors on copy 1: %s",
					  (unsigned long long)maps[i].logical,
					  p ? "persistent" : "one-shot", why);
				return;
			}
		}
	}
	kfree(maps);
	fault_dev_free(tmpl);
	printf("# %u DUP chunks, each survived a one-shot and a persistent "
	       "read error on its first copy\n", dup);
	CHECK(dup >= 2);
}

/* The calls the tests below fail at each read. */
static int unlink_one(struct fs_info *fs)
{
	return fs_unlink(fs, "/t0/file-with-a-long-name-19");
}

static int create_one(struct fs_info *fs)
{
	struct fs_ino ino;

	return fs_create(fs, "/t1/made-here", 0644, &ino);
}

static int write_one(struct fs_info *fs)
{
	static uint8_t buf[20000];
	struct fs_ino ino;
	int ret = fs_lookup(fs, "/t1/file-with-a-long-name-11", 0, &ino);

	m_fill(buf, 7, 0, sizeof(buf));
	return ret ? ret : fs_write(fs, ino, 1000, buf, sizeof(buf));
}

static int truncate_one(struct fs_info *fs)
{
	struct fs_ino ino;
	int ret = fs_lookup(fs, "/t1/file-with-a-long-name-11", 0, &ino);

	return ret ? ret : fs_truncate(fs, ino, 300);
}

static int link_one(struct fs_info *fs)
{
	return fs_link(fs, "/t1/file-with-a-long-name-5", "/t3/linked");
}

static int rename_over_one(struct fs_info *fs)
{
	return fs_rename(fs, "/t1/file-with-a-long-name-5",
			 "/t2/file-with-a-long-name-6");
}

static int setxattr_one(struct fs_info *fs)
{
	struct fs_ino ino;
	int ret = fs_lookup(fs, "/t3/file-with-a-long-name-2", 0, &ino);

	return ret ? ret : fs_setxattr(fs, ino, "user.t", "value", 5, 0);
}

static int clone_one(struct fs_info *fs)
{
	struct fs_ino s, d;
	int ret = fs_lookup(fs, "/t0/file-with-a-long-name-11", 0, &s);

	if (ret == 0)
		ret = fs_lookup(fs, "/t2/file-with-a-long-name-3", 0, &d);
	return ret ? ret : fs_clone_range(fs, s, 0, 0, d, 0);
}

static int mkdir_one(struct fs_info *fs)
{
	return fs_mkdir(fs, "/t0/newdir", 0755);
}

static int punch_one(struct fs_info *fs)
{
	struct fs_ino ino;
	int ret = fs_lookup(fs, "/t2/file-with-a-long-name-11", 0, &ino);

	return ret ? ret : fs_punch_hole(fs, ino, 0, 4096);
}

static int snapshot_one(struct fs_info *fs)
{
	return fs_subvol_snapshot(fs, "/", "/snap", 0);
}

/* A directory moved below itself: refused (-EINVAL) or -EIO, never
 * done. 0 when refused. */
static int rename_into_itself(struct fs_info *fs)
{
	int ret = fs_mkdir(fs, "/t2/sub", 0755);

	if (ret == 0)	/* its blocks out of the cache: searches read */
		ret = fs_sync(fs);
	if (ret == 0)
		ret = fs_rename(fs, "/t2", "/t2/sub/t2");
	return ret == -EINVAL ? 0 : ret == 0 ? -EBADMSG : ret;
}

/* op on a copy of tmpl with its nth read failing once (nth 0: none);
 * after an error returned, a new file and a sync; then remount and
 * fsck. NULL or why not; *reads gets op's reads. */
static const char *op_with_error(struct fault_dev *tmpl,
				 int (*op)(struct fs_info *fs), uint64_t nth,
				 uint64_t *reads)
{
	struct fault_dev *dev = fault_dev_clone(tmpl);
	struct fs_check_report rep;
	const char *why = NULL;
	struct fs_info *fs;
	struct fs_ino ino;
	uint64_t before;
	int ret;

	if (!dev || fs_mount(fault_dev_blk(dev), 0, &fs)) {
		fault_dev_free(dev);
		return "the template does not mount";
	}
	host_console_capture(1);
	ioerr_cold_cache(fs);
	before = fault_dev_ios(dev, FAULT_IO_READ);
	fault_dev_fail_nth(dev, FAULT_IO_READ, nth, 0);
	ret = op(fs);
	*reads = fault_dev_ios(dev, FAULT_IO_READ) - before;
	if (ret && ret != -EIO && ret != -EROFS)
		why = "the call returned neither 0 nor -EIO";
	if (!why && ret == -EIO && !fs_is_read_only(fs) &&
	    (fs_create(fs, "/after-error", 0644, &ino) || fs_sync(fs)))
		why = "after the error, a new file and a sync fail";
	fs_umount(fs);
	fault_dev_clear_errors(dev);
	if (!why && fs_mount(fault_dev_blk(dev), 0, &fs))
		why = "the image does not mount after the error";
	else if (!why) {
		if (fs_check(fs, &rep))
			why = "fsck finds errors after the error";
		fs_umount(fs);
	}
	host_console_capture(0);
	fault_dev_free(dev);
	return why;
}

/* Fail each read of op once, on the deep workload's SINGLE metadata
 * (no second copy), as op_with_error judges. */
static void every_read_of(int (*op)(struct fs_info *fs), const char *name)
{
	struct fault_dev *tmpl = make_template(&ioerr_deep_single);
	uint64_t reads = 0, nth, r;
	const char *why;

	CHECK(tmpl != NULL);
	why = op_with_error(tmpl, op, 0, &reads);
	for (nth = 1; !why && nth <= reads; nth++)
		why = op_with_error(tmpl, op, nth, &r);
	fault_dev_free(tmpl);
	printf("# %s: %llu reads, each failed once\n", name,
	       (unsigned long long)reads);
	if (why)
		test_fail(__FILE__, __LINE__, "%s, read %llu of %llu: %s",
			  name, (unsigned long long)nth - 1,
			  (unsigned long long)reads, why);
	CHECK(reads > 2);
}

/*
 * A read error while an unlink evicts the inode (its extents dropped, its
 * item not yet): the change must not be committed half done (it was,
 * leaving an inode with nlink 1 and no name, until nlink_add aborted on
 * failure).
 */
TEST(ioerr, unlink_every_read)
{
	every_read_of(unlink_one, "unlink");
}

/*
 * A read error while the first create after mount looks for the highest
 * inode number: later creates must still work (they failed with -EEXIST:
 * the failed search had left the next number at the first free one).
 */
TEST(ioerr, create_every_read)
{
	every_read_of(create_one, "create");
}

/* A read error while rename looks whether the target is below the
 * directory moved must fail the rename, not let it make a loop. */
TEST(ioerr, rename_every_read)
{
	every_read_of(rename_into_itself, "rename into itself");
}

/* The same for other calls: a write, truncate, link, rename over a file,
 * xattr, clone, snapshot, mkdir and hole punch, each read failing once
 * in turn. */
TEST(ioerr, calls_every_read)
{
	static const struct {
		int (*op)(struct fs_info *fs);
		const char *name;
	} calls[] = {
		{ write_one, "write" }, { truncate_one, "truncate" },
		{ link_one, "link" }, { rename_over_one, "rename over" },
		{ setxattr_one, "setxattr" }, { clone_one, "clone" },
		{ snapshot_one, "snapshot" }, { mkdir_one, "mkdir" },
		{ punch_one, "punch hole" },
	};
	size_t i;

	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++)
		every_read_of(calls[i].op, calls[i].name);
}
