/*
 * The command table, and the commands every ghee has (echo, version,
 * uptime, mem, poweroff, reboot). Commands of a subsystem live in its own
 * shell/cmd_*.c and appear here as rows; btrfs-progs' groups have their
 * own tables (shell/groups.c). Headings order `help`.
 */
#include <errno.h>

#include <ghee/console.h>
#include <ghee/system.h>
#include <ghee/time.h>

#include "cmd_blk.h"
#include "cmd_fs.h"
#include "cmd_profile.h"
#include "cmd_subvol.h"
#include "cmd_task.h"
#include "cmd_xattr.h"
#include "jobs.h"
#include "shell.h"

static int cmd_echo(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		con_printf("%s%s", argv[i], i + 1 < argc ? " " : "");
	con_printf("\n");
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_printf("ghee %s (%s)\n", GHEE_VERSION, sys_platform());
	con_printf("command line: %s\n", sys_cmdline());
	return 0;
}

static int cmd_uptime(int argc, char **argv)
{
	uint64_t ns = time_ns();

	(void)argc;
	(void)argv;
	con_printf("up %lu.%03lu s\n", (unsigned long)(ns / 1000000000),
		   (unsigned long)(ns / 1000000 % 1000));
	return 0;
}

/* Time a command. It fails as its command did; the command printed its
 * own errors and usage, so -EINVAL becomes -ECANCELED to keep the shell
 * from adding time's usage after the command's. The time goes to the
 * console (as bash's time reports on stderr), not into the command's
 * output. */
static int cmd_time(int argc, char **argv)
{
	uint64_t t0 = time_ns(), ns;
	int ret = shell_run_argv(argc - 1, argv + 1);

	ns = time_ns() - t0;
	con_eprintf("time: %lu.%03lu ms\n", (unsigned long)(ns / 1000000),
		    (unsigned long)(ns / 1000 % 1000));
	return ret == -EINVAL ? -ECANCELED : ret;
}

static int cmd_mem(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	sys_mem_report();
	return 0;
}

/* As a system shutting down does: stop the background jobs, then
 * unmount every filesystem (its last changes committed). */
static void shut_down(void)
{
	jobs_stop_all();
	cmd_fs_reset();
}

static int cmd_poweroff(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shut_down();
	sys_poweroff();
}

static int cmd_reboot(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	shut_down();
	sys_reboot();
}

static int cmd_fault(int argc, char **argv)
{
	(void)argc;
	if (sys_fault(argv[1]) == -EINVAL) {
		con_eprintf("fault: unknown kind '%s'\n", argv[1]);
		return -EINVAL;
	}
	return 0;
}

