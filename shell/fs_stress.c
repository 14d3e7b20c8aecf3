/*
 * A concurrent filesystem workload (see fs_stress.h): tasks of three kinds
 * work at once under one directory DIR, each checking every result it
 * gets, while a sync task commits every few milliseconds.
 *
 *   DIR/wN/f0..f2   writer N's files. Only writer N changes them: random
 *                   writes, overwrites, appends, truncates, unlink +
 *                   create, clones of a range of its other files and
 *                   xattrs; it keeps the expected bytes and xattr of each
 *                   file and reads the file back every few operations.
 *                   Each write carries the pattern (cmd_fs_pattern_fill)
 *                   of one of WRITER_SEEDS seeds of that file, so anyone
 *                   can tell a byte that was never written to the
 *                   writer's files (fs_stress_data.c).
 *   DIR/nN/         namer N's own directory: only namer N changes it, and
 *                   it knows exactly which names it holds.
 *   DIR/shared/     every namer creates, links, renames and removes here,
 *                   and in directories here, racing the others; a change
 *                   another task undid first (-ENOENT, -ENOTEMPTY) counts
 *                   as raced, any other error is a failure. Names say the
 *                   kind of inode (f file, l symlink, d directory) and
 *                   files and link targets describe themselves, so every
 *                   name can be checked wherever it moved (fs_stress_ns.c).
 *   readers         walk DIR over and over: readdir, stat and read or
 *                   readlink each name. An entry may vanish between
 *                   readdir and stat, but only if its name is gone too: a
 *                   name that still leads to an inode stat could not find
 *                   is a half-done change seen from outside.
 *   sync task       commits every SYNC_MS, snapshots the top level as
 *                   DIR.snapN every SNAP_EVERY commits and deletes the
 *                   snapshot before.
 *   sharer          dedupe scans of the writers' files, live and in the
 *                   newest snapshot, and defrags of them
 *                   (fs_stress_share.c).
 *
 * After the tasks end, every writer file is compared whole, each namer's
 * directory against its list, and one more walk requires every name to
 * hold; then a sync and fs_check. fs_stress_verify() repeats the checks,
 * e.g. after a remount.
 *
 * Concurrency: the tasks share nothing but the filesystem and a few
 * atomic words: `failed` (set by the first failure; then all stop), each
 * namer's `pinned`, `snaps` (the sync task's count of snapshots, which
 * tells the sharer the newest) and `scans_done` (the sharer's, which the
 * writers wait for halfway). Each task's counters and state are its own
 * until the coordinator joins it.
 */
#include <ghee/errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "cmd_fs.h"
#include "fs_stress_int.h"

#define SYNC_MS 20	/* pause between the sync task's commits */
#define SNAP_EVERY 16	/* the sync task snapshots the top level after
			 * every SNAP_EVERY commits */
#define WATCH_NS (200 * 1000000ull)	/* progress refresh */

static const char *const count_names[FS_STRESS_NR_COUNTS] = {
	[FS_STRESS_WRITE] = "write",	[FS_STRESS_OVERWRITE] = "overwrite",
	[FS_STRESS_APPEND] = "append",	[FS_STRESS_TRUNCATE] = "truncate",
	[FS_STRESS_RECREATE] = "recreate", [FS_STRESS_CLONE] = "clone",
	[FS_STRESS_XATTR] = "xattr",	[FS_STRESS_VERIFY] = "verify",
	[FS_STRESS_CREATE] = "create",	[FS_STRESS_SYMLINK] = "symlink",
	[FS_STRESS_MKDIR] = "mkdir",	[FS_STRESS_LINK] = "link",
	[FS_STRESS_RENAME] = "rename",	[FS_STRESS_UNLINK] = "unlink",
	[FS_STRESS_RMDIR] = "rmdir",	[FS_STRESS_RACED] = "raced",
	[FS_STRESS_READDIR] = "readdir", [FS_STRESS_STAT] = "stat",
	[FS_STRESS_READ] = "read",	[FS_STRESS_VANISHED] = "vanished",
	[FS_STRESS_SYNC] = "sync",	[FS_STRESS_SNAPSHOT] = "snapshot",
	[FS_STRESS_SUBVOL_DELETE] = "subvol-delete",
	[FS_STRESS_DEDUPE_SCAN] = "dedupe-scan",
	[FS_STRESS_DEDUPED] = "deduped-bytes", [FS_STRESS_DEFRAG] = "defrag",
};

