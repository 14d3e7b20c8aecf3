/*
 * How the shell shows a task's progress (shell/progress_view.c): one line
 * for `jobs` and `ps`, and for a long foreground command a bar redrawn in
 * place on a terminal, or a plain line every few seconds otherwise.
 */
#ifndef SHELL_PROGRESS_VIEW_H
#define SHELL_PROGRESS_VIEW_H

#include <stddef.h>
#include <stdint.h>

#define PROGRESS_LINE_MAX 160

/* "walking trees: 3/9 trees (33%), 120 trees/s, 1s left" for task id,
 * or "" when it reports no progress. */
void progress_view_line(int id, char *out, size_t n);

/* The display of one foreground command's progress. */
struct progress_view {
	int id;			/* the command's task */
	int terminal;		/* the console is a terminal: redraw a bar */
	int drawn;		/* a bar is on the screen now */
	uint64_t start_ns;	/* when the command started */
	uint64_t last_ns;	/* when the last plain line was printed */
};

void progress_view_begin(struct progress_view *v, int id);
/* Called every fraction of a second while the command runs. */
void progress_view_update(struct progress_view *v);
/* The command ended: take the bar off the screen. */
void progress_view_end(struct progress_view *v);

#endif
