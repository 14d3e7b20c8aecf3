/* Shell: argument splitting, number parsing, the line editor and the
 * command table's error handling. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/task.h>

#include "../../shell/args.h"
#include "../../shell/line_edit.h"
#include "../../shell/shell.h"
#include "../../shell/units.h"
#include "shim/host.h"
#include "test.h"

TEST(shell, split_plain_and_quoted)
{
	char line[] = "  cmd a  'b c'\t\"d \\\"e\\\\\" f\\ g x'y'z ";
	char *argv[8];

	CHECK_EQ(args_split(line, argv, NULL, 8), 6);
	CHECK_STR(argv[0], "cmd");
	CHECK_STR(argv[1], "a");
	CHECK_STR(argv[2], "b c");
	CHECK_STR(argv[3], "d \"e\\");
	CHECK_STR(argv[4], "f g");
	CHECK_STR(argv[5], "xyz");
}

TEST(shell, split_hex_escapes)
{
	char line[] = "cat \"odd\\x01\\x7F\\xff\" \"\\x4\" 'a\\x41'";
	char *argv[4];

	CHECK_EQ(args_split(line, argv, NULL, 4), 4);
	CHECK_STR(argv[1], "odd\x01\x7f\xff");
	CHECK_STR(argv[2], "\\x4");	/* not two hex digits: kept */
	CHECK_STR(argv[3], "a\\x41");	/* single quotes: literal */
}

TEST(shell, split_errors)
{
	char unterminated[] = "echo 'abc";
	char many[] = "a b c d";
	char empty[] = "   ";
	char *argv[3];

	host_console_capture(1);
	CHECK_EQ(args_split(unterminated, argv, NULL, 3), -EINVAL);
	CHECK(strstr(host_console_output(), "unterminated quote"));
	CHECK_EQ(args_split(many, argv, NULL, 3), -E2BIG);
	CHECK_EQ(args_split(empty, argv, NULL, 3), 0);
	host_console_capture(0);
}

