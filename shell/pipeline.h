/*
 * Pipelines and redirections (shell/pipeline.c): `A | B | C`, `CMD > FILE`,
 * `CMD >> FILE`, `CMD < FILE`. A job (shell/jobs.c) parses its line into
 * a pipeline when it starts and runs it on its own task.
 */
#ifndef SHELL_PIPELINE_H
#define SHELL_PIPELINE_H

#include "shell.h"

/* Most commands joined by pipes on one line. */
#define PIPELINE_MAX 16

struct stream;

struct pipeline_cmd {
	int argc;
	char **argv;		/* argc words, then NULL */
	const char *in;		/* < FILE, or NULL */
	const char *out;	/* > or >> FILE, or NULL */
	int append;		/* out is >> */
	struct stream *in_s;	/* opened in, its pipe's end, or NULL */
	struct stream *out_s;	/* opened out, its pipe's end, or NULL */
};

struct pipeline {
	int n;				/* commands */
	struct pipeline_cmd cmd[PIPELINE_MAX];
	/* each command's words and its NULL, in one array */
	char *words[SHELL_ARGS_MAX + PIPELINE_MAX];
};

/*
 * Parse argc words with their operators (args_split's ops, no `&`) into
 * pl, which points into argv. 0, or -EINVAL after saying what is wrong
 * (an operator without its command or file, two inputs or outputs of one
 * command, too many commands).
 */
int pipeline_parse(int argc, char **argv, const unsigned char *ops,
		   struct pipeline *pl);
/*
 * Run pl on the calling task: open its redirections (a failure is said
 * with the path and the reason, and nothing runs), run a single command
 * on this task or each command of a longer pipeline on a task of its own,
 * and close the streams. Stopping the calling task (Ctrl-C, kill) stops
 * every command; a command that fails stops the others and is reported.
 * Returns the first failure of a command, else the last command's result.
 */
int pipeline_run(struct pipeline *pl);

#endif
