/*
 * Host implementation of include/ghee/task.h: a task is a pthread. The
 * host has no priorities (prio is recorded for task_list only) and no CPU
 * accounting (cpu_list lists the host's CPUs, idle); cancellation, join/detach and sleeping behave as in the
 * kernel. The main thread is task 0 "main". Progress records
 * (ghee/progress.h, lib/progress.c) are copied under tasks_lock, which
 * keeps the task alive.
 *
 * tasks_lock protects the task list, ids and reference counts.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

struct task {
	pthread_t thread;		/* [I] */
	int id;				/* [I] */
	char name[TASK_NAME_MAX];	/* [I] */
	int prio;			/* [I] */
	int (*fn)(void *arg);		/* [I] */
	void *arg;			/* [I] */
	int stop;			/* [a] */
	int dead;			/* [tasks_lock] */
	int refs;			/* [tasks_lock] handle + alive */
	int exit_code;			/* [tasks_lock] once dead */
	pthread_cond_t sleep_cv;	/* task_stop interrupts sleeps */
	struct progress progress;	/* [a] written by the task only */
	void *local;			/* task_local(): the task only */
	struct task *next;		/* [tasks_lock] task list, by id */
};

static pthread_mutex_t tasks_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t exit_cv = PTHREAD_COND_INITIALIZER;
static struct task main_task = { .name = "main", .refs = 1,
				 .sleep_cv = PTHREAD_COND_INITIALIZER };
static struct task *tasks = &main_task;	/* [tasks_lock] */
static int next_id = 1;			/* [tasks_lock] */
static __thread struct task *self;

struct task *task_current(void)
{
	return self ? self : &main_task;
}

void *task_local(void)
{
	return task_current()->local;
}

void task_set_local(void *p)
{
	task_current()->local = p;
}

int task_id(const struct task *t)
{
	return t->id;
}

enum task_prio task_prio(const struct task *t)
{
	return (enum task_prio)t->prio;
}

/* Drop a reference; caller holds tasks_lock. Returns the task to free. */
static struct task *put_locked(struct task *t)
{
	struct task **pp;

	if (--t->refs)
		return NULL;
	for (pp = &tasks; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	return t;
}

static void task_end(struct task *t, int code)
{
	struct task *dead;

	pthread_mutex_lock(&tasks_lock);
	t->exit_code = code;
	t->dead = 1;
	pthread_cond_broadcast(&exit_cv);
	dead = put_locked(t);
	pthread_mutex_unlock(&tasks_lock);
	free(dead);
}

static void *task_main(void *arg)
{
	struct task *t = arg;

	self = t;
	task_end(t, t->fn(t->arg));
	return NULL;
}

struct task *task_create(const char *name, int (*fn)(void *arg), void *arg,
			 enum task_prio prio)
{
	struct task *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	strncpy(t->name, name, TASK_NAME_MAX - 1);
	t->prio = prio;
	t->fn = fn;
	t->arg = arg;
	t->refs = 2;
	pthread_cond_init(&t->sleep_cv, NULL);
	pthread_mutex_lock(&tasks_lock);
	t->id = next_id++;
	t->next = tasks;
	tasks = t;
	if (pthread_create(&t->thread, NULL, task_main, t) != 0) {
		tasks = t->next;
		pthread_mutex_unlock(&tasks_lock);
		free(t);
		return NULL;
	}
	pthread_detach(t->thread);
	pthread_mutex_unlock(&tasks_lock);
	return t;
}

int task_join(struct task *t)
{
	struct task *dead;
	int code;

	pthread_mutex_lock(&tasks_lock);
	while (!t->dead)
		pthread_cond_wait(&exit_cv, &tasks_lock);
	code = t->exit_code;
	dead = put_locked(t);
	pthread_mutex_unlock(&tasks_lock);
	free(dead);
	return code;
}

int task_wait_end(struct task *t, uint64_t ns)
{
	struct timespec ts;
	int dead;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ns / 1000000000ull;
	ts.tv_nsec += ns % 1000000000ull;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&tasks_lock);
	while (!t->dead)
		if (pthread_cond_timedwait(&exit_cv, &tasks_lock, &ts) ==
		    ETIMEDOUT)
			break;
	dead = t->dead;
	pthread_mutex_unlock(&tasks_lock);
	return dead ? 0 : -ETIMEDOUT;
}

void task_detach(struct task *t)
{
	struct task *dead;

	pthread_mutex_lock(&tasks_lock);
	dead = put_locked(t);
	pthread_mutex_unlock(&tasks_lock);
	free(dead);
}

void task_exit(int code)
{
	if (!self)
		exit(code);
	task_end(self, code);
	pthread_exit(NULL);
}

int task_stop(int id)
{
	struct task *t;
	int ret = -ESRCH;

	pthread_mutex_lock(&tasks_lock);
	for (t = tasks; t; t = t->next) {
		if (t->id != id || t->dead || t == &main_task)
			continue;
		__atomic_store_n(&t->stop, 1, __ATOMIC_RELAXED);
		pthread_cond_broadcast(&t->sleep_cv);
		ret = 0;
	}
	pthread_mutex_unlock(&tasks_lock);
	return ret;
}

int task_should_stop(void)
{
	return __atomic_load_n(&task_current()->stop, __ATOMIC_RELAXED);
}

void task_yield(void)
{
	sched_yield();
}

/* The calling thread's CPU time (see task.h). */
uint64_t task_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int task_sleep_ns(uint64_t ns)
{
	struct task *t = task_current();
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ns / 1000000000ull;
	ts.tv_nsec += ns % 1000000000ull;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&tasks_lock);
	while (!task_should_stop())
		if (pthread_cond_timedwait(&t->sleep_cv, &tasks_lock, &ts) ==
		    ETIMEDOUT)
			break;
	if (task_should_stop())
		ret = -EINTR;
	pthread_mutex_unlock(&tasks_lock);
	return ret;
}

int task_list(struct task_info *out, int max)
{
	struct task *t;
	int n = 0, i;

	pthread_mutex_lock(&tasks_lock);
	for (t = tasks; t; t = t->next)
		n++;
	/* The list is newest first; fill from the back for id order. */
	i = n;
	for (t = tasks; t; t = t->next) {
		struct task_info *ti;

		if (--i >= max)
			continue;
		ti = &out[i];
		ti->id = t->id;
		memcpy(ti->name, t->name, TASK_NAME_MAX);
		ti->state = t->dead ? 'Z' : 'R';
		ti->cpu = -1;
		ti->prio = t->prio;
		ti->stop = t->stop;
		ti->cpu_ns = 0;
	}
	pthread_mutex_unlock(&tasks_lock);
	return n;
}

/* The host's CPUs as far as the process may use them; the host keeps no
 * per-CPU task or switch figures. */
int cpu_list(struct cpu_info *out, int max)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	int i;

	if (n < 1)
		n = 1;
	for (i = 0; i < n && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = i;
		out[i].hw_id = (uint32_t)i;
		out[i].online = 1;
		out[i].task_id = -1;
		strcpy(out[i].task, "?");
	}
	return (int)n;
}

/* Every host CPU the process sees is usable. */
int cpu_parked_count(void)
{
	return 0;
}

struct progress *progress_self(void)
{
	return &task_current()->progress;
}

int progress_get(int id, struct progress *out)
{
	struct task *t;
	int ret = -ESRCH;

	pthread_mutex_lock(&tasks_lock);
	for (t = tasks; t; t = t->next) {
		if (t->id != id || t->dead)
			continue;
		progress_copy(&t->progress, out);
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&tasks_lock);
	return ret;
}
