/*
 * Line editor for the shell, for VT100-style terminals: insert anywhere,
 * backspace and delete, left/right, Ctrl-A/Ctrl-E (start/end), Ctrl-U (kill
 * to start), Ctrl-C (drop the line), Ctrl-D (end of input on an empty
 * line), up/down through the history, Tab (completion, on a terminal). Input that is not a terminal (a
 * script piped in) goes through the same code: its bytes are echoed, so a
 * transcript shows each command after its prompt.
 *
 * A line longer than SHELL_LINE_MAX - 1 bytes is refused whole: the editor
 * stops storing and echoing at the limit, swallows the rest up to the end
 * of the line, then reports the error, so the next line starts clean.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "line_edit.h"

#define CTRL(c) ((c) & 0x1f)
#define KEY_DEL 0x7f
#define KEY_ESC 0x1b

void line_edit_init(struct line_edit *le)
{
	memset(le, 0, sizeof(*le));
	le->complete = con_is_terminal();
	le->prompt = "";
}

void line_edit_free(struct line_edit *le)
{
	int i;

	for (i = 0; i < le->nr_history; i++)
		kfree(le->history[i]);
	le->nr_history = 0;
}

static void move_left(size_t n)
{
	if (n)
		con_printf("\x1b[%zuD", n);
}

/* Redraw from the cursor to the end of the line, clear what is left of
 * the old text, and put the terminal cursor back at le->cursor. */
static void redraw_tail(struct line_edit *le)
{
	con_write(le->buf + le->cursor, le->len - le->cursor);
	con_write("\x1b[K", 3);
	move_left(le->len - le->cursor);
}

/* Replace the whole line with s (history browsing). */
static void replace_line(struct line_edit *le, const char *s)
{
	move_left(le->cursor);
	le->len = strlen(s);
	memcpy(le->buf, s, le->len + 1);
	le->cursor = 0;
	redraw_tail(le);
	con_write(le->buf, le->len);
	le->cursor = le->len;
}

static void insert_char(struct line_edit *le, char c)
{
	if (le->len >= SHELL_LINE_MAX - 1) {
		le->too_long = 1;
		return;
	}
	memmove(le->buf + le->cursor + 1, le->buf + le->cursor,
		le->len - le->cursor + 1);
	le->buf[le->cursor] = c;
	le->len++;
	con_write(&c, 1);
	le->cursor++;
	if (le->cursor < le->len)
		redraw_tail(le);
}

void line_edit_insert(struct line_edit *le, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		insert_char(le, s[i]);
}

void line_edit_redraw(struct line_edit *le)
{
	con_printf("%s", le->prompt);
	con_write(le->buf, le->len);
	move_left(le->len - le->cursor);
}

static void delete_at(struct line_edit *le, size_t pos)
{
	memmove(le->buf + pos, le->buf + pos + 1, le->len - pos);
	le->len--;
}

static void history_add(struct line_edit *le)
{
	char *copy;

	if (le->len == 0 || le->too_long)
		return;
	if (le->nr_history &&
	    strcmp(le->history[le->nr_history - 1], le->buf) == 0)
		return;
	copy = kmalloc(le->len + 1);
	if (!copy)
		return;	/* history is a convenience: skip the line */
	memcpy(copy, le->buf, le->len + 1);
	if (le->nr_history == HISTORY_MAX) {
		kfree(le->history[0]);
		memmove(le->history, le->history + 1,
			(HISTORY_MAX - 1) * sizeof(char *));
		le->nr_history--;
	}
	le->history[le->nr_history++] = copy;
}

static void history_step(struct line_edit *le, int dir)
{
	int to = le->browse + dir;

	if (to < 0 || to > le->nr_history)
		return;
	le->browse = to;
	replace_line(le, to == le->nr_history ? "" : le->history[to]);
}

/* Handle the rest of an escape sequence (ESC already read). */
static void escape_sequence(struct line_edit *le)
{
	int c = con_getc(), arg = 0;

	if (c != '[' && c != 'O')
		return;
	while ((c = con_getc()) >= '0' && c <= '9')
		arg = arg * 10 + (c - '0');
	if (c == '~' && arg == 3)
		c = 'x';	/* Delete key */
	else if (c == '~' && (arg == 1 || arg == 7))
		c = 'H';
	else if (c == '~' && (arg == 4 || arg == 8))
		c = 'F';
	switch (c) {
	case 'A':
		history_step(le, -1);
		break;
	case 'B':
		history_step(le, 1);
		break;
	case 'C':
		if (le->cursor < le->len) {
			con_write("\x1b[C", 3);
			le->cursor++;
		}
		break;
	case 'D':
		if (le->cursor > 0) {
			move_left(1);
			le->cursor--;
		}
		break;
	case 'H':
		move_left(le->cursor);
		le->cursor = 0;
		break;
	case 'F':
		con_write(le->buf + le->cursor, le->len - le->cursor);
		le->cursor = le->len;
		break;
	case 'x':
		if (le->cursor < le->len) {
			delete_at(le, le->cursor);
			redraw_tail(le);
		}
		break;
	}
}

/* Apply one control or printable byte. */
static void edit_key(struct line_edit *le, int c)
{
	switch (c) {
	case CTRL('A'):
		move_left(le->cursor);
		le->cursor = 0;
		break;
	case CTRL('E'):
		con_write(le->buf + le->cursor, le->len - le->cursor);
		le->cursor = le->len;
		break;
	case CTRL('U'):
		move_left(le->cursor);
		memmove(le->buf, le->buf + le->cursor, le->len - le->cursor + 1);
		le->len -= le->cursor;
		le->cursor = 0;
		redraw_tail(le);
		break;
	case CTRL('H'):
	case KEY_DEL:
		if (le->cursor == 0)
			break;
		le->cursor--;
		delete_at(le, le->cursor);
		move_left(1);
		redraw_tail(le);
		break;
	case KEY_ESC:
		escape_sequence(le);
		break;
	case '\t':
		if (le->complete) {
			line_edit_complete(le);
			break;
		}
		insert_char(le, (char)c);
		break;
	default:
		if (c >= 0x20 || c == '\t')
			insert_char(le, (char)c);
		break;
	}
}

int line_edit_read(struct line_edit *le)
{
	int c;

	le->len = le->cursor = 0;
	le->buf[0] = 0;
	le->too_long = 0;
	le->browse = le->nr_history;
	for (;;) {
		c = con_getc();
		if (c == '\n' && le->last_cr) {
			le->last_cr = 0;
			continue;
		}
		le->last_cr = c == '\r';
		if (c == CON_EOF && le->len > 0)
			break;	/* run the unfinished last line first */
		if (c == CON_EOF || (c == CTRL('D') && le->len == 0)) {
			con_write("\n", 1);
			return -ENODATA;
		}
		if (c == '\r' || c == '\n')
			break;
		if (c == CTRL('C')) {
			con_write("^C\n", 3);
			return -EINTR;
		}
		edit_key(le, c);
	}
	con_write("\n", 1);
	if (le->too_long) {
		con_eprintf("error: line too long (more than %d bytes); "
			    "ignored\n", SHELL_LINE_MAX - 1);
		return -E2BIG;
	}
	history_add(le);
	return 0;
}
