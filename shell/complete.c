/*
 * Tab completion for the line editor. The word before the cursor is
 * completed as
 *   - a command when it is the line's first word (or the first after
 *     `btrfs`): the table's names, btrfs-progs' groups and commands;
 *   - a group's command when it follows a group's name (or prefix);
 *   - otherwise a path, when it starts with '/': the entries of its
 *     directory, found through the mount table.
 * One match is inserted whole, with a space after it (a '/' after a
 * directory); several insert their common prefix, or, when that adds
 * nothing, are listed under the line, which is then drawn again.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "line_edit.h"
#include "shell.h"

#define CHOICES_MAX 256		/* names listed at most */

struct choices {
	const char *word;	/* what is typed so far */
	size_t len;
	const char *first;	/* the first match */
	size_t common;		/* length all matches share */
	int n;			/* matches */
	int dir;		/* the only match is a directory */
	int list;		/* print each match (second Tab pass) */
	char *copy;		/* first, owned (path entries go away) */
};

static void offer(struct choices *c, const char *name, int dir)
{
	size_t i;

	if (strncmp(name, c->word, c->len))
		return;
	if (c->list) {
		con_printf("%s%s  ", name, dir ? "/" : "");
		return;
	}
	if (c->n++ == 0) {
		kfree(c->copy);
		c->copy = kmalloc(strlen(name) + 1);
		if (c->copy)
			strcpy(c->copy, name);
		c->first = c->copy;
		c->common = c->copy ? strlen(name) : 0;
		c->dir = dir;
		return;
	}
	for (i = 0; i < c->common && c->first[i] == name[i]; i++)
		;
	c->common = i;
}

static void offer_table(struct choices *c, const struct shell_cmd *t)
{
	for (; t && t->name; t++)
		if (t->usage)
			offer(c, t->name, 0);
}

/* The command names a first word may be. */
static void offer_commands(struct choices *c, int btrfs)
{
	const struct shell_group *g;

	for (g = shell_groups; g->name; g++)
		offer(c, g->name, 0);
	offer_table(c, shell_btrfs_commands);
	if (btrfs) {
		offer(c, "help", 0);
		offer(c, "version", 0);
		return;
	}
	offer(c, "btrfs", 0);
	offer_table(c, shell_commands);
	offer_table(c, shell_extra());
}

static int offer_entry(void *ctx, const char *name, size_t len,
		       struct fs_ino ino, unsigned type)
{
	(void)len;
	(void)ino;
	offer(ctx, name, type == FS_FT_DIR);
	return 0;
}

/* The entries of the directory part of the path c->word; c->word and
 * c->len are moved to its last component. */
static void offer_path(struct choices *c)
{
	const char *slash = c->word, *inner, *p;
	struct fs_info *fs;
	struct fs_ino ino;
	char dir[512];

	for (p = c->word; p < c->word + c->len; p++)
		if (*p == '/')
			slash = p;
	if ((size_t)(slash - c->word) >= sizeof(dir))
		return;
	memcpy(dir, c->word, slash - c->word);
	dir[slash - c->word] = 0;
	if (!dir[0])
		strcpy(dir, "/");
	c->len -= slash + 1 - c->word;
	c->word = slash + 1;
	fs = cmd_fs_path("complete", dir, &inner);
	if (fs && fs_lookup(fs, inner, FS_LOOKUP_FOLLOW, &ino) == 0)
		fs_readdir(fs, ino, offer_entry, c);
}

/* Fill c for the word before the cursor of le. The words before it are
 * split at spaces only (quotes are not followed: completion is a help,
 * not the parser); line is scratch of SHELL_LINE_MAX bytes. */
static void gather(struct line_edit *le, struct choices *c, char *line)
{
	const struct shell_group *g;
	const struct shell_cmd *cmd;
	char *words[2] = { NULL, NULL }, *p;
	size_t ws = le->cursor;
	int n = 0, btrfs;

	while (ws > 0 && le->buf[ws - 1] != ' ')
		ws--;
	c->word = le->buf + ws;
	c->len = le->cursor - ws;
	memcpy(line, le->buf, ws);
	line[ws] = 0;
	for (p = line; *p; ) {
		while (*p == ' ')
			*p++ = 0;
		if (!*p)
			break;
		if (n < 2)
			words[n] = p;
		n++;
		while (*p && *p != ' ')
			p++;
	}
	btrfs = n > 0 && !strcmp(words[0], "btrfs");
	if (n == btrfs)
		offer_commands(c, btrfs);
	else if (n == btrfs + 1 && c->word[0] != '/' &&
		 (btrfs || !shell_find(words[0])) &&
		 !shell_lookup_btrfs(words[btrfs], &g, &cmd) && g)
		offer_table(c, g->cmds);
	else if (c->word[0] == '/')
		offer_path(c);
}

void line_edit_complete(struct line_edit *le)
{
	struct choices c;
	char *line = kmalloc(SHELL_LINE_MAX);

	if (!line)
		return;
	memset(&c, 0, sizeof(c));
	gather(le, &c, line);
	if (c.n == 1) {
		line_edit_insert(le, c.first + c.len, strlen(c.first) - c.len);
		line_edit_insert(le, c.dir ? "/" : " ", 1);
	} else if (c.n > 1 && c.common > c.len) {
		line_edit_insert(le, c.first + c.len, c.common - c.len);
	} else if (c.n > 1) {
		con_printf("\n");
		c.list = 1;
		gather(le, &c, line);
		con_printf("\n");
		line_edit_redraw(le);
	}
	kfree(c.copy);
	kfree(line);
}
