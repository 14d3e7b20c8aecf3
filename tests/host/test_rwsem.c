/*
 * The host rwsem (tests/host/shim/sync.c) keeps the kernel's semantics:
 * a waiting writer blocks new readers (down_read_trylock fails, down_read
 * waits behind it), rwsem_is_contended is true while anyone waits, and
 * downgrade_write lets the readers queued first in. Also: completions
 * and the task shim (join, stop interrupting a sleep). The order of the
 * tasks is made explicit (wait until a task is queued on the rwsem), never
 * left to sleeps that a loaded host may not honour.
 */
#include <errno.h>
#include <string.h>

#include <ghee/sync.h>
#include <ghee/task.h>

#include "test.h"

static struct rwsem sem;
static pthread_mutex_t log_m = PTHREAD_MUTEX_INITIALIZER;
static char order[16];		/* [log_m] who got in, in order */

static void log_event(char who)
{
	pthread_mutex_lock(&log_m);
	order[strlen(order)] = who;
	pthread_mutex_unlock(&log_m);
}

static int logged(void)
{
	int n;

	pthread_mutex_lock(&log_m);
	n = strlen(order);
	pthread_mutex_unlock(&log_m);
	return n;
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

/* Poll (up to ten seconds) until cond holds. */
#define WAIT_UNTIL(cond)                                                   \
	do {                                                               \
		int n_;                                                    \
		for (n_ = 0; n_ < 10000 && !(cond); n_++)                  \
			msleep(1);                                         \
	} while (0)

/* Tasks queued on sem (the shim's count, sync_impl.h). */
static int waiting(void)
{
	return __atomic_load_n(&sem.nr_waiting, __ATOMIC_RELAXED);
}

TEST(rwsem, writer_blocks_new_readers)
{
	struct task *w, *r;
	int ok1, ok2, n, queued;

	rwsem_init(&sem, "test");
	memset(order, 0, sizeof(order));
	down_read(&sem);
	w = task_create("writer", writer_fn, NULL, TASK_PRIO_INTERACTIVE);
	CHECK(w != NULL);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	ok1 = rwsem_is_contended(&sem);
	ok2 = !down_read_trylock(&sem) && !down_write_trylock(&sem);
	r = task_create("reader", reader_fn, NULL, TASK_PRIO_INTERACTIVE);
	WAIT_UNTIL(waiting() == 2);	/* the reader queued behind */
	queued = waiting();
	n = logged();
	up_read(&sem);
	task_join(w);
	if (r)
		task_join(r);
	CHECK(ok1 && ok2 && r != NULL);
	CHECK_EQ(queued, 2);
	CHECK_EQ(n, 0);
	CHECK_STR(order, "WwR");
	CHECK(!rwsem_is_contended(&sem));
	CHECK(down_read_trylock(&sem));
	CHECK(!down_write_trylock(&sem));
	up_read(&sem);
	CHECK(down_write_trylock(&sem));
	CHECK(!down_read_trylock(&sem));
	up_write(&sem);
}

TEST(rwsem, contended_while_reader_waits)
{
	struct task *r;
	int contended;

	rwsem_init(&sem, "test");
	memset(order, 0, sizeof(order));
	down_write(&sem);
	r = task_create("reader", reader_fn, NULL, TASK_PRIO_INTERACTIVE);
	CHECK(r != NULL);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	contended = rwsem_is_contended(&sem);
	up_write(&sem);
	task_join(r);
	CHECK(contended);
	CHECK_STR(order, "R");
	CHECK(!rwsem_is_contended(&sem));
}

TEST(rwsem, downgrade_lets_first_readers_in)
{
	struct task *r, *w;
	int n1, n2, queued;

	rwsem_init(&sem, "test");
	memset(order, 0, sizeof(order));
	down_write(&sem);
	r = task_create("reader", reader_fn, NULL, TASK_PRIO_INTERACTIVE);
	WAIT_UNTIL(rwsem_is_contended(&sem));
	w = task_create("writer", writer_fn, NULL, TASK_PRIO_INTERACTIVE);
	WAIT_UNTIL(waiting() == 2);	/* the writer queued behind it */
	queued = waiting();
	n1 = logged();
	downgrade_write(&sem);
	WAIT_UNTIL(logged() >= 1);
	/* The reader got in; the writer cannot while we still read. */
	n2 = logged();
	up_read(&sem);
	if (r)
		task_join(r);
	if (w)
		task_join(w);
	CHECK(r != NULL && w != NULL);
	CHECK_EQ(queued, 2);
	CHECK_EQ(n1, 0);
	CHECK_EQ(n2, 1);
	CHECK_STR(order, "RWw");
}

static struct completion done;

static int completer_fn(void *arg)
{
	(void)arg;
	complete(&done);
	return 7;
}

TEST(task, join_returns_result_and_completion_wakes)
{
	struct task *t;

	completion_init(&done);
	CHECK_EQ(wait_for_completion_timeout(&done, 1000000), -ETIMEDOUT);
	t = task_create("completer", completer_fn, NULL, TASK_PRIO_BACKGROUND);
	CHECK(t != NULL);
	CHECK_EQ(wait_for_completion_timeout(&done, 5000000000ull), 0);
	CHECK_EQ(task_join(t), 7);
}

static int sleeper_fn(void *arg)
{
	(void)arg;
	return msleep(100000);
}

TEST(task, stop_interrupts_sleep)
{
	struct task *t = task_create("sleeper", sleeper_fn, NULL,
				     TASK_PRIO_BACKGROUND);

	CHECK(t != NULL);
	msleep(5);
	CHECK_OK(task_stop(task_id(t)));
	CHECK_EQ(task_join(t), -EINTR);
	CHECK_EQ(task_stop(999999), -ESRCH);
}