static const char role_letter[] = { 'w', 'n', 'r', 's', 'd', 'c' };

/* A random number below n (n > 0). */
uint64_t stress_rand(struct stress_task *t, uint64_t n)
{
	return cmd_fs_rand(&t->rng) % n;
}

/* Parse a decimal number of 1..19 digits at *p and step past it. 0, or
 * -EINVAL when there is none. */
int stress_parse_num(const char **p, uint64_t *out)
{
	const char *s = *p;

	for (*out = 0; *s >= '0' && *s <= '9' && s - *p < 19; s++)
		*out = *out * 10 + (uint64_t)(*s - '0');
	if (s == *p || (*s >= '0' && *s <= '9'))
		return -EINVAL;
	*p = s;
	return 0;
}

/* Nonzero when t should stop: a check failed somewhere, the run was
 * cancelled, or t was killed. */
int stress_stopping(struct stress_task *t)
{
	return __atomic_load_n(&t->s->failed, __ATOMIC_RELAXED) ||
	       __atomic_load_n(&t->s->cancelled, __ATOMIC_RELAXED) ||
	       task_should_stop();
}

void stress_op_done(struct stress_task *t)
{
	__atomic_fetch_add(&t->s->ops_done, 1, __ATOMIC_RELAXED);
}

/*
 * Wait for the writers and namers, reporting their operations as the
 * run's progress. When the run is cancelled (kill or Ctrl-C of the task
 * running fsstress), tell every task to stop after its operation.
 */
static void watch_progress(struct fs_stress *s)
{
	uint64_t seen = 0, now;
	unsigned i, busy = 0;

	for (i = 0; i < s->o.tasks; i++)
		busy += s->t[i].role == ROLE_WRITER ||
			s->t[i].role == ROLE_NAMER;
	progress_phase("fsstress: workload", (uint64_t)busy * s->o.ops,
		       "ops");
	for (i = 0; i < s->o.tasks; i++) {
		if (s->t[i].role != ROLE_WRITER && s->t[i].role != ROLE_NAMER)
			continue;
		while (task_wait_end(s->t[i].task, WATCH_NS) == -ETIMEDOUT) {
			now = __atomic_load_n(&s->ops_done, __ATOMIC_RELAXED);
			if (progress_add(now - seen))
				__atomic_store_n(&s->cancelled, 1,
						 __ATOMIC_RELAXED);
			seen = now;
		}
	}
	now = __atomic_load_n(&s->ops_done, __ATOMIC_RELAXED);
	if (progress_add(now - seen))
		__atomic_store_n(&s->cancelled, 1, __ATOMIC_RELAXED);
}

/* Report a failed check of t and make every task stop. Returns -EIO. */
int stress_fail(struct stress_task *t, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	con_eprintf("fsstress: %c%u: FAILED: %s\n", role_letter[t->role],
		    t->nth, msg);
	t->failures++;
	__atomic_store_n(&t->s->failed, 1, __ATOMIC_RELAXED);
	return -EIO;
}

