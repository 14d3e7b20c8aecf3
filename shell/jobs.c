/*
 * Jobs: each command line runs on a task of its own, which runs its
 * pipeline (shell/pipeline.c: the command with its redirections, or the
 * leader of a pipeline's tasks, which passes a stop on to them). A
 * foreground job is waited for: Ctrl-C on the console stops it
 * (con_interrupt_task), and the command stops at its next safe point
 * (progress_add or task_should_stop returning "stop"), says what it
 * finished and returns -ECANCELED. A line ended by `&` starts a
 * background job: the shell prints its id (the task's id, so `kill ID`
 * and `ps` name it too) and reads the next line. Both kinds run in the
 * NORMAL class and share the CPU; the shell's own task stays above them.
 * `jobs` lists the background jobs with their progress, `wait [ID...]`
 * waits for them and returns the last one's status.
 *
 * A job owns a copy of its words: the line buffer is reused for the next
 * line while a background job still runs. Jobs are kept in a fixed table
 * until `wait` collects them (a finished, announced job is dropped when a
 * new one needs its slot).
 *
 * jobs_lock (a spinlock, taken with nothing else held) protects the
 * slots' use: a slot is claimed, and a job is taken for collecting (by
 * one wait, or for reuse of its slot), under it; the join happens after,
 * outside it. A job's other fields are set before its task starts; done
 * and status are written by the job's task once, with release order
 * (done last), and read with acquire.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/progress.h>
#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "args.h"
#include "jobs.h"
#include "pipeline.h"
#include "progress_view.h"
#include "shell.h"

#define JOBS_MAX 32
#define JOB_TEXT_MAX 80		/* bytes of the command line jobs shows */
#define FG_TICK_NS (250 * 1000000ull)	/* foreground progress refresh */

struct job {
	struct task *task;	/* NULL: a free slot */
	int id;			/* the task's id */
	struct task *self;	/* [jobs_lock] the task, set by itself as it
				 * starts (task and id are set after it may
				 * already run) */
	int background;
	int announced;		/* its end was reported at a prompt */
	int collecting;		/* [jobs_lock] a wait or a reuse owns it */
	int done;		/* [a] the command returned */
	int status;		/* its result, once done */
	int argc;
	char **argv;		/* in words */
	unsigned char *ops;	/* in words: args_split's operators */
	char *words;		/* one allocation: argv, ops, the strings */
	struct pipeline *pl;	/* the line parsed, pointing into words */
	char text[JOB_TEXT_MAX];	/* the command, for messages */
};

static struct spinlock jobs_lock = SPINLOCK_INIT("jobs");
static struct job jobs[JOBS_MAX];	/* [jobs_lock] slot use */

static int job_main(void *arg)
{
	struct job *j = arg;
	int ret;

	spin_lock(&jobs_lock);
	j->self = task_current();
	spin_unlock(&jobs_lock);
	ret = pipeline_run(j->pl);

	progress_end();
	j->status = ret;
	__atomic_store_n(&j->done, 1, __ATOMIC_RELEASE);
	return ret;
}

static int job_done(const struct job *j)
{
	return __atomic_load_n(&j->done, __ATOMIC_ACQUIRE);
}

/* Copy argv and ops (NULL: all words) into one allocation owned by j,
 * and its text. */
static int job_copy_words(struct job *j, int argc, char **argv,
			  const unsigned char *ops)
{
	size_t bytes = (argc + 1) * sizeof(char *) + argc, len = 0;
	char *p;
	int i;

	for (i = 0; i < argc; i++)
		bytes += strlen(argv[i]) + 1;
	j->words = kmalloc(bytes);
	if (!j->words)
		return -ENOMEM;
	j->argv = (char **)j->words;
	j->ops = (unsigned char *)(j->argv + argc + 1);
	p = (char *)j->ops + argc;
	for (i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;

		j->ops[i] = ops ? ops[i] : ARGS_WORD;
		memcpy(p, argv[i], n);
		j->argv[i] = p;
		p += n;
		if (len < sizeof(j->text))
			len += snprintf(j->text + len, sizeof(j->text) - len,
					"%s%s", i ? " " : "", argv[i]);
	}
	j->argv[argc] = NULL;
	j->argc = argc;
	return 0;
}

/* Join j's task (j is being collected) and free its slot; returns its
 * status. */
