/*
 * Pipelines and redirections (see pipeline.h).
 *
 * Redirections are opened first, left to right, on the job's task: a
 * missing directory, a read-only mount or a directory is reported as
 * "ghee: PATH: reason" and no command runs. A single command then runs on
 * the job's task with its streams as standard input and output
 * (stream_stdio_attach). A pipeline of n commands gets n-1 pipes
 * (shell/pipe.c) and n member tasks; the job's task becomes their leader:
 *  - a member closes its output when its command returns (the next one
 *    reads the end of input, or -EPIPE when it failed) and its input (the
 *    previous one's next write fails with -EPIPE, and stops it);
 *  - the leader wakes when a member ends, or every LEADER_TICK_NS to look
 *    at its own stop flag: Ctrl-C and kill stop the leader, which stops
 *    every member and breaks every pipe;
 *  - a member that ends stops the members before it (nobody reads what
 *    they write any more), and one that fails for a reason of its own
 *    stops all the others; the leader says which one failed.
 * A writer whose reader had already gone fails because of it (-EPIPE, or
 * -ECANCELED from the stop): not a failure of its own, as a Unix writer
 * killed by SIGPIPE is not reported; nor is a reader's -EPIPE, which
 * says its writer failed. The result is the first failure of
 * its own, else -ECANCELED when the leader was stopped, else the last
 * command's result.
 *
 * The leader reports the progress of the first running member as its own
 * (mirror_progress), so a pipeline shows in `jobs` and draws its progress
 * bar as one command does.
 *
 * Fields of a member: those set before its task starts are read-only
 * after; status is written by the member before ended, which it sets
 * with release order, and read by the leader after reading ended with
 * acquire; stopped and seen belong to the leader.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/progress.h>
#include <ghee/sync.h>
#include <ghee/task.h>

#include "args.h"
#include "cmd_fs.h"
#include "pipe.h"
#include "pipeline.h"
#include "stream.h"

#define LEADER_TICK_NS (20 * 1000000ull)
#define CMD_TEXT_MAX 64

/* Say what is wrong with the line; returns -EINVAL. */
static int syntax(const char *what, const char *op)
{
	con_eprintf("error: %s '%s'\n", what, op);
	return -EINVAL;
}

/* Take the redirection ops[i] argv[i+1] into c. */
static int take_redirect(struct pipeline_cmd *c, int op, const char *file,
			 int first, int last)
{
	const char *text = op == ARGS_IN ? "<" : op == ARGS_OUT ? ">" : ">>";

	if (op == ARGS_IN) {
		if (c->in)
			return syntax("a second input redirection", text);
		if (!first)
			return syntax("a command reading a pipe cannot also "
				      "read a file: ", text);
		c->in = file;
		return 0;
	}
	if (c->out)
		return syntax("a second output redirection", text);
	if (!last)
		return syntax("a command writing into a pipe cannot also "
			      "write a file: ", text);
	c->out = file;
	c->append = op == ARGS_APPEND;
	return 0;
}

int pipeline_parse(int argc, char **argv, const unsigned char *ops,
		   struct pipeline *pl)
{
	struct pipeline_cmd *c;
	int i, w = 0, ret, last;

	memset(pl, 0, sizeof(*pl));
	for (i = 0; i < argc; i++)
		pl->n += ops[i] == ARGS_PIPE;
	if (++pl->n > PIPELINE_MAX) {
		con_eprintf("error: more than %d commands in a pipeline\n",
			    PIPELINE_MAX);
		return -EINVAL;
	}
	c = pl->cmd;
	c->argv = pl->words;
	for (i = 0; i < argc; i++) {
		last = c == pl->cmd + pl->n - 1;
		if (ops[i] == ARGS_PIPE) {
			if (!c->argc)
				return syntax("no command before", "|");
			pl->words[w++] = NULL;
			(++c)->argv = pl->words + w;
		} else if (ops[i] != ARGS_WORD) {
			if (i + 1 == argc || ops[i + 1] != ARGS_WORD)
				return syntax("no file name after", argv[i]);
			ret = take_redirect(c, ops[i], argv[i + 1],
					    c == pl->cmd, last);
			if (ret)
				return ret;
			i++;
		} else {
			pl->words[w++] = argv[i];
			c->argc++;
		}
	}
	pl->words[w] = NULL;
	if (!c->argc)
		return syntax(pl->n > 1 ? "no command after" : "no command for",
			      pl->n > 1 ? "|" : argv[0]);
	return 0;
}

