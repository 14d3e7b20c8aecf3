/*
 * The command shell: one table of commands (shell/commands.c), a line editor
 * (shell/line_edit.c) and an argument splitter (shell/args.c). The same code
 * runs in the kernel over the serial console and on the host over stdin.
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
	/* argv[0] is the command name. Returns 0 or a negative errno; the
	 * handler prints its own error message before failing. */
	int (*run)(int argc, char **argv);
};

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
/* Run the command argv[0] with its arguments (checked against the table).
 * Returns the command's result. */
int shell_run_argv(int argc, char **argv);
const struct shell_cmd *shell_find(const char *name);
/* Print "usage: NAME USAGE". */
void shell_print_usage(const struct shell_cmd *cmd);

/*
 * Parse an unsigned number: decimal, 0x hex, with an optional K/M/G/T suffix
 * (powers of 1024). On error print "NAME: malformed number 'S'" and return
 * -EINVAL. what names the argument in the message.
 */
int shell_parse_u64(const char *s, const char *what, uint64_t *out);

#endif