static int job_release(struct job *j)
{
	int ret = task_join(j->task);

	kfree(j->pl);
	kfree(j->words);
	spin_lock(&jobs_lock);
	j->task = NULL;
	spin_unlock(&jobs_lock);
	return ret;
}

/* Take a background job for collecting: the one with id, or (id 0) any.
 * Never the caller's own (`wait &`) nor one another wait took. NULL when
 * there is none. */
static struct job *job_take(int id)
{
	int self = task_id(task_current());
	struct job *j, *found = NULL;

	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX && !found; j++)
		if (j->task && j->background && j->id && !j->collecting &&
		    j->id != self && (!id || j->id == id))
			found = j;
	if (found)
		found->collecting = 1;
	spin_unlock(&jobs_lock);
	return found;
}

/* A free slot, claimed; else a finished background job already announced
 * is collected for its slot. NULL when every slot is busy. */
static struct job *job_claim(void)
{
	struct job *j, *found = NULL, *reuse = NULL;

	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX && !found; j++)
		if (!j->task)
			found = j;
	for (j = jobs; j < jobs + JOBS_MAX && !found && !reuse; j++)
		if (j->task && j->background && j->announced &&
		    !j->collecting && job_done(j))
			reuse = j;
	if (reuse)
		reuse->collecting = 1;
	if (found) {
		memset(found, 0, sizeof(*found));
		found->task = (struct task *)found;	/* claimed */
		found->collecting = 1;
	}
	spin_unlock(&jobs_lock);
	if (reuse) {
		job_release(reuse);
		return job_claim();
	}
	return found;
}

static int wait_foreground(struct job *j)
{
	struct progress_view v;

	progress_view_begin(&v, j->id);
	con_interrupt_task(j->id);
	while (task_wait_end(j->task, FG_TICK_NS) == -ETIMEDOUT)
		progress_view_update(&v);
	con_interrupt_task(0);
	progress_view_end(&v);
	return job_release(j);
}

/* Copy the line into j and parse it; 0 or -EINVAL/-ENOMEM, said. */
static int job_prepare(struct job *j, int argc, char **argv,
		       const unsigned char *ops, int background)
{
	int ret;

	j->background = background;
	j->pl = kmalloc(sizeof(*j->pl));
	ret = j->pl ? job_copy_words(j, argc, argv, ops) : -ENOMEM;
	if (ret) {
		con_eprintf("error: no memory to run '%s'\n", argv[0]);
		return ret;
	}
	ret = pipeline_parse(j->argc, j->argv, j->ops, j->pl);
	if (ret)
		return ret;
	return 0;
}

int jobs_run(int argc, char **argv, const unsigned char *ops,
	     int background)
{
	struct job *j = job_claim();
	struct task *t = NULL;
	int ret;

	if (!j) {
		con_eprintf("error: %d jobs already; wait for some first\n",
			    JOBS_MAX);
		return -EAGAIN;
	}
	ret = job_prepare(j, argc, argv, ops, background);
	if (ret == 0) {
		/* named for its first command, not a leading "> FILE";
		 * foreground or `&`, one class (kernel/sched/sched.c) */
		t = task_create(j->pl->cmd[0].argv[0], job_main, j,
				TASK_PRIO_NORMAL);
		if (!t)
			con_eprintf("error: no memory to run '%s'\n",
				    argv[0]);
		ret = t ? 0 : -ENOMEM;
	}
	if (ret) {
		kfree(j->pl);
		kfree(j->words);
		spin_lock(&jobs_lock);
		j->task = NULL;
		spin_unlock(&jobs_lock);
		return ret;
	}
	spin_lock(&jobs_lock);
	j->task = t;
	j->id = task_id(t);
	j->collecting = !background;	/* the shell collects it now */
	spin_unlock(&jobs_lock);
	if (!background)
		return wait_foreground(j);
	con_printf("[%d] %s\n", j->id, j->text);
	return 0;
}

/* "[5] Done  fsck vda", "[5] Cancelled  ..." or "[5] Exit 5  ...". */
static void print_end(int id, int status, const char *text)
{
	if (status == 0)
		con_printf("[%d] Done  %s\n", id, text);
	else if (status == -ECANCELED)
		con_eprintf("[%d] Cancelled  %s\n", id, text);
	else
		con_printf("[%d] Exit %d  %s\n", id, -status, text);
}

