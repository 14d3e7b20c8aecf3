/*
 * The command shell: one table of commands (shell/commands.c), a line editor
 * (shell/line_edit.c) and an argument splitter (shell/args.c). The same code
 * runs in the kernel over the serial console and on the host over stdin.
 *
 * Commands come in two shapes. Coreutils-like commands (ls, cp, ...) are
 * rows of the table. btrfs-progs' commands are groups (filesystem,
 * subvolume, ...; shell/groups.c), each a table of subcommands dispatched
 * on the next word, as btrfs-progs does: `btrfs` may come first, and a
 * group or subcommand may be shortened to any prefix that names only one
 * (`btrfs fi df`, `sub snap -r`).
 */
#ifndef SHELL_SHELL_H
#define SHELL_SHELL_H

#include <stdint.h>

/* Longest command line, in bytes; longer lines are refused whole. */
#define SHELL_LINE_MAX 4096
/* Most arguments on one line, the command name included. */
#define SHELL_ARGS_MAX 64

struct shell_cmd {
	const char *name;	/* what the user types */
	const char *usage;	/* arguments, e.g. "DISK [ro]"; "" when none */
	const char *help;	/* one line saying what the command does */
	int min_args;		/* fewest arguments after the name */
	int max_args;		/* most arguments after the name; -1: no limit */
	/* argv[0] is the command name (for a subcommand, its own word).
	 * Returns 0 or a negative errno; the handler prints its own error
	 * message before failing. NULL: the command is planned but not
	 * implemented yet, and says so when run. */
	int (*run)(int argc, char **argv);
};

/* A row that is a heading for `help`, not a command (usage is NULL). */
#define SHELL_HEADING(title) { "", NULL, title, 0, 0, NULL }

/* A btrfs-progs command group: "filesystem" and its subcommands. */
struct shell_group {
	const char *name;
	const char *help;		/* one line: what its commands do */
	const struct shell_cmd *cmds;	/* ended by a NULL name */
};

/* The groups (shell/groups.c), ended by a NULL name, and btrfs-progs'
 * top-level commands that are no group (check, send, receive). */
extern const struct shell_group shell_groups[];
extern const struct shell_cmd shell_btrfs_commands[];

/* The table, ended by an entry with name NULL. */
extern const struct shell_cmd shell_commands[];

/*
 * Add a second table (ended by a NULL name) of commands only one program
 * has, such as the host tool's import and export, which copy host files
 * and so cannot be in the kernel's table. shell_find() looks there after
 * shell_commands; names must not repeat. One extra table at a time; set
 * it before shell_main().
 */
void shell_register_extra(const struct shell_cmd *table);
/* The extra table, or NULL. */
const struct shell_cmd *shell_extra(void);

/* Read commands from the console and run them until EOF or poweroff.
 * Returns the number of commands that failed. */
int shell_main(void);
/* Split and run one line. Returns the command's result. */
int shell_run_line(char *line);
/* Run the command argv[0] with its arguments (checked against the table;
 * `btrfs` first, groups and prefixes as above). Returns the command's
 * result. */
int shell_run_argv(int argc, char **argv);
/* The top-level command named exactly name, or NULL. */
const struct shell_cmd *shell_find(const char *name);
/*
 * Find name in table (ended by a NULL name): the row named so, else the
 * only row whose name starts with name. NULL when none or several match
 * (*ambiguous then set to 1 when several did, if ambiguous is not NULL).
 * Headings never match.
 */
const struct shell_cmd *shell_lookup(const struct shell_cmd *table,
				     const char *name, int *ambiguous);
/*
 * Find a btrfs-progs top-level name (a group, check, send, receive; help
 * and version): exact, else the only one name starts with. Sets *group
 * or *cmd (the other NULL); returns 0, -ENOENT or -EAGAIN (ambiguous).
 */
int shell_lookup_btrfs(const char *name, const struct shell_group **group,
		       const struct shell_cmd **cmd);
/* Print "usage: [GROUP ]NAME USAGE"; group is NULL for a top-level one. */
void shell_print_usage(const struct shell_group *group,
		       const struct shell_cmd *cmd);
/* `help` (shell/help.c). */
int cmd_help(int argc, char **argv);

/*
 * Parse an unsigned number: decimal, 0x hex, with an optional K/M/G/T suffix
 * (powers of 1024). On error print "NAME: malformed number 'S'" and return
 * -EINVAL. what names the argument in the message.
 */
int shell_parse_u64(const char *s, const char *what, uint64_t *out);

/*
 * Put the options first, as GNU getopt does for btrfs-progs (`send -p A
 * B -f OUT` is `send -p A -f OUT B`): the words starting with '-', each
 * with the word after it when it is one of valued (a NULL-ended list),
 * move before the other arguments; both keep their order. A "--" ends
 * the options: it comes right after them, what follows it joins the
 * other arguments (a parser that takes no "--" then refuses the line
 * rather than reading a name as an option). argv[0] stays.
 */
void shell_options_first(int argc, char **argv, const char *const *valued);

#endif
