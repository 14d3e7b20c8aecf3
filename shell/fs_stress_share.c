/*
 * The stress workload's sharer task (see fs_stress.c): while the writers
 * change their files and the sync task snapshots the top level, it runs
 * in turn
 *   - a dedupe scan of every writer's files, in the live tree and in the
 *     newest snapshot, so that ranges a writer wrote again with bytes the
 *     snapshot still holds, and blocks equal across files, get shared
 *     under the writers' feet;
 *   - a defrag of one writer file, chosen at random, whose extents the
 *     snapshots share: every snapshot's reference is moved with it.
 * Neither may change a byte any task reads: the writers' and readers'
 * own checks, and the verification after the run, see every change.
 *
 * A file is the writers' to unlink and make anew, and a snapshot the sync
 * task's to delete, at any time: a lookup that finds nothing skips the
 * file, and -ENOENT from the scan or the defrag (a file or subvolume gone
 * meanwhile) counts as vanished; -ECANCELED once the run stops is the
 * stop reaching a scan or a defrag in progress. Every other error is a
 * failure.
 *
 * Every writer waits at its halfway point until the sharer has finished
 * a dedupe scan (share_await_scan), so that each run, however its tasks
 * are scheduled, scans (and defragments) beside writers.
 */
#include <stdbool.h>

#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/task.h>

#include "cmd_fs.h"
#include "fs_stress_int.h"

#define SHARE_MS 100		/* pause between the sharer's rounds */
#define SHARE_MIN 4096		/* shortest range the scan shares */

/* The files the scan looks at: each writer's f0..f2, live and in the
 * newest snapshot (when there is one), those that exist now. */
static int gather(struct stress_task *t, struct fs_ino *v, uint32_t *n)
{
	struct fs_stress *s = t->s;
	uint64_t snaps = __atomic_load_n(&s->snaps, __ATOMIC_RELAXED);
	unsigned w, f, pass;
	int ret;

	*n = 0;
	for (pass = 0; pass < (snaps ? 2u : 1u); pass++) {
		/* t->path2: where the writers' directories are */
		if (pass == 0)
			stress_path(t->path2, "%s", s->dir);
		else
			stress_path(t->path2, "%s.snap%llu%s", s->dir,
				    (unsigned long long)(snaps - 1), s->dir);
		for (w = 0; w < stress_writers(s); w++) {
			for (f = 0; f < WRITER_FILES; f++) {
				ret = fs_lookup(s->fs, stress_path(t->path,
						"%s/w%u/f%u", t->path2, w, f),
						0, &v[*n]);
				if (ret && ret != -ENOENT)
					return stress_fail(t, "%s: lookup: %s "
							   "(errno %d)", t->path,
							   cmd_fs_err_text(ret),
							   -ret);
				*n += ret == 0;
			}
		}
	}
	return 0;
}

/* Whether a dedupe scan or a defrag ended in one of the two ways that are
 * no failure: its file or snapshot gone meanwhile (counted as vanished),
 * or the stop cancelling it. */
static bool share_skipped(struct stress_task *t, int ret)
{
	if (ret == -ENOENT) {
		t->count[FS_STRESS_VANISHED]++;
		return true;
	}
	return ret == -ECANCELED && stress_stopping(t);
}

/* One dedupe scan; 0 or a failure. */
static int share_dedupe(struct stress_task *t, struct fs_ino *v)
{
	struct fs_dedupe_scan_report rep;
	uint32_t n;
	int ret = gather(t, v, &n);

	if (ret || n < 2)
		return ret;
	ret = fs_dedupe_scan(t->s->fs, v, n, SHARE_MIN, &rep);
	if (share_skipped(t, ret))
		return 0;
	if (ret)
		return stress_fail(t, "dedupe scan of %u files: %s (errno %d)",
				   n, cmd_fs_err_text(ret), -ret);
	t->count[FS_STRESS_DEDUPE_SCAN]++;
	t->count[FS_STRESS_DEDUPED] += rep.deduped;
	return 0;
}

/* Defragment one writer file; 0 or a failure. */
static int share_defrag(struct stress_task *t)
{
	struct fs_stress *s = t->s;
	struct fs_defrag_opts o = { 0, 0, 0 };
	struct fs_defrag_report rep;
	struct fs_ino ino;
	int ret;

	stress_path(t->path, "%s/w%u/f%u", s->dir,
		    (unsigned)stress_rand(t, stress_writers(s)),
		    (unsigned)stress_rand(t, WRITER_FILES));
	ret = fs_lookup(s->fs, t->path, 0, &ino);
	if (ret == 0)
		ret = fs_defrag(s->fs, ino, &o, &rep);
	if (share_skipped(t, ret))
		return 0;
	if (ret)
		return stress_fail(t, "defrag %s: %s (errno %d)", t->path,
				   cmd_fs_err_text(ret), -ret);
	t->count[FS_STRESS_DEFRAG]++;
	return 0;
}

int share_run(void *arg)
{
	struct stress_task *t = arg;
	struct fs_ino *v = kmalloc(2 * WRITER_FILES * stress_writers(t->s) *
				   sizeof(*v));
	int ret = 0;

	if (!v)
		return stress_fail(t, "out of memory");
	do {
		ret = share_dedupe(t, v);
		__atomic_store_n(&t->s->scans_done,
				 t->count[FS_STRESS_DEDUPE_SCAN],
				 __ATOMIC_RELAXED);
		if (ret == 0)
			ret = share_defrag(t);
	} while (ret == 0 && !stress_stopping(t) && msleep(SHARE_MS) == 0);
	kfree(v);
	return ret;
}

void share_await_scan(struct stress_task *t)
{
	while (!__atomic_load_n(&t->s->scans_done, __ATOMIC_RELAXED) &&
	       !stress_stopping(t) && msleep(1) == 0)
		;
}