/* Format a path into buf (STRESS_PATH_MAX bytes) and return buf. */
const char *stress_path(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, STRESS_PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

/*
 * Judge error err from using inode ino, found under path a moment ago:
 * fine (counted as vanished, 0) when it is -ENOENT and path no longer
 * leads to ino, which means the inode was removed meanwhile. Inode
 * numbers are not reused within a mount, so a path that still leads to
 * ino means an inode missing behind a live name: a failure, as is any
 * other error, or any at all once the tasks have ended (s->settled).
 */
int stress_vanished(struct stress_task *t, const char *path,
		    struct fs_ino ino, int err)
{
	struct fs_ino now;
	int ret;

	if (err != -ENOENT || t->s->settled)
		return stress_fail(t, "%s (inode %llu): %s (errno %d)", path,
				   (unsigned long long)ino.ino,
				   cmd_fs_err_text(err), -err);
	ret = fs_lookup(t->s->fs, path, 0, &now);
	if (ret == -ENOENT || (ret == 0 && now.ino != ino.ino)) {
		t->count[FS_STRESS_VANISHED]++;
		return 0;
	}
	if (ret)
		return stress_fail(t, "%s: lookup: %s (errno %d)", path,
				   cmd_fs_err_text(ret), -ret);
	return stress_fail(t, "%s names inode %llu, but the inode is not "
			   "there (a half-done change?)", path,
			   (unsigned long long)ino.ino);
}

/* Commit every SYNC_MS until stopped. */
/*
 * Snapshot the top level as DIR.snapN (every other one read-only) while
 * the others work, and delete the one before, so a snapshot is made at a
 * commit and a dead tree dropped by the cleaner under the load; the last
 * one goes when the run stops (n: the count so far, 0 for that).
 */
static int snapshot_step(struct stress_task *t, uint64_t n, int last)
{
	struct fs_info *fs = t->s->fs;
	int ret = 0;

	if (!last) {
		stress_path(t->path, "%s.snap%llu", t->s->dir,
			    (unsigned long long)n);
		ret = fs_subvol_snapshot(fs, "/", t->path,
					 n % 2 ? FS_SNAP_RDONLY : 0);
		if (ret)
			return stress_fail(t, "snapshot %s: %s (errno %d)",
					   t->path, cmd_fs_err_text(ret), -ret);
		t->count[FS_STRESS_SNAPSHOT]++;
	}
	if (n == 0 && !last)
		return 0;
	stress_path(t->path2, "%s.snap%llu", t->s->dir,
		    (unsigned long long)(last ? n : n - 1));
	ret = fs_subvol_delete(fs, t->path2, 0);
	if (ret)
		return stress_fail(t, "subvolume delete %s: %s (errno %d)",
				   t->path2, cmd_fs_err_text(ret), -ret);
	t->count[FS_STRESS_SUBVOL_DELETE]++;
	return 0;
}

static int sync_run(void *arg)
{
	struct stress_task *t = arg;
	uint64_t snaps = 0;
	int ret;

	while (!stress_stopping(t) && msleep(SYNC_MS) == 0) {
		ret = fs_sync(t->s->fs);
		if (ret)
			return stress_fail(t, "sync: %s (errno %d)",
					   cmd_fs_err_text(ret), -ret);
		t->count[FS_STRESS_SYNC]++;
		if (t->count[FS_STRESS_SYNC] % SNAP_EVERY == 0) {
			ret = snapshot_step(t, snaps++, 0);
			if (ret)
				return ret;
			__atomic_store_n(&t->s->snaps, snaps,
					 __ATOMIC_RELAXED);
		}
	}
	return snaps ? snapshot_step(t, snaps - 1, 1) : 0;
}

/* The number of tasks of role r among n workers (roles take turns). */
static unsigned role_tasks(unsigned n, enum stress_role r)
{
	return (n + 2 - r) / 3;
}

static void task_free_bufs(struct stress_task *t)
{
	writer_free(t);
	namer_free(t);
	kfree(t->path);
	kfree(t->path2);
	kfree(t->buf);
}

int fs_stress_new(const struct fs_stress_opts *o, struct fs_stress **out)
{
	struct fs_stress *s;
	unsigned i, n = STRESS_ALL_TASKS(o->tasks);
	int ret = 0;

	if (o->tasks < 1 || o->tasks > FS_STRESS_TASKS_MAX) {
		con_eprintf("fsstress: TASKS is 1..%d\n", FS_STRESS_TASKS_MAX);
		return -EINVAL;
	}
	if (o->dir[0] != '/' || strlen(o->dir) > FS_STRESS_DIR_MAX ||
	    !strcmp(o->dir, "/")) {
		con_eprintf("fsstress: DIR must be an absolute path below / of "
			    "at most %d bytes\n", FS_STRESS_DIR_MAX);
		return -EINVAL;
	}
	s = kzalloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	strcpy(s->dir, o->dir);
	s->o.dir = s->dir;
	s->t = kzalloc(n * sizeof(*s->t));
	if (!s->t) {
		kfree(s);
		return -ENOMEM;
	}
	for (i = 0; i < n && ret == 0; i++) {
		struct stress_task *t = &s->t[i];

		t->s = s;
		t->role = i < o->tasks ? (enum stress_role)(i % 3) :
			  (enum stress_role)(ROLE_SYNC + i - o->tasks);
		t->nth = i < o->tasks ? i / 3 : 0;
		t->rng = (((o->seed + 1) * 0x9E3779B97F4A7C15ull) ^
			  ((i + 1) * 0xBF58476D1CE4E5B9ull)) | 1;
		t->path = kmalloc(STRESS_PATH_MAX);
		t->path2 = kmalloc(STRESS_PATH_MAX);
		t->buf = kmalloc(WRITER_FILE_MAX + 1);
		ret = t->path && t->path2 && t->buf ? 0 : -ENOMEM;
		if (ret == 0 && t->role == ROLE_WRITER)
			ret = writer_init(t);
		if (ret == 0 && t->role == ROLE_NAMER)
			ret = namer_init(t);
	}
	if (ret) {
		fs_stress_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void fs_stress_free(struct fs_stress *s)
{
	unsigned i;

	if (!s)
		return;
	for (i = 0; i < STRESS_ALL_TASKS(s->o.tasks); i++)
		task_free_bufs(&s->t[i]);
	kfree(s->t);
	kfree(s);
}

/* Number of writers and namers of the run (readers check names by it). */
unsigned stress_writers(const struct fs_stress *s)
{
	return role_tasks(s->o.tasks, ROLE_WRITER);
}

unsigned stress_namers(const struct fs_stress *s)
{
	return role_tasks(s->o.tasks, ROLE_NAMER);
}

static int (*const role_fn[])(void *) = {
	[ROLE_WRITER] = writer_run, [ROLE_NAMER] = namer_run,
	[ROLE_READER] = reader_run, [ROLE_SYNC] = sync_run,
	[ROLE_SHARE] = share_run,
};

/* Start the workers, the sync task and the sharer; on failure stop and
 * join those started. 0 or -ENOMEM. */
static int start_tasks(struct fs_stress *s)
{
	unsigned i;
	char name[TASK_NAME_MAX];

	for (i = 0; i < STRESS_ALL_TASKS(s->o.tasks) - 1; i++) {
		struct stress_task *t = &s->t[i];

		snprintf(name, sizeof(name), "fss-%c%u", role_letter[t->role],
			 t->nth);
		t->task = task_create(name, role_fn[t->role], t,
				      TASK_PRIO_NORMAL);
		if (t->task)
			continue;
		con_eprintf("fsstress: cannot start task %s\n", name);
		__atomic_store_n(&s->failed, 1, __ATOMIC_RELAXED);
		while (i--)
			task_join(s->t[i].task);
		return -ENOMEM;
	}
	return 0;
}

/* Join the writers and namers, then stop and join the readers, the sync
 * task and the sharer. Returns the first task error (a failure is also
 * counted). */
static int join_tasks(struct fs_stress *s)
{
	unsigned i, pass;
	int ret = 0, r;

	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < STRESS_ALL_TASKS(s->o.tasks) - 1; i++) {
			struct stress_task *t = &s->t[i];
			int busy = t->role == ROLE_WRITER ||
				   t->role == ROLE_NAMER;

			if (busy != (pass == 0))
				continue;
			if (pass == 1)
				task_stop(task_id(t->task));
			r = task_join(t->task);
			t->task = NULL;
			ret = ret ? ret : r;
		}
	}
	return ret;
}

/* The coordinator's task record, for the checks after the run. */
static struct stress_task *check_task(struct fs_stress *s)
{
	return &s->t[STRESS_ALL_TASKS(s->o.tasks) - 1];
}

/* Checks after the tasks: writers' files, namers' directories, a walk in
 * which every name must hold. 0 or the first failure. */
static int verify(struct fs_stress *s)
{
	unsigned i;
	int ret = 0;

	for (i = 0; i < s->o.tasks && ret == 0; i++) {
		if (s->t[i].role == ROLE_WRITER)
			ret = writer_verify_all(&s->t[i]);
		else if (s->t[i].role == ROLE_NAMER)
			ret = namer_verify_own(&s->t[i]);
	}
	return ret ? ret : reader_walk(check_task(s));
}

int fs_stress_verify(struct fs_stress *s, struct fs_info *fs)
{
	s->fs = fs;
	s->failed = 0;
	s->settled = 1;
	return verify(s);
}

/* Make DIR and DIR/shared. */
static int make_dirs(struct fs_stress *s)
{
	char *p = s->t[0].path;
	int ret = fs_mkdir(s->fs, s->dir, 0755);

	if (ret == 0) {
		snprintf(p, STRESS_PATH_MAX, "%s/shared", s->dir);
		ret = fs_mkdir(s->fs, p, 0755);
	}
	if (ret)
		con_eprintf("fsstress: mkdir %s: %s (errno %d)%s\n",
			    ret == -EEXIST ? s->dir : p, cmd_fs_err_text(ret),
			    -ret, ret == -EEXIST ? "; remove it or pick -d" :
			    "");
	return ret;
}

int fs_stress_run(struct fs_stress *s, struct fs_info *fs,
		  struct fs_stress_report *rep)
{
	uint64_t t0 = time_ns(), t1;
	unsigned i, c;
	int ret;

	memset(rep, 0, sizeof(*rep));
	s->fs = fs;
	s->failed = 0;
	s->cancelled = 0;
	s->ops_done = 0;
	s->snaps = 0;
	s->scans_done = 0;
	s->settled = 0;
	ret = make_dirs(s);
	if (ret == 0)
		ret = start_tasks(s);
	if (ret)
		return ret;
	watch_progress(s);
	ret = join_tasks(s);
	t1 = time_ns();
	s->settled = 1;
	if (__atomic_load_n(&s->cancelled, __ATOMIC_RELAXED)) {
		/* what was done stays, committed; the checks need it all */
		ret = fs_sync(fs);
		con_eprintf("fsstress: cancelled after %llu operations; %s\n",
			    (unsigned long long)s->ops_done,
			    ret ? "the sync failed" : "synced, not verified");
		return ret ? ret : -ECANCELED;
	}
	if (ret == 0)
		ret = verify(s);
	if (ret == 0) {
		/* The dropped snapshots first: fsck reads the running
		 * trees, which the cleaner changes. */
		ret = fs_subvol_sync(fs);
		if (ret == 0)
			ret = fs_sync(fs);
		if (ret)
			ret = stress_fail(check_task(s), "sync: %s "
					  "(errno %d)", cmd_fs_err_text(ret),
					  -ret);
	}
	if (ret == 0) {
		ret = fs_check(fs, &rep->check);
		if (ret)
			ret = stress_fail(check_task(s), "fsck: %s "
					  "(errno %d)", cmd_fs_err_text(ret),
					  -ret);
	}
	rep->ns = t1 - t0;
	rep->verify_ns = time_ns() - t1;
	for (i = 0; i < STRESS_ALL_TASKS(s->o.tasks); i++) {
		for (c = 0; c < FS_STRESS_NR_COUNTS; c++)
			rep->count[c] += s->t[i].count[c];
		rep->failures += s->t[i].failures;
	}
	return rep->failures ? -EIO : ret;
}

void fs_stress_print(const struct fs_stress_report *rep, const char *prefix)
{
	unsigned c;

	for (c = 0; c < FS_STRESS_NR_COUNTS; c++) {
		if (c % 7 == 0)
			con_printf("%s%s", c ? "\n" : "", prefix);
		else
			con_printf(", ");
		con_printf("%s %llu", count_names[c],
			   (unsigned long long)rep->count[c]);
	}
	con_printf("\n%sworkload %llu.%03llu s, checks %llu.%03llu s; fsck "
		   "generation %llu: %llu inodes, %llu directory entries, "
		   "%llu errors\n%s%llu failures\n", prefix,
		   (unsigned long long)(rep->ns / 1000000000),
		   (unsigned long long)(rep->ns / 1000000 % 1000),
		   (unsigned long long)(rep->verify_ns / 1000000000),
		   (unsigned long long)(rep->verify_ns / 1000000 % 1000),
		   (unsigned long long)rep->check.generation,
		   (unsigned long long)rep->check.inodes,
		   (unsigned long long)rep->check.dir_entries,
		   (unsigned long long)rep->check.errors, prefix,
		   (unsigned long long)rep->failures);
}