/* "echo hello" of c, for messages. */
static void cmd_text(const struct pipeline_cmd *c, char *out, size_t size)
{
	size_t len = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < c->argc && len < size; i++)
		len += snprintf(out + len, size - len, "%s%s", i ? " " : "",
				c->argv[i]);
}

/* Open every redirection, and the pipes' ends into in_s/out_s. */
static int open_streams(struct pipeline *pl, struct pipe **pipes)
{
	struct pipeline_cmd *c;
	int i, ret = 0;

	for (i = 0; i < pl->n && !ret; i++) {
		c = &pl->cmd[i];
		if (c->in)
			ret = stream_open("ghee", c->in, STREAM_READ, &c->in_s);
		if (!ret && c->out)
			ret = stream_open("ghee", c->out, c->append ?
					  STREAM_APPEND : STREAM_WRITE,
					  &c->out_s);
	}
	for (i = 0; i + 1 < pl->n && !ret; i++) {
		pipes[i] = pipe_create();
		ret = pipes[i] ? 0 : -ENOMEM;
		if (!ret)
			ret = stream_pipe_end(pipes[i], STREAM_WRITE,
					      &pl->cmd[i].out_s);
		if (!ret)
			ret = stream_pipe_end(pipes[i], STREAM_READ,
					      &pl->cmd[i + 1].in_s);
		if (ret == -ENOMEM)
			con_eprintf("error: out of memory for a pipe\n");
	}
	return ret;
}

/*
 * Close c's streams after its command returned status: its output first
 * (its reader sees the end), then its input. A failed write to a file is
 * said here, with the path. Returns status, or the output's error when
 * the command itself succeeded.
 */
static int close_streams(struct pipeline_cmd *c, int status, int io_err)
{
	int ret = 0;

	if (c->out_s) {
		ret = stream_end(c->out_s, status);
		if (!ret)
			ret = io_err;
		if (ret && c->out && ret != -ECANCELED)
			con_eprintf("ghee: %s: %s\n", c->out,
				    cmd_fs_err_text(ret));
		c->out_s = NULL;
	}
	if (c->in_s) {
		stream_close(c->in_s);	/* a reader has nothing to flush */
		c->in_s = NULL;
	}
	return status ? status : ret;
}

/* Run c on the calling task with its streams. */
static int run_cmd(struct pipeline_cmd *c)
{
	struct stream_stdio io;
	int ret;

	stream_stdio_attach(&io, c->in_s, c->out_s);
	ret = shell_run_argv(c->argc, c->argv);
	stream_stdio_detach();
	return close_streams(c, ret, io.err);
}

struct member {
	struct pipeline_cmd *c;		/* [I] */
	struct task *task;		/* [I] once started */
	struct completion *ended_c;	/* [I] the leader's wake-up */
	int status;			/* the result, once ended */
	int ended;			/* [a] status is set */
	int stopped;			/* leader: stopped by the leader */
	int seen;			/* leader: its end was handled */
};

static int member_main(void *arg)
{
	struct member *m = arg;
	struct stream_stdio io;
	int ret;

	stream_stdio_attach(&io, m->c->in_s, m->c->out_s);
	ret = shell_run_argv(m->c->argc, m->c->argv);
	stream_stdio_detach();
	progress_end();
	m->status = close_streams(m->c, ret, io.err);
	__atomic_store_n(&m->ended, 1, __ATOMIC_RELEASE);
	complete(m->ended_c);
	return m->status;
}

/* Stop the members in [from, to) that still run, and break the pipes
 * between them (a member waiting on one wakes at once). */
static void stop_members(struct member *m, int from, int to,
			 struct pipe **pipes, int npipes)
{
	int i;

	for (i = from; i < to; i++)
		if (!__atomic_load_n(&m[i].ended, __ATOMIC_ACQUIRE) &&
		    !m[i].stopped) {
			m[i].stopped = 1;
			task_stop(task_id(m[i].task));
		}
	for (i = from; i < to - 1 && i < npipes; i++)
		pipe_break(pipes[i]);
}

/*
 * Whether member i failed for a reason of its own: not -EPIPE (its
 * writer failed, which is that one's failure), not -ECANCELED after the
 * leader stopped it, and not any failure once a write of it found its
 * reader gone (the stop that follows a broken pipe).
 */
static int own_failure(struct member *m, int i, int n, struct pipe **pipes)
{
	int status = m[i].status;

	if (status >= 0 || status == -EPIPE ||
	    (status == -ECANCELED && m[i].stopped))
		return 0;
	return i + 1 == n || !pipe_write_refused(pipes[i]);
}

