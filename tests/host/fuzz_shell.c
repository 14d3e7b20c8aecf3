/*
 * libFuzzer target: the shell's line parser and command dispatch
 * (shell/args.c, shell/pipeline.c, shell/shell.c and the commands
 * behind them) on fuzzed lines, over a small filesystem in RAM.
 *
 * The input is up to FUZZ_LINES lines (split at '\n'; a NUL ends a
 * line). At start a template disk is made: mkfs, a few files, a
 * directory tree, a symlink, a hard link, an xattr, a subvolume and a
 * snapshot of it. Each input gets a fresh copy of it as vda (one
 * registered disk whose contents are swapped per input), mounted at /
 * by the shell's own `mount vda /`; the lines run one after another
 * with the console captured and its input at end of file, then every
 * mount is undone. Lines that could run forever, wait, stop the
 * process or run the self tests are left out: a line naming a command
 * of the deny list below anywhere, running a job in the background, or
 * with a number over FUZZ_MAX_NUM (a size or count so large the
 * command would run for minutes). A crash, sanitizer report, leak or
 * hang is a bug: a bad line must only ever give an error.
 *
 * With FUZZ_SHOW set in the environment the console's output of each
 * input goes to stderr (to see what a regression input does).
 * With FUZZ_DICT set in the environment the binary writes a libFuzzer
 * dictionary there instead (every command, group and subcommand name,
 * and the operators) and exits. Built by tests/host/fuzz.sh.
 */
#include <ghee/errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/log.h>

#include "../../fs/fs.h"
#include "../../shell/args.h"
#include "../../shell/cmd_fs.h"
#include "../../shell/jobs.h"
#include "../../shell/shell.h"
#include "shim/fault_dev.h"
#include "shim/host.h"

#define FUZZ_DISK_SIZE (128ULL << 20)
#define FUZZ_LINES 4
#define FUZZ_MAX_NUM (16ULL << 20)

/* Commands that wait, run for long, stop the process or test it. */
static const char *const deny[] = {
	"sleep", "spin", "wait", "poweroff", "reboot", "fault", "test",
	"bench", "fsstress", "blk", "mkfiles", "write-rand",
	"write-repeat", NULL,
};

static struct fault_dev *template, *cur;
static struct blkdev vda;	/* registered once; forwards to cur */

static int vda_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct blkdev *b = fault_dev_blk(cur);

	(void)d;
	return b->ops->read(b, off, buf, len);
}

static int vda_write(struct blkdev *d, uint64_t off, const void *buf,
		     size_t len)
{
	struct blkdev *b = fault_dev_blk(cur);

	(void)d;
	return b->ops->write(b, off, buf, len);
}

static int vda_flush(struct blkdev *d)
{
	struct blkdev *b = fault_dev_blk(cur);

	(void)d;
	return b->ops->flush(b);
}

static const struct blkdev_ops vda_ops = { vda_read, vda_write, vda_flush };

/* Nonzero when word is a number (decimal or 0x, optional K/M/G/T/P/E
 * suffix) over FUZZ_MAX_NUM, wherever it sits in the word (-s1T, +5G). */
static int too_big(const char *w)
{
	for (; *w; w++) {
		unsigned long long v;
		char *end;
		const char *suf = "KMGTPE", *s;
		char unit;

		if (*w < '0' || *w > '9')
			continue;
		v = strtoull(w, &end, 0);
		if (v > FUZZ_MAX_NUM)
			return 1;
		unit = (char)(*end & ~0x20);	/* upper case; ' ' gives 0 */
		if (unit && (s = strchr(suf, unit)) &&
		    v > FUZZ_MAX_NUM >> (10 * (s - suf + 1)))
			return 1;
		w = end - 1;
	}
	return 0;
}

/* Nonzero when the line may run: see the top. */
static int allowed(const char *line)
{
	static char copy[SHELL_LINE_MAX];
	char *argv[SHELL_ARGS_MAX];
	unsigned char ops[SHELL_ARGS_MAX];
	int argc, i, j;

	strcpy(copy, line);
	argc = args_split(copy, argv, ops, SHELL_ARGS_MAX);
	for (i = 0; i < argc; i++) {
		if (ops[i] == ARGS_BG || too_big(argv[i]))
			return 0;
		for (j = 0; deny[j]; j++)
			if (ops[i] == ARGS_WORD && !strcmp(argv[i], deny[j]))
				return 0;
	}
	return 1;
}