const struct shell_cmd shell_commands[] = {
	SHELL_HEADING("the shell"),
	{ "help", "[GROUP|CMD] [CMD]", "list the groups and commands, a "
	  "group's commands, or how to use one", 0, 2, cmd_help },
	{ "echo", "[WORD...]", "print the arguments", 0, -1, cmd_echo },
	{ "version", "", "show the version and how ghee was booted",
	  0, 0, cmd_version },
	{ "time", "CMD [ARG...]", "run a command and show how long it took",
	  1, -1, cmd_time },
	{ "sleep", "MS", "sleep for MS milliseconds", 1, 1, cmd_sleep },
	{ "profile", "[-f HZ] CMD [ARG...] | [-f HZ] -s SECONDS", "run a "
	  "command (or wait SECONDS) sampling every CPU HZ times a second "
	  "(1000); show the top functions and call chains", 1, -1,
	  cmd_profile },

	SHELL_HEADING("system"),
	{ "uptime", "", "time since boot", 0, 0, cmd_uptime },
	{ "mem", "", "memory totals and allocator use", 0, 0, cmd_mem },
	{ "poweroff", "", "stop the machine", 0, 0, cmd_poweroff },
	{ "reboot", "", "reset the machine", 0, 0, cmd_reboot },
	{ "fault", "page|divide|panic",
	  "crash on purpose (tests the crash report)", 1, 1, cmd_fault },

	SHELL_HEADING("tasks (shell/cmd_task.c)"),
	{ "ps", "", "list tasks: id, name, state, class, CPU, CPU time",
	  0, 0, cmd_ps },
	{ "cpus", "", "list the CPUs and what each runs", 0, 0, cmd_cpus },
	{ "jobs", "", "background jobs ('CMD &') and their progress", 0, 0,
	  cmd_jobs },
	{ "wait", "[ID...]", "wait for background jobs (all when no ID); "
	  "returns the last one's status", 0, -1, cmd_wait },
	{ "kill", "ID", "cancel a task or job (it stops at its next safe "
	  "point)", 1, 1, cmd_kill },
	{ "spin", "[-f] SECONDS", "start a busy background task (kill ID stops "
	  "it); -f: be busy in this command, then say its CPU time", 1, 2,
	  cmd_spin },
	{ "test", "[SUITE]", "run the kernel's self tests (KTAP)", 0, 1,
	  cmd_test },
	{ "bench", "", "kernel micro-benchmarks: switch, locks, kmalloc (ns)",
	  0, 0, cmd_bench },

	SHELL_HEADING("filesystems (shell/cmd_fs*.c)"),
	{ "mkfs", "DISK [--label L] [--nodesize N] [--metadata dup|single] "
	  "[--csum crc32c|xxhash|sha256|blake2] "
	  "[-O ^skinny-metadata,^no-holes]",
	  "make a new btrfs on a disk", 1, 11, cmd_mkfs },
	{ "mount", "[DISK [DIR] [-o ro|rw|skip_balance|subvol=PATH|"
	  "subvolid=ID]]", "mount the btrfs on DISK at DIR (default /); "
	  "alone: list the mounts", 0, 4, cmd_mount },
	{ "umount", "[DIR|DISK]", "unmount a filesystem (default: the one at "
	  "/)", 0, 1, cmd_umount },
	{ "df", "[-h|-H|-k] [-T] [PATH...]", "size, used and available space "
	  "of the mounted filesystems, as coreutils' df (per block group "
	  "type: filesystem df)", 0, -1, cmd_df },
	{ "du", "[-s] [-a] [-c] [-h|--si|-k] [-H] [PATH...]", "space the files "
	  "below each PATH take, per directory, as coreutils' du (shared "
	  "and exclusive: filesystem du)", 0, -1, cmd_du },
	{ "sync", "", "commit every mounted filesystem", 0, 0, cmd_sync },
	{ "fsck", "[DISK]", "check the last commit of the mounted filesystem "
	  "(or of DISK): back-references, space, inodes", 0, 1, cmd_fsck },
	{ "fsstress", "[-t TASKS] [-n OPS] [-s SEED] [-d DIR]", "TASKS tasks "
	  "(default 4) write, rename and read under DIR (/stress) at once, "
	  "OPS changes each (200); then verify and fsck", 0, 8,
	  cmd_fsstress },

	SHELL_HEADING("files and directories"),
	{ "ls", "[-l] [-a] [PATH]", "list a directory in index order", 0, 3,
	  cmd_ls },
	{ "cat", "[PATH...]", "print files (none or -: standard input)", 0,
	  -1, cmd_cat },
	{ "readfile", "PATH...", "read files and drop the data (with time: "
	  "a read benchmark)", 1, -1, cmd_readfile },
	{ "stat", "PATH", "show an inode's attributes", 1, 1, cmd_stat },
	{ "tree", "[PATH]", "show the directory tree under PATH", 0, 1,
	  cmd_tree },
	{ "find", "[-c] [PATH]", "print every path under PATH (-c: count them)",
	  0, 2, cmd_find },
	{ "sha256sum", "[PATH...]", "SHA-256 of files (none or -: standard "
	  "input), like coreutils", 0, -1, cmd_sha256sum },
	{ "mkdir", "[-p] PATH...", "make directories", 1, -1, cmd_mkdir },
	{ "touch", "PATH...", "make empty files or update their times", 1, -1,
	  cmd_touch },
	{ "write", "PATH OFF LEN SEED",
	  "write LEN bytes of seeded pattern at OFF (file made if missing)",
	  4, 4, cmd_write },
	{ "cp", "[--reflink[=always|auto|never]] SRC DST", "copy a file "
	  "(--reflink: share its data extents)", 2, 3, cmd_cp },
	{ "clone", "SRC SRC_OFF LEN DST DST_OFF", "share LEN bytes (0: to "
	  "the end) of SRC with DST, like FICLONERANGE", 5, 5, cmd_clone },
	{ "dedupe", "SRC SRC_OFF LEN DST DST_OFF [DST DST_OFF]... | "
	  "scan [-r] [--min SIZE] PATH...", "share equal ranges of files, "
	  "like FIDEDUPERANGE (scan: find them by checksum)", 2, -1,
	  cmd_dedupe },
	{ "rm", "[-r] [-f] PATH...", "remove files (-r: and directories; -f: "
	  "a missing one is no error)", 1, -1, cmd_rm },
	{ "rmdir", "DIR...", "remove empty directories", 1, -1, cmd_rmdir },
	{ "mv", "SRC DST", "rename or move, replacing DST", 2, 2, cmd_mv },
	{ "ln", "[-s] TARGET PATH", "hard link (-s: symbolic link)", 2, 3,
	  cmd_ln },
	{ "truncate", "[-c] -s SIZE FILE... | PATH SIZE", "set files' size "
	  "(making them, unless -c)", 2, -1, cmd_truncate },
	{ "fallocate", "[-c|-i|-p|-z] [-n] [-x] [-o OFFSET] -l LENGTH FILE",
	  "preallocate (or -p free, -z zero) a range of a file, as "
	  "util-linux's; sizes take K, KiB, KB, M... suffixes", 1, -1,
	  cmd_fallocate },
	{ "chmod", "MODE PATH", "set permission bits (octal)", 2, 2,
	  cmd_chmod },
	{ "utimes", "PATH ATIME MTIME", "set access and modification times "
	  "(seconds since 1970; a symlink's own)", 3, 3, cmd_utimes },
	/* owners and special inodes (shell/cmd_inode.c) */
	{ "chown", "[-h] UID[:GID] PATH...", "set owner and group (numeric; "
	  "-h: a symlink's own)", 2, -1, cmd_chown },
	{ "mknod", "[-m MODE] PATH b|c|u MAJOR MINOR | [-m MODE] PATH p",
	  "make a block or character device node, or a FIFO", 2, 6,
	  cmd_mknod },
	{ "mkfifo", "[-m MODE] PATH...", "make FIFOs (named pipes)", 1, -1,
	  cmd_mkfifo },
	/* extended attributes (shell/cmd_xattr.c) */
	{ "setfattr", "{-n NAME [-v VALUE] | -x NAME} [-h] PATH...",
	  "set or remove an extended attribute", 3, -1, cmd_setfattr },
	{ "getfattr", "[-n NAME | -d] [-e text|hex|base64] [-m PATTERN] [-h] "
	  "[--only-values] [--absolute-names] PATH...",
	  "show extended attributes (-d: with values)", 1, -1, cmd_getfattr },
	{ "mkfiles", "DIR NDIRS PER_DIR SIZE SEED", "make NDIRS directories "
	  "of PER_DIR files of SIZE seeded bytes (a benchmark workload)",
	  5, 5, cmd_mkfiles },
	{ "write-rand", "PATH FILESIZE BS COUNT SEED", "COUNT writes of BS "
	  "seeded bytes at random aligned offsets below FILESIZE", 5, 5,
	  cmd_write_rand },
	{ "write-repeat", "SRC PATH LEN", "write LEN bytes into PATH: SRC's "
	  "contents over and over (a compressible workload)", 3, 3,
	  cmd_write_repeat },

	SHELL_HEADING("block devices (shell/cmd_blk.c)"),
	{ "blk", "[read|write|verify|flush|discard|zero|bench DISK ...]",
	  "list disks; raw I/O, pattern check, benchmark ('blk help')",
	  0, 7, cmd_blk },
	{ NULL, NULL, NULL, 0, 0, NULL },
};
