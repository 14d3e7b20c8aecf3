/*
 * `help`: btrfs-progs' groups, then the other commands under their
 * headings, one line each (`help`); a group's commands with their usage
 * (`help GROUP`); one command's usage and what it does (`help CMD`,
 * `help GROUP CMD`). Names are found as the shell finds them, prefixes
 * included.
 */
#include <errno.h>
#include <string.h>

#include <ghee/console.h>

#include "shell.h"

static void list_table(const struct shell_cmd *table)
{
	const struct shell_cmd *c;

	for (c = table; c && c->name; c++) {
		if (!c->usage)
			con_printf("%s:\n", c->help);
		else
			con_printf("  %-16s %s%s\n", c->name, c->help,
				   c->run ? "" : " (not implemented yet)");
	}
}

static void list_all(void)
{
	const struct shell_group *g;

	con_printf("btrfs-progs groups ('btrfs' may come first; names may be "
		   "shortened to a unique prefix):\n");
	for (g = shell_groups; g->name; g++)
		con_printf("  %-16s %s\n", g->name, g->help);
	list_table(shell_btrfs_commands);
	list_table(shell_commands);
	if (shell_extra()) {
		con_printf("this program only:\n");
		list_table(shell_extra());
	}
	con_printf("'help GROUP' lists a group's commands; 'help CMD' shows "
		   "how to use one.\n");
}

static void show_one(const struct shell_group *group,
		     const struct shell_cmd *c)
{
	shell_print_usage(group, c);
	con_printf("    %s%s\n", c->help, c->run ? "" : " (not implemented yet)");
}

static void show_group(const struct shell_group *group)
{
	const struct shell_cmd *c;

	con_printf("%s: %s\n", group->name, group->help);
	for (c = group->cmds; c->name; c++) {
		con_printf("  %s %s%s%s\n", group->name, c->name,
			   c->usage[0] ? " " : "", c->usage);
		con_printf("      %s%s\n", c->help,
			   c->run ? "" : " (not implemented yet)");
	}
}

int cmd_help(int argc, char **argv)
{
	const struct shell_group *group = NULL;
	const struct shell_cmd *c;

	if (argc == 1) {
		list_all();
		return 0;
	}
	c = shell_find(argv[1]);
	if (!c && shell_lookup_btrfs(argv[1], &group, &c)) {
		con_eprintf("help: no command or group '%s'\n", argv[1]);
		return -ENOENT;
	}
	if (argc == 2) {
		if (group)
			show_group(group);
		else
			show_one(NULL, c);
		return 0;
	}
	c = group ? shell_lookup(group->cmds, argv[2], NULL) : NULL;
	if (!c) {
		con_eprintf("help: %s has no command '%s'\n", argv[1], argv[2]);
		return -ENOENT;
	}
	show_one(group, c);
	return 0;
}
