/*
 * Lock tests: rwsem writer fairness, rwsem_is_contended, downgrade, the
 * handoff to a long waiter of an rwsem and a mutex, and
 * torture of spinlock, mutex and rwsem with several tasks whose counters
 * catch a lost update (the critical sections are long enough that time
 * slices end inside them, so the sleeping locks really sleep).
 */
#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../arch/x86_64/cpu.h"
#include "ktest.h"

static struct rwsem sem;
static struct spinlock log_lock = SPINLOCK_INIT("test_log");
static char order[16];		/* [log_lock] who got in, in order */
static int norder;		/* [log_lock] */

static void log_event(char who)
{
	unsigned long flags = spin_lock_irqsave(&log_lock);

	if (norder < (int)sizeof(order) - 1)
		order[norder++] = who;
	order[norder] = 0;
	spin_unlock_irqrestore(&log_lock, flags);
}

static void log_reset(void)
{
	norder = 0;
	order[0] = 0;
}

static int writer_fn(void *arg)
{
	(void)arg;
	down_write(&sem);
	log_event('W');
	msleep(5);
	log_event('w');
	up_write(&sem);
	return 0;
}

static int reader_fn(void *arg)
{
	(void)arg;
	down_read(&sem);
	log_event('R');
	up_read(&sem);
	return 0;
}

/* Poll (up to a second) until cond holds. */
#define WAIT_UNTIL(cond)                                                   \
	do {                                                               \
		int n_;                                                    \
		for (n_ = 0; n_ < 1000 && !(cond); n_++)                   \
			msleep(1);                                         \
	} while (0)

KTEST(rwsem, writer_blocks_new_readers)
{
	struct task *w, *r;

	rwsem_init(&sem, "test_sem");
	log_reset();
	KEXPECT(!rwsem_is_contended(&sem));
	down_read(&sem);
	w = task_create("t_writer", writer_fn, NULL, TASK_PRIO_INTERACTIVE);
	KEXPECT(w != NULL);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	KEXPECT(rwsem_is_contended(&sem));
	/* A writer waits: a new reader may not get in, not even by trying. */
	KEXPECT(!down_read_trylock(&sem));
	KEXPECT(!down_write_trylock(&sem));
	r = task_create("t_reader", reader_fn, NULL, TASK_PRIO_INTERACTIVE);
	KEXPECT(r != NULL);
	msleep(20);
	KEXPECT_EQ(norder, 0);
	up_read(&sem);
	task_join(w);
	task_join(r);
	KEXPECT(order[0] == 'W' && order[1] == 'w' && order[2] == 'R');
	KEXPECT(!rwsem_is_contended(&sem));
	KEXPECT(down_read_trylock(&sem));
	KEXPECT(down_read_trylock(&sem));
	KEXPECT(!down_write_trylock(&sem));
	up_read(&sem);
	up_read(&sem);
	KEXPECT(down_write_trylock(&sem));
	KEXPECT(!down_read_trylock(&sem));
	up_write(&sem);
}

KTEST(rwsem, contended_while_reader_waits)
{
	struct task *r;

	rwsem_init(&sem, "test_sem");
	log_reset();
	down_write(&sem);
	r = task_create("t_reader", reader_fn, NULL, TASK_PRIO_INTERACTIVE);
	KEXPECT(r != NULL);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	KEXPECT(rwsem_is_contended(&sem));
	KEXPECT_EQ(norder, 0);
	up_write(&sem);
	task_join(r);
	KEXPECT_EQ(norder, 1);
	KEXPECT(!rwsem_is_contended(&sem));
}

KTEST(rwsem, downgrade_lets_readers_in)
{
	struct task *r, *w;

	rwsem_init(&sem, "test_sem");
	log_reset();
	down_write(&sem);
	r = task_create("t_reader", reader_fn, NULL, TASK_PRIO_INTERACTIVE);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	w = task_create("t_writer", writer_fn, NULL, TASK_PRIO_INTERACTIVE);
	KEXPECT(r != NULL && w != NULL);
	msleep(10);
	KEXPECT_EQ(norder, 0);
	downgrade_write(&sem);
	/* The reader queued first gets in beside us; the writer waits. */
	WAIT_UNTIL(norder >= 1);
	msleep(10);
	KEXPECT(order[0] == 'R' && norder == 1);
	KEXPECT(rwsem_is_contended(&sem));
	up_read(&sem);
	task_join(r);
	task_join(w);
	KEXPECT(order[1] == 'W' && order[2] == 'w');
}

/*
 * A running writer may take a free lock before a woken writer waiter
 * runs (rwsem.c: steals), but not once that waiter has waited
 * HANDOFF_NS: then release counts the waiter in before it wakes. The
 * waiter runs in a lower class than this test, so on one CPU it cannot
 * run between our up_write and the try that follows.
 */
