/*
 * A concurrent filesystem workload for finding races (shell/fs_stress*.c):
 * worker tasks change and read one mounted filesystem at once, each
 * checking what it sees, then everything is verified and fs_check run.
 * The `fsstress` command, the host test and the QEMU test drive it.
 *
 * Use: fs_stress_new(), fs_stress_run() on a mounted filesystem, and, to
 * check the result again later (after a remount), fs_stress_verify();
 * fs_stress_free() at the end. Messages go to the console
 * ("fsstress: ...").
 */
#ifndef SHELL_FS_STRESS_H
#define SHELL_FS_STRESS_H

#include <stdint.h>

#include "../fs/fs.h"

#define FS_STRESS_TASKS_MAX 32	/* worker tasks at most */
#define FS_STRESS_DIR_MAX 200	/* longest opts.dir */

struct fs_stress_opts {
	/* Worker tasks, 1..FS_STRESS_TASKS_MAX; task i writes data (i % 3
	 * == 0), changes names (1) or reads (2). A sync task (commits and
	 * snapshots) and a sharer (dedupe scans and defrags) run too. */
	unsigned tasks;
	uint64_t ops;		/* operations of each writer and namer */
	uint64_t seed;		/* seeds every choice and every byte */
	const char *dir;	/* absolute path the run makes and works in */
};

/* What a run counts, per kind. */
enum fs_stress_count {
	FS_STRESS_WRITE,	/* writers: write at a random offset */
	FS_STRESS_OVERWRITE,	/* writers: write inside the file */
	FS_STRESS_APPEND,	/* writers: write at the end */
	FS_STRESS_TRUNCATE,	/* writers: set a random size */
	FS_STRESS_RECREATE,	/* writers: unlink a file and make it anew */
	FS_STRESS_CLONE,	/* writers: share a range of another file */
	FS_STRESS_XATTR,	/* writers: set a file's xattr */
	FS_STRESS_VERIFY,	/* whole files read back against the copy */
	FS_STRESS_CREATE,	/* namers: file made and filled */
	FS_STRESS_SYMLINK,
	FS_STRESS_MKDIR,
	FS_STRESS_LINK,
	FS_STRESS_RENAME,
	FS_STRESS_UNLINK,
	FS_STRESS_RMDIR,
	FS_STRESS_RACED,	/* namer changes another task undid first */
	FS_STRESS_READDIR,	/* readers and namers */
	FS_STRESS_STAT,
	FS_STRESS_READ,		/* file reads and readlinks checked */
	FS_STRESS_VANISHED,	/* entries gone between readdir and use */
	FS_STRESS_SYNC,		/* commits by the sync task */
	FS_STRESS_SNAPSHOT,	/* snapshots of the top level it took */
	FS_STRESS_SUBVOL_DELETE,	/* and deleted */
	FS_STRESS_DEDUPE_SCAN,	/* sharer: dedupe scans of the writers' files */
	FS_STRESS_DEDUPED,	/* bytes they shared */
	FS_STRESS_DEFRAG,	/* sharer: defrags of a writer's file */
	FS_STRESS_NR_COUNTS,
};

struct fs_stress_report {
	uint64_t count[FS_STRESS_NR_COUNTS];
	uint64_t failures;	/* wrong results seen; 0: the run passed */
	uint64_t ns;		/* wall time of the workload, nanoseconds */
	uint64_t verify_ns;	/* wall time of the checks after it */
	struct fs_check_report check;	/* fs_check after the final sync */
};

struct fs_stress;

/* Prepare a run. 0, -EINVAL (bad opts, message printed) or -ENOMEM. */
int fs_stress_new(const struct fs_stress_opts *o, struct fs_stress **out);
/*
 * Run the workload on fs: make opts.dir (-EEXIST when it exists), run
 * the tasks, join them, verify everything, sync and fs_check. rep says
 * what was done. 0 when all passed; -EIO when a check failed (each
 * failure printed); another negative errno when the run could not start
 * or the filesystem failed.
 */
int fs_stress_run(struct fs_stress *s, struct fs_info *fs,
		  struct fs_stress_report *rep);
/* Check fs (the run's filesystem, perhaps remounted) against what the
 * run left: the writers' files and the namers' own directories exactly,
 * every other name self-consistent. 0, -EIO or another negative errno. */
int fs_stress_verify(struct fs_stress *s, struct fs_info *fs);
/* Print rep, each line starting with prefix. */
void fs_stress_print(const struct fs_stress_report *rep, const char *prefix);
void fs_stress_free(struct fs_stress *s);

#endif