TEST(shell, parse_numbers)
{
	uint64_t v;

	CHECK_OK(shell_parse_u64("0", "N", &v));
	CHECK_EQ(v, 0);
	CHECK_OK(shell_parse_u64("4096", "N", &v));
	CHECK_EQ(v, 4096);
	CHECK_OK(shell_parse_u64("0x1F", "N", &v));
	CHECK_EQ(v, 31);
	CHECK_OK(shell_parse_u64("4k", "N", &v));
	CHECK_EQ(v, 4096);
	CHECK_OK(shell_parse_u64("2G", "N", &v));
	CHECK_EQ(v, 2ull << 30);
	CHECK_OK(shell_parse_u64("18446744073709551615", "N", &v));
	CHECK(v == UINT64_MAX);
	host_console_capture(1);
	CHECK_EQ(shell_parse_u64("", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("12x", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("K", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("0x", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("4KK", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("18446744073709551616", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("16777216T", "N", &v), -EINVAL);
	CHECK_EQ(shell_parse_u64("-1", "LEN", &v), -EINVAL);
	CHECK(strstr(host_console_output(), "malformed number '-1' for LEN"));
	host_console_capture(0);
}

/* Run the editor over input; return the first line's status. */
static int edit(struct line_edit *le, const char *input, size_t n)
{
	host_console_set_input(input, n);
	return line_edit_read(le);
}

TEST(shell, line_editing_keys)
{
	static struct line_edit le;

	line_edit_init(&le);
	host_console_capture(1);
	/* insert in the middle after moving left */
	CHECK_OK(edit(&le, "ac\x1b[Db\r", 7));
	CHECK_STR(le.buf, "abc");
	/* Ctrl-A, then type at the start; Ctrl-E, append */
	CHECK_OK(edit(&le, "bc\x01" "a\x05" "d\n", 7));
	CHECK_STR(le.buf, "abcd");
	/* backspace, both codes */
	CHECK_OK(edit(&le, "abx\x7f" "c\x08" "d\n", 8));
	CHECK_STR(le.buf, "abd");
	/* Ctrl-U kills to the start */
	CHECK_OK(edit(&le, "junk\x15" "ok\n", 8));
	CHECK_STR(le.buf, "ok");
	/* delete key under the cursor */
	CHECK_OK(edit(&le, "axb\x1b[D\x1b[D\x1b[3~\n", 13));
	CHECK_STR(le.buf, "ab");
	/* Ctrl-C drops the line */
	CHECK_EQ(edit(&le, "abc\x03", 4), -EINTR);
	/* "\r\n" is one line end, not two */
	CHECK_OK(edit(&le, "x\r\ny\n", 5));
	CHECK_STR(le.buf, "x");
	/* Ctrl-D on an empty line, and EOF, end the input */
	CHECK_EQ(edit(&le, "\x04", 1), -ENODATA);
	CHECK_EQ(edit(&le, "", 0), -ENODATA);
	/* EOF after an unfinished line still returns the line */
	CHECK_OK(edit(&le, "last", 4));
	CHECK_STR(le.buf, "last");
	host_console_capture(0);
	line_edit_free(&le);
}

TEST(shell, history_up_down)
{
	static struct line_edit le;

	line_edit_init(&le);
	host_console_capture(1);
	CHECK_OK(edit(&le, "one\n", 4));
	CHECK_OK(edit(&le, "two\n", 4));
	CHECK_OK(edit(&le, "\x1b[A\x1b[A\n", 7));
	CHECK_STR(le.buf, "one");
	/* history is now one, two, one: up, up, down lands on the last */
	CHECK_OK(edit(&le, "\x1b[A\x1b[A\x1b[B\n", 10));
	CHECK_STR(le.buf, "one");
	CHECK_OK(edit(&le, "\x1b[A\x1b[A\n", 7));
	CHECK_STR(le.buf, "two");
	host_console_capture(0);
	line_edit_free(&le);
}

TEST(shell, long_line_refused_whole)
{
	static struct line_edit le;
	static char input[65536 + 16];

	memset(input, 'x', 65536);
	memcpy(input + 65536, "\necho ok\n", 9);
	line_edit_init(&le);
	host_console_capture(1);
	host_console_set_input(input, 65536 + 9);
	CHECK_EQ(line_edit_read(&le), -E2BIG);
	CHECK(strstr(host_console_output(), "line too long"));
	CHECK_OK(line_edit_read(&le));
	CHECK_STR(le.buf, "echo ok");
	host_console_capture(0);
	line_edit_free(&le);
}

TEST(shell, table_errors_print_usage)
{
	char unknown[] = "frobnicate";
	char too_many[] = "version extra";
	char ok[] = "echo hi there";

	host_console_capture(1);
	CHECK_EQ(shell_run_line(unknown), -ENOENT);
	CHECK(strstr(host_console_output(), "unknown command 'frobnicate'"));
	host_console_capture(1);
	CHECK_EQ(shell_run_line(too_many), -EINVAL);
	CHECK(strstr(host_console_output(), "usage: version"));
	host_console_capture(1);
	CHECK_OK(shell_run_line(ok));
	CHECK_STR(host_console_output(), "hi there\n");
	host_console_capture(0);
}

TEST(shell, time_runs_the_command)
{
	char ok[] = "time echo timed";
	char bad[] = "time nosuch";

	host_console_capture(1);
	CHECK_OK(shell_run_line(ok));
	CHECK(strncmp(host_console_output(), "timed\ntime: ", 12) == 0);
	CHECK(strstr(host_console_output(), " ms\n"));
	host_console_capture(1);
	CHECK_EQ(shell_run_line(bad), -ENOENT);
	CHECK(strstr(host_console_output(), "unknown command 'nosuch'"));
	host_console_capture(0);
}

/* Each row documented; headings (usage NULL) are no commands. */
static void check_table(const struct shell_cmd *table, int need_run)
{
	const struct shell_cmd *c;

	for (c = table; c->name; c++) {
		CHECK(c->help && c->help[0]);
		if (!c->usage) {
			CHECK(!c->run && !c->name[0]);
			continue;
		}
		CHECK(c->name[0] && (c->run || !need_run));
		CHECK(c->max_args < 0 || c->max_args >= c->min_args);
		CHECK(shell_lookup(table, c->name, NULL) == c);
	}
}

TEST(shell, every_command_documented)
{
	const struct shell_group *g;
	const struct shell_cmd *c;

	check_table(shell_commands, 1);
	for (c = shell_commands; c->name; c++)
		CHECK(!c->usage || shell_find(c->name) == c);
	check_table(shell_btrfs_commands, 0);
	for (g = shell_groups; g->name; g++) {
		CHECK(g->help && g->help[0]);
		CHECK(!shell_find(g->name));
		check_table(g->cmds, 0);
	}
}

/* Run one line (a copy: the splitter writes into it) with the output
 * captured; returns its status. */
static int run(const char *line)
{
	static char buf[SHELL_LINE_MAX];

	strcpy(buf, line);
	host_console_capture(1);
	return shell_run_line(buf);
}

TEST(shell, btrfs_groups_and_prefixes)
{
	const struct shell_group *g;
	const struct shell_cmd *c;

	/* the btrfs word, group and subcommand prefixes, as btrfs-progs */
	CHECK_OK(shell_lookup_btrfs("fi", &g, &c));
	CHECK(g && !c && !strcmp(g->name, "filesystem"));
	CHECK_OK(shell_lookup_btrfs("inspect", &g, &c));
	CHECK(g && !strcmp(g->name, "inspect-internal"));
	CHECK_OK(shell_lookup_btrfs("che", &g, &c));
	CHECK(!g && c && !strcmp(c->name, "check"));
	CHECK_EQ(shell_lookup_btrfs("s", &g, &c), -EAGAIN);
	CHECK_EQ(shell_lookup_btrfs("ls", &g, &c), -ENOENT);
	CHECK_EQ(shell_lookup_btrfs("", &g, &c), -ENOENT);
	CHECK_OK(shell_lookup_btrfs("sub", &g, &c));
	c = shell_lookup(g->cmds, "snap", NULL);
	CHECK(c && !strcmp(c->name, "snapshot"));
	c = shell_lookup(g->cmds, "s", NULL);
	CHECK(!c);

	CHECK_EQ(run("btrfs bal start -dusage=50 /"), -ENOENT);
	CHECK(strstr(host_console_output(),
		     "balance start: /: no filesystem mounted there"));
	CHECK_EQ(run("btrfs ins min /"), -EOPNOTSUPP);
	CHECK_STR(host_console_output(),
		  "inspect-internal min-dev-size: not implemented yet\n");
	CHECK_EQ(run("btrfs s list"), -ENOENT);
	CHECK(strstr(host_console_output(), "ambiguous command 's'"));
	CHECK(strstr(host_console_output(), "\tsubvolume\n"));
	CHECK_EQ(run("btrfs ls /"), -ENOENT);
	CHECK(strstr(host_console_output(), "unknown command 'ls'"));
	CHECK_EQ(run("filesystem frob"), -ENOENT);
	CHECK(strstr(host_console_output(),
		     "filesystem: unknown command 'frob'"));
	CHECK_EQ(run("btrfs fi"), -EINVAL);
	CHECK(strstr(host_console_output(), "which command?"));
	CHECK_EQ(run("btrfs"), -EINVAL);
	CHECK(strstr(host_console_output(), "usage: btrfs GROUP"));
	/* a subcommand's bad arguments print its usage with the group */
	CHECK_EQ(run("fi df -x"), -EINVAL);
	CHECK(strstr(host_console_output(), "unknown option '-x'"));
	CHECK(strstr(host_console_output(),
		     "usage: filesystem df [-b|-h|-H|--iec|--si|-k|-m|-g|-t]"));
	CHECK_OK(run("btrfs fi df --help"));
	CHECK(!strncmp(host_console_output(), "usage: filesystem df ", 21));
	/* coreutils-like names are never completed from a prefix */
	CHECK_EQ(run("ech x"), -ENOENT);
	CHECK(strstr(host_console_output(), "unknown command 'ech'"));
	host_console_capture(0);
}

TEST(shell, help_levels)
{
	CHECK_OK(run("help"));
	CHECK(strstr(host_console_output(), "\n  filesystem       df, du, show"));
	CHECK(strstr(host_console_output(), "\n  ls               list"));
	CHECK(strstr(host_console_output(), "\nfiles and directories:\n"));
	CHECK_OK(run("help fi"));
	CHECK(!strncmp(host_console_output(), "filesystem: ", 12));
	CHECK(strstr(host_console_output(), "\n  filesystem sync [PATH]\n"));
	CHECK(!strstr(host_console_output(), "  ls "));
	CHECK_OK(run("help sub snap"));
	CHECK(!strncmp(host_console_output(),
		       "usage: subvolume snapshot [-r] ", 31));
	CHECK(!strstr(host_console_output(), "(not implemented yet)"));
	CHECK_OK(run("help ins tree"));
	CHECK(!strncmp(host_console_output(),
		       "usage: inspect-internal tree-stats ", 35));
	CHECK(strstr(host_console_output(), "(not implemented yet)"));
	CHECK_OK(run("help ls"));
	CHECK(!strncmp(host_console_output(), "usage: ls [-l] [-a] [PATH]\n", 27));
	CHECK_EQ(run("help nosuch"), -ENOENT);
	CHECK_EQ(run("help ls extra"), -ENOENT);
	CHECK_EQ(run("help fi nosuch"), -ENOENT);
	host_console_capture(0);
}

TEST(shell, units_like_btrfs_progs)
{
	char a[] = "df", b[] = "-b", k[] = "--si", m[] = "-m", p[] = "/x";
	char *argv[] = { a, k, p, m, b, NULL };
	char out[UNITS_STR_MAX];
	struct units u;

	/* options leave argv, the rest keeps its order; the last wins */
	CHECK_EQ(units_parse(5, argv, &u), 2);
	CHECK_STR(argv[1], "/x");
	CHECK_EQ(u.base, 1000);
	CHECK_EQ(u.power, 0);
	u.base = 1024;
	u.power = -1;
	units_format(&u, 0, out, sizeof(out));
	CHECK_STR(out, "0.00B");
	units_format(&u, 16384, out, sizeof(out));
	CHECK_STR(out, "16.00KiB");
	/* figures btrfs-progs 6.2 printed for a fresh 1 GiB filesystem */
	units_format(&u, 53673984, out, sizeof(out));
	CHECK_STR(out, "51.19MiB");
	units_format(&u, 941228032, out, sizeof(out));	/* a tie: to even */
	CHECK_STR(out, "897.62MiB");
	units_format(&u, UINT64_MAX, out, sizeof(out));
	CHECK_STR(out, "16.00EiB");
	u.base = 1000;
	units_format(&u, 8388608, out, sizeof(out));
	CHECK_STR(out, "8.39MB");
	units_format(&u, 16384, out, sizeof(out));
	CHECK_STR(out, "16.38kB");
	u.base = 1024;
	u.power = 1;
	units_format(&u, 8388608, out, sizeof(out));
	CHECK_STR(out, "8192.00KiB");
	u.power = 0;
	units_format(&u, 53673984, out, sizeof(out));
	CHECK_STR(out, "53673984");
}

/* GNU getopt's order for btrfs-progs' commands: options (with their
 * values) first, then the other arguments; "--" after the options. */
TEST(shell, options_first_as_getopt)
{
	static const char *const valued[] = { "-f", "-p", NULL };
	char *a[] = { "send", "-p", "/s1", "/s2", "-f", "out", "-q", "/s3" };
	char *b[] = { "send", "/s1", "--", "-f", "x" };
	char *c[] = { "send", "-f" };	/* a value missing: left as it is */

	shell_options_first(8, a, valued);
	CHECK_STR(a[1], "-p");
	CHECK_STR(a[2], "/s1");
	CHECK_STR(a[3], "-f");
	CHECK_STR(a[4], "out");
	CHECK_STR(a[5], "-q");
	CHECK_STR(a[6], "/s2");
	CHECK_STR(a[7], "/s3");
	shell_options_first(5, b, valued);
	CHECK_STR(b[1], "--");
	CHECK_STR(b[2], "/s1");
	CHECK_STR(b[3], "-f");
	CHECK_STR(b[4], "x");
	shell_options_first(2, c, valued);
	CHECK_STR(c[1], "-f");
}

/* Percentages as printf's "%.2f" prints them (the kernel's C library
 * has no floating point): btrfs-progs' figures, a tie to even, 0 of 0,
 * and parts past 64 bits when multiplied. */
TEST(shell, percent_like_printf)
{
	char out[UNITS_STR_MAX];

	units_percent(1003520, 8388608, out, sizeof(out));
	CHECK_STR(out, "11.96");
	units_percent(16384, 8388608, out, sizeof(out));
	CHECK_STR(out, "0.20");
	units_percent(1, 8, out, sizeof(out));	/* 12.5: a tie, to even */
	CHECK_STR(out, "12.50");
	units_percent(1, 80000, out, sizeof(out));	/* 0.00125 */
	CHECK_STR(out, "0.00");
	units_percent(3, 80000, out, sizeof(out));	/* 0.00375 */
	CHECK_STR(out, "0.00");
	units_percent(5, 80000, out, sizeof(out));	/* 0.00625 */
	CHECK_STR(out, "0.01");
	units_percent(7, 0, out, sizeof(out));
	CHECK_STR(out, "0.00");
	units_percent(UINT64_MAX / 2, UINT64_MAX, out, sizeof(out));
	CHECK_STR(out, "50.00");
	units_percent(UINT64_MAX, UINT64_MAX, out, sizeof(out));
	CHECK_STR(out, "100.00");
}

TEST(shell, split_operators)
{
	char line[] = "a|b 'c|d' e\\>f >>out<in x&";
	char *argv[12];
	unsigned char ops[12];

	CHECK_EQ(args_split(line, argv, ops, 12), 11);
	CHECK_STR(argv[0], "a");
	CHECK(ops[1] == ARGS_PIPE);
	CHECK_STR(argv[2], "b");
	CHECK_STR(argv[3], "c|d");
	CHECK(ops[3] == ARGS_WORD);
	CHECK_STR(argv[4], "e>f");
	CHECK(ops[5] == ARGS_APPEND);
	CHECK_STR(argv[6], "out");
	CHECK(ops[7] == ARGS_IN);
	CHECK_STR(argv[8], "in");
	CHECK_STR(argv[9], "x");
	CHECK(ops[10] == ARGS_BG);
	CHECK_EQ(ops[9], ARGS_WORD);
}

/* The id in "[ID] ..." at the start of the captured output. */
static int job_id(void)
{
	const char *out = host_console_output();

	return out[0] == '[' ? atoi(out + 1) : -1;
}

#define SLOW_RUNNING "Running  sleep 100000  sleeping: "

TEST(shell, background_jobs_wait_and_kill)
{
	char line[64];
	int slow, quick;

	CHECK_OK(run("sleep 100000 &"));
	slow = job_id();
	CHECK(slow > 0);
	CHECK(strstr(host_console_output(), "] sleep 100000\n"));
	CHECK_OK(run("sleep 50 &"));
	quick = job_id();
	CHECK(quick > 0 && quick != slow);
	/* the slow job reports its phase once its task has run: poll */
	for (int i = 0; i < 1000; i++) {
		CHECK_OK(run("jobs"));
		if (strstr(host_console_output(), SLOW_RUNNING))
			break;
		usleep(10000);
	}
	CHECK(strstr(host_console_output(), SLOW_RUNNING));
	snprintf(line, sizeof(line), "wait %d", quick);
	CHECK_OK(run(line));
	CHECK(strstr(host_console_output(), "Done  sleep 50\n"));
	/* the job says it was cancelled during kill or during wait */
	snprintf(line, sizeof(line), "kill %d", slow);
	CHECK_OK(run(line));
	snprintf(line, sizeof(line), "wait %d", slow);
	CHECK_EQ(shell_run_line(line), -ECANCELED);
	CHECK(strstr(host_console_output(), "sleep: cancelled after about "));
	snprintf(line, sizeof(line), "wait %d", slow);
	CHECK(strstr(host_console_output(), "Cancelled  sleep 100000\n"));
	CHECK_EQ(run(line), -EINVAL);
	CHECK(strstr(host_console_output(), "no background job"));
	/* wait with no ID waits for all, and returns the last status */
	CHECK_OK(run("sleep 20 &"));
	CHECK_OK(run("sleep 10 &"));
	CHECK_OK(run("wait"));
	CHECK_OK(run("jobs"));
	CHECK_STR(host_console_output(), "");
	/* & only ends a line; operators not yet supported are refused */
	CHECK_EQ(run("sleep 1 & echo x"), -EINVAL);
	CHECK(strstr(host_console_output(), "'&' only ends a line"));
	CHECK_EQ(run("&"), -EINVAL);
	host_console_capture(0);
}

TEST(shell, pipelines_without_a_filesystem)
{
	char line[64];
	int id;

	CHECK_OK(run("echo a   b | cat | cat -"));
	CHECK_STR(host_console_output(), "a b\n");
	CHECK_OK(run("echo x | sha256sum"));
	CHECK_STR(host_console_output(), "73cb3858a687a8494ca3323053016282f3"
		  "dad39d42cf62ca4e79dda2aac7d9ac  -\n");
	/* a reader that never reads: the writer is stopped (it may say
	 * so), and the pipeline did not fail */
	CHECK_OK(run("sleep 100000 | echo early"));
	CHECK(!strncmp(host_console_output(), "early\n", 6));
	CHECK(!strstr(host_console_output(), "pipeline"));
	/* a writer that fails stops the pipeline, and is named */
	CHECK_EQ(run("cat /x | cat"), -ENOENT);
	CHECK(strstr(host_console_output(), "ghee: pipeline stopped: 'cat /x' "
		     "failed: no such file or directory\n"));
	/* a background pipeline killed as a whole */
	CHECK_OK(run("sleep 100000 | cat | cat &"));
	id = job_id();
	CHECK(id > 0);
	/* its progress is its first command's */
	msleep(100);
	CHECK_OK(run("jobs"));
	CHECK(strstr(host_console_output(), "Running  sleep 100000 | cat | cat "
		     " sleeping: "));
	snprintf(line, sizeof(line), "kill %d", id);
	CHECK_OK(run(line));
	snprintf(line, sizeof(line), "wait %d", id);
	CHECK_EQ(run(line), -ECANCELED);
	CHECK(strstr(host_console_output(), "Cancelled  sleep 100000 | cat | "
		     "cat\n"));
	/* lines that do not parse run nothing */
	CHECK_EQ(run("echo x |"), -EINVAL);
	CHECK_STR(host_console_output(), "error: no command after '|'\n");
	CHECK_EQ(run("| echo x"), -EINVAL);
	CHECK_EQ(run("echo x > a > b"), -EINVAL);
	CHECK_EQ(run("echo x <"), -EINVAL);
	CHECK_STR(host_console_output(), "error: no file name after '<'\n");
	CHECK_EQ(run("cat | cat < a"), -EINVAL);
	CHECK_EQ(run("echo x | cat -n"), -EINVAL);
	CHECK(!strncmp(host_console_output(), "cat: unknown option '-n'\n"
		       "usage: cat [PATH...]\n", 46));
	CHECK_EQ(run("sha256sum --check"), -EINVAL);
	host_console_capture(0);
}

TEST(shell, tab_completes_commands)
{
	static struct line_edit le;

	line_edit_init(&le);
	le.complete = 1;
	host_console_capture(1);
	CHECK_OK(edit(&le, "ech\thi\n", 7));
	CHECK_STR(le.buf, "echo hi");
	CHECK_OK(edit(&le, "btrfs fi\tdf\n", 12));
	CHECK_STR(le.buf, "btrfs filesystem df");
	CHECK_OK(edit(&le, "sub\tsn\t\n", 8));
	CHECK_STR(le.buf, "subvolume snapshot ");
	/* several matches: the common part, then the list */
	host_console_capture(1);
	CHECK_OK(edit(&le, "fi d\t\n", 6));
	CHECK_STR(le.buf, "fi d");
	CHECK(strstr(host_console_output(), "\ndf  du  defragment  \n"));
	/* off: a tab is a character like any other */
	le.complete = 0;
	CHECK_OK(edit(&le, "a\tb\n", 4));
	CHECK_STR(le.buf, "a\tb");
	host_console_capture(0);
	line_edit_free(&le);
}
