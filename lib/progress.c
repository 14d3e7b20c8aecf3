/*
 * The progress record's writer and its copy (include/ghee/progress.h),
 * shared by the kernel and the host shim: each gives progress_self(), the
 * calling task's record, and progress_get(), which finds a task's record
 * under its own task-list lock and copies it with progress_copy().
 *
 * Only the owning task writes its record, with relaxed atomic stores; the
 * phase pointer is stored last with release order, so a reader that sees
 * a phase sees the unit and start time set with it.
 */
#include <errno.h>
#include <stddef.h>

#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#define STORE(field, v) __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define LOAD(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

void progress_phase(const char *phase, uint64_t total, const char *unit)
{
	struct progress *p = progress_self();

	STORE(p->done, 0);
	STORE(p->total, total);
	STORE(p->unit, unit);
	STORE(p->start_ns, time_ns());
	__atomic_store_n(&p->phase, phase, __ATOMIC_RELEASE);
}

void progress_total(uint64_t total)
{
	STORE(progress_self()->total, total);
}

int progress_add(uint64_t n)
{
	__atomic_fetch_add(&progress_self()->done, n, __ATOMIC_RELAXED);
	return task_should_stop() ? -ECANCELED : 0;
}

void progress_end(void)
{
	__atomic_store_n(&progress_self()->phase, NULL, __ATOMIC_RELEASE);
}

void progress_copy(const struct progress *p, struct progress *out)
{
	out->phase = __atomic_load_n(&p->phase, __ATOMIC_ACQUIRE);
	out->unit = LOAD(p->unit);
	out->done = LOAD(p->done);
	out->total = LOAD(p->total);
	out->start_ns = LOAD(p->start_ns);
}
