/*
 * The shell loop: print the prompt, read a line with the editor, split it,
 * and run it as a job (shell/jobs.c), which finds the command in the
 * table, checks the argument count and runs it.
 *
 * Error contract with the handlers (see struct shell_cmd): a handler prints
 * its own message and returns a negative errno; -EINVAL means "bad
 * arguments", and the shell then adds the usage line.
 *
 * Finding a command: an exact name wins; otherwise a word may be a prefix
 * of exactly one btrfs-progs name (a group, check, send, receive), and
 * within a group a prefix of exactly one subcommand. Coreutils-like names
 * are never completed from a prefix, so a typo cannot run another command.
 */
#include <errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/system.h>

#include "args.h"
#include "cmd_fs.h"
#include "jobs.h"
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

/* The row of table named exactly name, or NULL. */
static const struct shell_cmd *find_exact(const struct shell_cmd *table,
					  const char *name)
{
	const struct shell_cmd *c;

	for (c = table; c && c->name; c++)
		if (c->usage && strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

const struct shell_cmd *shell_lookup(const struct shell_cmd *table,
				     const char *name, int *ambiguous)
{
	const struct shell_cmd *c, *found = find_exact(table, name);
	size_t len = strlen(name);
	int n = 0;

	if (ambiguous)
		*ambiguous = 0;
	if (found)
		return found;
	for (c = table; len && c->name; c++) {
		if (c->usage && strncmp(c->name, name, len) == 0) {
			found = c;
			n++;
		}
	}
	if (ambiguous)
		*ambiguous = n > 1;
	return n == 1 ? found : NULL;
}

const struct shell_cmd *shell_find(const char *name)
{
	const struct shell_cmd *c = find_exact(shell_commands, name);

	return c ? c : find_exact(extra_commands, name);
}

int shell_lookup_btrfs(const char *name, const struct shell_group **group,
		       const struct shell_cmd **cmd)
{
	const struct shell_group *g;
	int ambiguous, n;

	*group = NULL;
	*cmd = NULL;
	if (!strcmp(name, "help") || !strcmp(name, "version")) {
		*cmd = shell_find(name);
		return 0;
	}
	for (g = shell_groups; g->name; g++)
		if (!strcmp(g->name, name)) {
			*group = g;
			return 0;
		}
	*cmd = shell_lookup(shell_btrfs_commands, name, &ambiguous);
	n = *cmd ? 1 : ambiguous ? 2 : 0;
	if (*cmd && !strcmp((*cmd)->name, name))
		return 0;
	for (g = shell_groups; name[0] && g->name; g++)
		if (!strncmp(g->name, name, strlen(name))) {
			*group = g;
			n++;
		}
	if (n == 1)
		return 0;
	*group = NULL;
	*cmd = NULL;
	return n ? -EAGAIN : -ENOENT;
}

void shell_print_usage(const struct shell_group *group,
		       const struct shell_cmd *cmd)
{
	con_printf("usage: %s%s%s%s%s\n", group ? group->name : "",
		   group ? " " : "", cmd->name, cmd->usage[0] ? " " : "",
		   cmd->usage);
}

/* The usage line after bad arguments: an error message. */
static void usage_error(const struct shell_group *group,
			const struct shell_cmd *cmd)
{
	con_eprintf("usage: %s%s%s%s%s\n", group ? group->name : "",
		    group ? " " : "", cmd->name, cmd->usage[0] ? " " : "",
		    cmd->usage);
}

/* Say which btrfs-progs names (top level when group is NULL) start with
 * name: name was an ambiguous prefix. */
static void print_candidates(const struct shell_group *group,
			     const char *name)
{
	const struct shell_group *g;
	const struct shell_cmd *c;
	size_t len = strlen(name);

	con_eprintf("Did you mean one of these?\n");
	for (g = shell_groups; !group && g->name; g++)
		if (!strncmp(g->name, name, len))
			con_eprintf("\t%s\n", g->name);
	for (c = group ? group->cmds : shell_btrfs_commands; c->name; c++)
		if (!strncmp(c->name, name, len))
			con_eprintf("\t%s\n", c->name);
}

/* Check the argument count and run one command (of group, or NULL). */
static int run_cmd(const struct shell_group *group, const struct shell_cmd *cmd,
		   int argc, char **argv)
{
	int ret;

	if (group && argc == 2 && !strcmp(argv[1], "--help")) {
		shell_print_usage(group, cmd);
		con_printf("%s\n", cmd->help);
		return 0;
	}
	if (!cmd->run) {
		con_eprintf("%s%s%s: not implemented yet\n",
			    group ? group->name : "", group ? " " : "",
			    cmd->name);
		return -EOPNOTSUPP;
	}
	if (argc - 1 < cmd->min_args ||
	    (cmd->max_args >= 0 && argc - 1 > cmd->max_args)) {
		con_eprintf("%s%s%s: wrong number of arguments\n",
			    group ? group->name : "", group ? " " : "",
			    cmd->name);
		usage_error(group, cmd);
		return -EINVAL;
	}
	ret = cmd->run(argc, argv);
	if (ret == -EINVAL)
		usage_error(group, cmd);
	return ret;
}

/* A group's command line: argv[0] the group, argv[1] the subcommand. */
static int run_group(const struct shell_group *group, int argc, char **argv)
{
	const struct shell_cmd *sub;
	int ambiguous;

	if (argc < 2) {
		con_eprintf("%s: which command? ('help %s' lists them)\n",
			    group->name, group->name);
		return -EINVAL;
	}
	sub = shell_lookup(group->cmds, argv[1], &ambiguous);
	if (!sub) {
		con_eprintf("%s: %s command '%s' ('help %s' lists them)\n",
			    group->name, ambiguous ? "ambiguous" : "unknown",
			    argv[1], group->name);
		if (ambiguous)
			print_candidates(group, argv[1]);
		return -ENOENT;
	}
	return run_cmd(group, sub, argc - 1, argv + 1);
}

int shell_run_argv(int argc, char **argv)
{
	const struct shell_group *group = NULL;
	const struct shell_cmd *cmd = NULL;
	int btrfs = strcmp(argv[0], "btrfs") == 0, ret = 0;

	if (btrfs && argc == 1) {
		con_eprintf("usage: btrfs GROUP COMMAND [ARG...] ('help' lists "
			    "the groups)\n");
		return -EINVAL;
	}
	argc -= btrfs;
	argv += btrfs;
	if (!btrfs)
		cmd = shell_find(argv[0]);
	if (!cmd)
		ret = shell_lookup_btrfs(argv[0], &group, &cmd);
	if (ret == -EAGAIN) {
		con_eprintf("error: ambiguous command '%s'\n", argv[0]);
		print_candidates(NULL, argv[0]);
		return -ENOENT;
	}
	if (ret) {
		con_eprintf("error: unknown command '%s' (type 'help' for a "
			    "list)\n", argv[0]);
		return -ENOENT;
	}
	if (group)
		return run_group(group, argc, argv);
	return run_cmd(NULL, cmd, argc, argv);
}

int shell_run_line(char *line)
{
	char *argv[SHELL_ARGS_MAX];
	unsigned char ops[SHELL_ARGS_MAX];
	int argc, background, i;

	argc = args_split(line, argv, ops, SHELL_ARGS_MAX);
	if (argc <= 0)
		return argc;
	background = ops[argc - 1] == ARGS_BG;
	argc -= background;
	for (i = 0; i < argc; i++) {
		if (ops[i] != ARGS_BG)
			continue;
		con_eprintf("error: '&' only ends a line\n");
		return -EINVAL;
	}
	if (argc == 0) {
		con_eprintf("error: '&' without a command\n");
		return -EINVAL;
	}
	return jobs_run(argc, argv, ops, background);
}

/*
 * The kernel command line's mount=DISK (scripts/run.sh gives mount=vda to
 * an interactive `make run`): mount DISK at / before the first prompt,
 * when it holds a filesystem (else mount says why not). Not by default:
 * scripts and tests make and mount their filesystems themselves, and a
 * disk mounted behind their back would refuse their mkfs and mount.
 */
static void boot_mount(void)
{
	const char *c = sys_cmdline(), *p, *last = NULL;
	char disk[16], word[] = "mount";
	char *argv[] = { word, disk, NULL };
	size_t n;

	for (p = c; (p = strstr(p, "mount=")) != NULL; p += 6)
		if (p == c || p[-1] == ' ')
			last = p + 6;	/* the last one counts */
	if (!last)
		return;
	p = last;
	n = strcspn(p, " ");
	if (n == 4 && !strncmp(p, "none", 4))
		return;
	if (n == 0 || n >= sizeof(disk)) {
		con_eprintf("boot: mount=%.*s: no such disk\n", (int)n, p);
		return;
	}
	memcpy(disk, p, n);
	disk[n] = 0;
	jobs_run(2, argv, NULL, 0);
}

int shell_main(void)
{
	struct line_edit *le = kmalloc(sizeof(*le));
	int failed = 0, ret;

	if (!le) {
		con_eprintf("error: no memory for the shell\n");
		return 1;
	}
	line_edit_init(le);
	le->prompt = PROMPT;
	boot_mount();
	for (;;) {
		jobs_announce();
		con_write(PROMPT, strlen(PROMPT));
		ret = line_edit_read(le);
		if (ret == -ENODATA)
			break;
		if (ret == 0 && shell_run_line(le->buf) < 0)
			failed++;
	}
	jobs_wait_all();
	cmd_fs_reset();	/* end of input: commit and unmount everything */
	line_edit_free(le);
	kfree(le);
	return failed;
}

static int is_valued(const char *opt, const char *const *valued)
{
	for (; *valued; valued++)
		if (!strcmp(opt, *valued))
			return 1;
	return 0;
}

void shell_options_first(int argc, char **argv, const char *const *valued)
{
	char *rest[SHELL_ARGS_MAX], *dashdash = NULL;
	int i, nopt = 1, nrest = 0;

	for (i = 1; i < argc && i < SHELL_ARGS_MAX; i++) {
		if (!dashdash && !strcmp(argv[i], "--")) {
			dashdash = argv[i];
		} else if (dashdash || argv[i][0] != '-' || !argv[i][1]) {
			rest[nrest++] = argv[i];
		} else {
			argv[nopt++] = argv[i];
			if (is_valued(argv[i], valued) && i + 1 < argc)
				argv[nopt++] = argv[++i];
		}
	}
	if (dashdash)
		argv[nopt++] = dashdash;
	memcpy(argv + nopt, rest, (size_t)nrest * sizeof(*rest));
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
	con_eprintf("error: malformed number '%s' for %s\n", s, what);
	return -EINVAL;
}
