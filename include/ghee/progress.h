/*
 * Progress of long operations: fsck, the subvolume cleaner, send,
 * receive, balance, scrub, defrag, dedupe scan, quota rescan, fsstress.
 * Every one reports through this API, so the shell shows them all the
 * same way: `jobs` and `ps` list each task's phase, count and rate, and a
 * long foreground command on a terminal draws a progress bar.
 *
 * The record belongs to the calling task (kernel/sched/progress.c; the
 * host shim keeps it in its pthread task, tests/host/shim/task.c); the
 * writer and the copy are lib/progress.c, shared by both. Only
 * the task writes it; readers copy it without a lock, field by field, so
 * a copy may mix two updates: good enough for a display, never used for
 * decisions.
 *
 * How an operation uses it:
 *
 *	progress_phase("walking trees", ntrees, "trees");
 *	for (each tree) {
 *		...work...
 *		ret = progress_add(1);
 *		if (ret)		// -ECANCELED: kill or Ctrl-C
 *			break;		// stop here, consistent; say how far
 *	}
 *
 * progress_add() is also the cancellation point: it returns -ECANCELED
 * once the task was asked to stop (task_stop(): the shell's `kill ID`,
 * or Ctrl-C for the foreground command). The operation then stops where
 * it is safe (between items, after a commit), leaves the filesystem
 * consistent and reports what it finished.
 */
#ifndef GHEE_PROGRESS_H
#define GHEE_PROGRESS_H

#include <stdint.h>

struct progress {
	const char *phase;	/* what it does now; NULL: nothing reported */
	const char *unit;	/* what done and total count ("bytes", ...) */
	uint64_t done;		/* units done in this phase */
	uint64_t total;		/* units the phase has; 0: unknown */
	uint64_t start_ns;	/* time_ns() when the phase began */
};

/* Begin a phase of the calling task's operation: done starts at 0.
 * phase and unit must stay valid while the task runs (string literals). */
void progress_phase(const char *phase, uint64_t total, const char *unit);
/* Set the phase's total once it is known. */
void progress_total(uint64_t total);
/* Count n more units done. 0, or -ECANCELED when the task was asked to
 * stop: the caller stops at this safe point. */
int progress_add(uint64_t n);
/* The calling task's operation ended: it reports nothing any more. */
void progress_end(void);
/* Copy task id's progress into *out (phase NULL when it reports none).
 * 0, or -ESRCH when there is no such task. */
int progress_get(int id, struct progress *out);

/* For the two task implementations: the calling task's record, and one
 * record copied field by field (the caller keeps p's task alive). */
struct progress *progress_self(void);
void progress_copy(const struct progress *p, struct progress *out);

#endif