/* What the leader last copied of a member's progress. */
struct mirror {
	const char *phase;	/* the phase copied, or NULL */
	uint64_t done;		/* units of it counted so far */
};

/*
 * Report the progress of the first running member that reports any as
 * the leader's own, so that `jobs` and the foreground progress bar show
 * a pipeline (send | receive) as they show a single command.
 */
static void mirror_progress(struct member *m, int n, struct mirror *mi)
{
	struct progress p;
	int i;

	for (i = 0; i < n; i++) {
		if (__atomic_load_n(&m[i].ended, __ATOMIC_ACQUIRE) ||
		    progress_get(task_id(m[i].task), &p) || !p.phase)
			continue;
		if (p.phase != mi->phase) {
			progress_phase(p.phase, p.total, p.unit);
			mi->phase = p.phase;
			mi->done = 0;
		}
		progress_total(p.total);
		if (p.done > mi->done) {
			/* the leader's stop is looked at by supervise */
			progress_add(p.done - mi->done);
			mi->done = p.done;
		}
		return;
	}
}

/* Wait for every member, stopping them as the file comment says. Returns
 * the index of the first one that failed of its own, or -1. */
static int supervise(struct member *m, int n, struct completion *ended_c,
		     struct pipe **pipes, int *leader_stopped)
{
	struct mirror mi = { NULL, 0 };
	int live = n, failed = -1, i;

	while (live) {
		wait_for_completion_timeout(ended_c, LEADER_TICK_NS);
		mirror_progress(m, n, &mi);
		if (task_should_stop() && !*leader_stopped) {
			*leader_stopped = 1;
			stop_members(m, 0, n, pipes, n - 1);
		}
		for (i = 0; i < n; i++) {
			if (m[i].seen ||
			    !__atomic_load_n(&m[i].ended, __ATOMIC_ACQUIRE))
				continue;
			m[i].seen = 1;
			live--;
			if (failed < 0 && own_failure(m, i, n, pipes)) {
				failed = i;
				stop_members(m, 0, n, pipes, n - 1);
			} else {
				stop_members(m, 0, i, pipes, n - 1);
			}
		}
	}
	return failed;
}

/* Start a task for each member; on failure stop those started. */
static int start_members(struct pipeline *pl, struct member *m,
			 struct completion *ended_c, struct pipe **pipes)
{
	int i;

	for (i = 0; i < pl->n; i++) {
		m[i].c = &pl->cmd[i];
		m[i].ended_c = ended_c;
		m[i].task = task_create(m[i].c->argv[0], member_main, &m[i],
					TASK_PRIO_NORMAL);
		if (m[i].task)
			continue;
		con_eprintf("error: no memory for a task of the pipeline\n");
		stop_members(m, 0, i, pipes, pl->n - 1);
		while (i--)
			task_join(m[i].task);
		return -ENOMEM;
	}
	return 0;
}

static int run_members(struct pipeline *pl, struct pipe **pipes)
{
	struct completion ended_c;
	char text[CMD_TEXT_MAX];
	struct member *m = kzalloc(pl->n * sizeof(*m));
	int failed, leader_stopped = 0, ret, i;

	if (!m) {
		con_eprintf("error: out of memory for a pipeline\n");
		return -ENOMEM;
	}
	completion_init(&ended_c);
	ret = start_members(pl, m, &ended_c, pipes);
	if (ret)
		goto out_free;
	failed = supervise(m, pl->n, &ended_c, pipes, &leader_stopped);
	for (i = 0; i < pl->n; i++)
		task_join(m[i].task);
	if (failed >= 0) {
		cmd_text(m[failed].c, text, sizeof(text));
		con_eprintf("ghee: pipeline stopped: '%s' failed: %s\n", text,
			    cmd_fs_err_text(m[failed].status));
		ret = m[failed].status;
	} else {
		ret = leader_stopped ? -ECANCELED : m[pl->n - 1].status;
	}
out_free:
	kfree(m);
	return ret;
}

int pipeline_run(struct pipeline *pl)
{
	struct pipe *pipes[PIPELINE_MAX] = { NULL };
	int ret, i;

	ret = open_streams(pl, pipes);
	if (!ret && pl->n == 1)
		return run_cmd(&pl->cmd[0]);
	if (!ret)
		ret = run_members(pl, pipes);
	for (i = 0; i < pl->n; i++)	/* what members did not close */
		close_streams(&pl->cmd[i], ret, 0);
	for (i = 0; i + 1 < pl->n; i++)
		if (pipes[i])
			pipe_free(pipes[i]);
	return ret;
}
