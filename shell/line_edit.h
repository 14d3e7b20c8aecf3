#ifndef SHELL_LINE_EDIT_H
#define SHELL_LINE_EDIT_H

#include <stddef.h>

#include "shell.h"

#define HISTORY_MAX 32	/* lines kept for up/down */

struct line_edit {
	char buf[SHELL_LINE_MAX];	/* the line being edited, NUL-ended */
	size_t len;			/* bytes in buf */
	size_t cursor;			/* insertion point, 0..len */
	int too_long;			/* input went past SHELL_LINE_MAX - 1 */
	int last_cr;			/* previous byte was '\r' (skip a '\n') */
	char *history[HISTORY_MAX];	/* oldest first; kmalloc'd copies */
	int nr_history;
	int browse;			/* history index shown; nr_history: none */
	int complete;			/* Tab completes (a terminal); else it is
					 * a character like any other */
	const char *prompt;		/* shown again after a completion list */
};

/* Tab completes when the console is a terminal (le->complete). */
void line_edit_init(struct line_edit *le);
void line_edit_free(struct line_edit *le);
/*
 * Read one line from the console with editing. Returns 0 with the line in
 * le->buf, -EINTR after Ctrl-C, -E2BIG for a line longer than
 * SHELL_LINE_MAX - 1 (message printed; the whole line was discarded), or
 * -ENODATA at end of input (Ctrl-D on an empty line, or EOF).
 */
int line_edit_read(struct line_edit *le);

/* For completion (shell/complete.c): insert s at the cursor, and draw the
 * prompt and the line again on a new line (after a list of choices). */
void line_edit_insert(struct line_edit *le, const char *s, size_t n);
void line_edit_redraw(struct line_edit *le);

/* Complete the word before the cursor: a command, a group's command or a
 * path (shell/complete.c). */
void line_edit_complete(struct line_edit *le);

#endif
