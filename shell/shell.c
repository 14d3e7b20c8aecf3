/*
 * The shell loop: print the prompt, read a line with the editor, split it,
 * find the command in the table, check the argument count, run it.
 *
 * Error contract with the handlers (see struct shell_cmd): a handler prints
 * its own message and returns a negative errno; -EINVAL means "bad
 * arguments", and the shell then adds the usage line.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "args.h"
#include "line_edit.h"
#include "shell.h"

#define PROMPT "ghee> "

/* Commands added by the program (shell_register_extra), or NULL. */
static const struct shell_cmd *extra_commands;

void shell_register_extra(const struct shell_cmd *table)
{
	extra_commands = table;
}

const struct shell_cmd *shell_extra(void)
{
	return extra_commands;
}

const struct shell_cmd *shell_find(const char *name)
{
	const struct shell_cmd *c;

	for (c = shell_commands; c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	for (c = extra_commands; c && c->name; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void shell_print_usage(const struct shell_cmd *cmd)
{
	con_printf("usage: %s%s%s\n", cmd->name, cmd->usage[0] ? " " : "",
		   cmd->usage);
}

int shell_run_argv(int argc, char **argv)
{
	const struct shell_cmd *cmd = shell_find(argv[0]);
	int ret;

	if (!cmd) {
		con_printf("error: unknown command '%s' (type 'help' for a "
			   "list)\n", argv[0]);
		return -ENOENT;
	}
	if (argc - 1 < cmd->min_args ||
	    (cmd->max_args >= 0 && argc - 1 > cmd->max_args)) {
		con_printf("%s: wrong number of arguments\n", cmd->name);
		shell_print_usage(cmd);
		return -EINVAL;
	}
	ret = cmd->run(argc, argv);
	if (ret == -EINVAL)
		shell_print_usage(cmd);
	return ret;
}

int shell_run_line(char *line)
{
	char *argv[SHELL_ARGS_MAX];
	int argc;

	argc = args_split(line, argv, SHELL_ARGS_MAX);
	if (argc <= 0)
		return argc;
	return shell_run_argv(argc, argv);
}

int shell_main(void)
{
	struct line_edit *le = kmalloc(sizeof(*le));
	int failed = 0, ret;

	if (!le) {
		con_printf("error: no memory for the shell\n");
		return 1;
	}
	line_edit_init(le);
	for (;;) {
		con_write(PROMPT, strlen(PROMPT));
		ret = line_edit_read(le);
		if (ret == -ENODATA)
			break;
		if (ret == 0 && shell_run_line(le->buf) < 0)
			failed++;
	}
	line_edit_free(le);
	kfree(le);
	return failed;
}

int shell_parse_u64(const char *s, const char *what, uint64_t *out)
{
	static const char suffixes[] = "KMGT";
	const char *suffix;
	uint64_t v = 0, base = 10, d, mult = 1;
	const char *p = s, *digits;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (digits = p; *p; p++) {
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			goto bad;
		v = v * base + d;
	}
	if (p == digits)
		goto bad;
	if (*p) {
		suffix = strchr(suffixes, *p >= 'a' ? *p - 32 : *p);
		if (!suffix || p[1])
			goto bad;
		mult = 1ull << (10 * (suffix - suffixes + 1));
		if (v > UINT64_MAX / mult)
			goto bad;
	}
	*out = v * mult;
	return 0;
bad:
	con_printf("error: malformed number '%s' for %s\n", s, what);
	return -EINVAL;
}