void jobs_announce(void)
{
	struct job *j;

	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX; j++) {
		if (!j->task || !j->background || !j->id || j->collecting ||
		    j->announced || !job_done(j))
			continue;
		print_end(j->id, j->status, j->text);
		j->announced = 1;
	}
	spin_unlock(&jobs_lock);
}

int jobs_running(void)
{
	int self = task_id(task_current()), n = 0;
	struct job *j;

	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX; j++)
		n += j->task && j->background && j->id && j->id != self &&
		     !job_done(j);
	spin_unlock(&jobs_lock);
	return n;
}

int jobs_self_background(void)
{
	struct task *self = task_current();
	struct job *j;
	int found = 0;

	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX; j++)
		found |= j->task && j->background && j->self == self &&
			 !job_done(j);
	spin_unlock(&jobs_lock);
	return found;
}

void jobs_wait_all(void)
{
	struct job *j;

	while ((j = job_take(0)) != NULL)
		job_release(j);
}

void jobs_stop_all(void)
{
	struct job *j;

	while ((j = job_take(0)) != NULL) {
		task_stop(j->id);
		job_release(j);
	}
}

/* What `jobs` shows of one job, copied under jobs_lock. */
struct job_view {
	int id, done, status;
	char text[JOB_TEXT_MAX];
};

int cmd_jobs(int argc, char **argv)
{
	char line[PROGRESS_LINE_MAX];
	struct job_view *v = kmalloc(JOBS_MAX * sizeof(*v));
	struct job *j;
	int n = 0, i;

	(void)argc;
	(void)argv;
	if (!v) {
		con_eprintf("jobs: out of memory\n");
		return -ENOMEM;
	}
	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX; j++) {
		if (!j->task || !j->background || !j->id)
			continue;
		v[n].id = j->id;
		v[n].done = job_done(j);
		v[n].status = v[n].done ? j->status : 0;
		memcpy(v[n++].text, j->text, JOB_TEXT_MAX);
	}
	spin_unlock(&jobs_lock);
	for (i = 0; i < n; i++) {
		if (v[i].done) {
			print_end(v[i].id, v[i].status, v[i].text);
			continue;
		}
		progress_view_line(v[i].id, line, sizeof(line));
		con_printf("[%d] Running  %s%s%s\n", v[i].id, v[i].text,
			   line[0] ? "  " : "", line);
	}
	kfree(v);
	return 0;
}

/* Parse a background job id; 0 after saying there is no such job. */
static int job_arg(const char *arg)
{
	uint64_t id;
	struct job *j;
	int found = 0;

	if (shell_parse_u64(arg, "ID", &id))
		return 0;
	spin_lock(&jobs_lock);
	for (j = jobs; j < jobs + JOBS_MAX; j++)
		if (j->task && j->background && j->id && (uint64_t)j->id == id)
			found = j->id;
	spin_unlock(&jobs_lock);
	if (!found)
		con_eprintf("wait: no background job %s\n", arg);
	return found;
}

/* Wait for a job taken for collecting; Ctrl-C (or kill) ends the wait,
 * not the job, and gives it back. */
static int wait_one(struct job *j)
{
	int announced;

	while (task_wait_end(j->task, FG_TICK_NS) == -ETIMEDOUT)
		if (task_should_stop()) {
			con_eprintf("wait: interrupted; job %d runs on\n",
				    j->id);
			spin_lock(&jobs_lock);
			j->collecting = 0;
			spin_unlock(&jobs_lock);
			return -ECANCELED;
		}
	spin_lock(&jobs_lock);
	announced = j->announced;
	spin_unlock(&jobs_lock);
	if (!announced)
		print_end(j->id, j->status, j->text);
	return job_release(j);
}

/* wait [ID...]: wait for the jobs (all background jobs when none are
 * named) and return the last one's status. */
int cmd_wait(int argc, char **argv)
{
	struct job *j;
	int i, id, ret = 0;

	for (i = 1; i < argc; i++)
		if (!job_arg(argv[i]))
			return -EINVAL;
	for (i = 1; i < argc && ret != -ECANCELED; i++) {
		id = job_arg(argv[i]);
		j = id ? job_take(id) : NULL;
		if (j)
			ret = wait_one(j);
	}
	while (argc == 1 && ret != -ECANCELED && (j = job_take(0)) != NULL)
		ret = wait_one(j);
	return ret;
}
