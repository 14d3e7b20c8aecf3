/*
 * Jobs (shell/jobs.c): every command line runs on a task of its own, in
 * the foreground or, ended by `&`, in the background.
 */
#ifndef SHELL_JOBS_H
#define SHELL_JOBS_H

/*
 * Run argv (argc words; ops says which are the operators | < > >>, as
 * args_split gives them; NULL: all are words; `&` already taken out) as
 * a job: a command or a pipeline with its redirections (shell/pipeline.h).
 * A line that does not parse is refused with the reason (-EINVAL). In
 * the foreground the shell waits for it (Ctrl-C stops it; on a terminal
 * a long one shows its progress) and returns its result; in the
 * background it prints "[ID] COMMAND" and returns 0 once started.
 */
int jobs_run(int argc, char **argv, const unsigned char *ops,
	     int background);
/* Report background jobs that ended since the last call ("[ID] Done"),
 * before a prompt. */
void jobs_announce(void);
/* How many background jobs run now, the caller's own not counted. */
int jobs_running(void);
/* 1 when the calling task is a background job's (`CMD &`). */
int jobs_self_background(void);
/* Wait for every background job and forget them (end of the shell). */
void jobs_wait_all(void);
/* Stop every background job at its next safe point, wait for each and
 * forget them (poweroff, reboot). */
void jobs_stop_all(void);

int cmd_jobs(int argc, char **argv);
int cmd_wait(int argc, char **argv);

#endif