/* Run one line (a copy: the splitter writes into it). */
static void run(const char *line)
{
	static char buf[SHELL_LINE_MAX];

	strcpy(buf, line);
	(void)shell_run_line(buf);
}

/* The template's files; exits when one cannot be made. */
static void populate(struct fs_info *fs)
{
	static uint8_t blob[20000];
	struct fs_ino ino;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 7 + i / 300);
	ret = fs_create(fs, "/hello.txt", 0644, &ino) ||
	      fs_write(fs, ino, 0, "hello\n", 6) ||
	      fs_setxattr(fs, ino, "user.a", "b", 1, 0) ||
	      fs_mkdir(fs, "/dir", 0755) || fs_mkdir(fs, "/dir/sub", 0755) ||
	      fs_create(fs, "/dir/sub/blob", 0644, &ino) ||
	      fs_write(fs, ino, 0, blob, sizeof(blob)) ||
	      fs_symlink(fs, "hello.txt", "/link") ||
	      fs_link(fs, "/hello.txt", "/dir/hard") ||
	      fs_subvol_create(fs, "/sv") ||
	      fs_create(fs, "/sv/f", 0600, &ino) ||
	      fs_write(fs, ino, 0, blob, 5000) ||
	      fs_subvol_snapshot(fs, "/sv", "/snap", FS_SNAP_RDONLY) ||
	      fs_sync(fs);
	if (ret) {
		fprintf(stderr, "fuzz_shell: cannot make the template\n");
		exit(1);
	}
}

/* Write the dictionary (see the top) to path and exit. */
static void write_dict(const char *path)
{
	static const char *const ops[] = { "|", "<", ">", ">>", "&", "'",
		"\\\"", "\\\\", "/", "-o", "-r", "--help", NULL };
	const struct shell_group *g;
	const struct shell_cmd *c;
	FILE *f = fopen(path, "w");
	int i;

	if (!f) {
		perror(path);
		exit(1);
	}
	for (c = shell_commands; c->name; c++)
		if (c->usage)
			fprintf(f, "\"%s \"\n", c->name);
	for (c = shell_btrfs_commands; c->name; c++)
		if (c->usage)
			fprintf(f, "\"%s \"\n", c->name);
	for (g = shell_groups; g->name; g++) {
		fprintf(f, "\"%s \"\n", g->name);
		for (c = g->cmds; c->name; c++)
			if (c->usage)
				fprintf(f, "\"%s \"\n", c->name);
	}
	for (i = 0; ops[i]; i++)
		fprintf(f, "\"%s\"\n", ops[i]);
	fclose(f);
	exit(0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dict = getenv("FUZZ_DICT");
	struct fs_info *fs;

	(void)argc, (void)argv;
	if (dict)
		write_dict(dict);
	log_set_level(LOG_ERR);
	template = fault_dev_new(FUZZ_DISK_SIZE);
	if (!template ||
	    fs_mkfs(fault_dev_blk(template), &(struct fs_mkfs_opts){ 0 }) ||
	    fs_mount(fault_dev_blk(template), 0, &fs)) {
		fprintf(stderr, "fuzz_shell: cannot make the template\n");
		exit(1);
	}
	populate(fs);
	fs_umount(fs);
	vda = *fault_dev_blk(template);
	vda.ops = &vda_ops;
	vda.priv = NULL;
	if (blk_register(&vda)) {
		fprintf(stderr, "fuzz_shell: cannot register the disk\n");
		exit(1);
	}
	host_console_set_input("", 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char line[SHELL_LINE_MAX];
	size_t pos = 0, n;
	int lines = 0;

	cur = fault_dev_clone(template);
	if (!cur)
		return 0;
	host_console_capture(1);
	run("mount vda /");
	while (pos < size && lines++ < FUZZ_LINES) {
		for (n = 0; pos + n < size && data[pos + n] != '\n'; n++)
			;
		if (n < sizeof(line)) {
			memcpy(line, data + pos, n);
			line[n] = 0;
			if (allowed(line))
				run(line);
		}
		pos += n + 1;
	}
	/* As poweroff does: a command may have started a background job
	 * (scrub start without -B, balance start --bg). */
	jobs_stop_all();
	cmd_fs_reset();
	if (getenv("FUZZ_SHOW"))
		fputs(host_console_output(), stderr);
	host_console_capture(0);
	fault_dev_free(cur);
	cur = NULL;
	return 0;
}