KTEST(rwsem, writer_waiting_long_is_handed_the_lock)
{
	struct task *w;
	int got;

	rwsem_init(&sem, "test_sem");
	log_reset();
	down_write(&sem);
	w = task_create("t_writer", writer_fn, NULL, TASK_PRIO_BACKGROUND);
	KEXPECT(w != NULL);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	msleep(10);
	up_write(&sem);
	got = down_write_trylock(&sem);
	KEXPECT(!got);
	if (got)
		up_write(&sem);
	task_join(w);
	KEXPECT(order[0] == 'W' && order[1] == 'w');
}

static struct mutex handoff_mutex;

static int mutex_locker_fn(void *arg)
{
	(void)arg;
	mutex_lock(&handoff_mutex);
	log_event('M');
	mutex_unlock(&handoff_mutex);
	return 0;
}

/* The same for a mutex: a waiter queued for longer than HANDOFF_NS is
 * the owner as soon as the mutex is unlocked, before it runs. */
KTEST(mutex, waiter_waiting_long_is_handed_the_lock)
{
	struct task *w;

	mutex_init(&handoff_mutex, "test_mutex");
	log_reset();
	mutex_lock(&handoff_mutex);
	w = task_create("t_locker", mutex_locker_fn, NULL,
			TASK_PRIO_BACKGROUND);
	KEXPECT(w != NULL);
	msleep(20);
	KEXPECT_EQ(norder, 0);
	mutex_unlock(&handoff_mutex);
	KEXPECT(__atomic_load_n(&handoff_mutex.owner, __ATOMIC_RELAXED) == w);
	task_join(w);
	KEXPECT(order[0] == 'M');
}

#define TORTURE_TASKS	4
#define TORTURE_ITERS	3000

enum lock_kind { KIND_SPIN, KIND_MUTEX, KIND_RWSEM };

static struct spinlock tort_spin = SPINLOCK_INIT("torture_spin");
static struct mutex tort_mutex;
static volatile uint64_t tort_counter;	/* [the lock under test] */
static int tort_torn;			/* [a] readers saw a change */

/* Take a private copy, dawdle, write it back: a lost update shows. */
static void bump(void)
{
	uint64_t v = tort_counter;
	int i;

	for (i = 0; i < 50; i++)
		cpu_relax();
	tort_counter = v + 1;
}

static int torture_fn(void *arg)
{
	int kind = (int)(uintptr_t)arg & 0xff, reader = (uintptr_t)arg >> 8;
	uint64_t a, b;
	int i, j;

	for (i = 0; i < TORTURE_ITERS; i++) {
		switch (kind) {
		case KIND_SPIN:
			spin_lock(&tort_spin);
			bump();
			spin_unlock(&tort_spin);
			break;
		case KIND_MUTEX:
			mutex_lock(&tort_mutex);
			bump();
			mutex_unlock(&tort_mutex);
			break;
		default:
			/* Every way in and out: trylocks, and writers that
			 * downgrade and read on (nobody may change it then). */
			if (!reader) {
				if (i % 5 || !down_write_trylock(&sem))
					down_write(&sem);
				bump();
				if (i % 3) {
					up_write(&sem);
					break;
				}
				downgrade_write(&sem);
			} else if (i % 4 || !down_read_trylock(&sem)) {
				down_read(&sem);
			}
			a = tort_counter;
			for (j = 0; j < 50; j++)
				cpu_relax();
			b = tort_counter;
			up_read(&sem);
			if (a != b)
				__atomic_store_n(&tort_torn, 1, __ATOMIC_RELAXED);
		}
	}
	return 0;
}

static void torture(enum lock_kind kind)
{
	struct task *t[TORTURE_TASKS];
	int i, writers = 0;
	uint64_t start = time_ns();

	tort_counter = 0;
	tort_torn = 0;
	mutex_init(&tort_mutex, "torture_mutex");
	rwsem_init(&sem, "torture_rwsem");
	for (i = 0; i < TORTURE_TASKS; i++) {
		int reader = kind == KIND_RWSEM && i % 2;

		writers += !reader;
		t[i] = task_create("t_torture", torture_fn,
				   (void *)(uintptr_t)(kind | reader << 8),
				   TASK_PRIO_BACKGROUND);
		KEXPECT(t[i] != NULL);
	}
	for (i = 0; i < TORTURE_TASKS; i++)
		if (t[i])
			task_join(t[i]);
	KEXPECT_EQ(tort_counter, (uint64_t)writers * TORTURE_ITERS);
	KEXPECT(!tort_torn);
	ktest_note("%d tasks x %d: %lu us", TORTURE_TASKS, TORTURE_ITERS,
		   (unsigned long)((time_ns() - start) / 1000));
}

KTEST(lock, torture_spinlock)
{
	torture(KIND_SPIN);
}

KTEST(lock, torture_mutex)
{
	torture(KIND_MUTEX);
}

KTEST(lock, torture_rwsem)
{
	torture(KIND_RWSEM);
}
