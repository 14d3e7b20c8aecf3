/*
 * Inside the stress workload (shell/fs_stress.c, fs_stress_data.c,
 * fs_stress_ns.c); see fs_stress.c for the design.
 *
 * Field tags: [I] set before the tasks start, then read-only; [a] atomic;
 * [own] only the owning task touches it while the tasks run, the
 * coordinator after joining it.
 */
#ifndef SHELL_FS_STRESS_INT_H
#define SHELL_FS_STRESS_INT_H

#include <stdint.h>

#include "fs_stress.h"

#define STRESS_PATH_MAX 512	/* longest path a task builds */
#define STRESS_NAME_MAX 48	/* longest name a task makes, NUL included */
#define WRITER_FILES 3		/* files per writer: f0, f1, f2 */
#define WRITER_FILE_MAX (256u * 1024)	/* bytes a writer's file may hold */
#define WRITER_SEEDS 16		/* pattern seeds per writer file */
#define NS_PRIVATE_MAX 40	/* entries in a namer's own directory */
#define LINK_TARGET_MAX 200	/* longest symlink target a namer makes */
#define S_IFMT_ 0170000		/* file type bits of fs_stat.mode */
#define S_IFREG_ 0100000
#define S_IFDIR_ 0040000
#define S_IFLNK_ 0120000

enum stress_role {
	ROLE_WRITER,		/* data writes to its own files */
	ROLE_NAMER,		/* namespace changes */
	ROLE_READER,		/* walks and checks the whole tree */
	ROLE_SYNC,		/* commits every few milliseconds */
	ROLE_SHARE,		/* dedupe scans and defrags */
	ROLE_CHECK,		/* the coordinator's checks after the run */
};

/* Task records of a run of n workers: the workers, the sync task, the
 * sharer, and the coordinator's ROLE_CHECK (last; never a task). */
#define STRESS_ALL_TASKS(n) ((n) + 3)

struct writer_state;
struct namer_state;

struct stress_task {
	struct fs_stress *s;		/* [I] */
	enum stress_role role;		/* [I] */
	unsigned nth;			/* [I] number among its role: wN, nN */
	struct task *task;		/* [I] while running */
	uint64_t rng;			/* [own] xorshift state */
	uint64_t count[FS_STRESS_NR_COUNTS];	/* [own] */
	uint64_t failures;		/* [own] checks that failed */
	char *path, *path2;		/* [own] STRESS_PATH_MAX scratch */
	uint8_t *buf;			/* [own] WRITER_FILE_MAX + 1 scratch */
	struct writer_state *w;		/* [own] ROLE_WRITER */
	struct namer_state *ns;		/* [own] ROLE_NAMER */
	int pinned;			/* [a] ROLE_NAMER: DIR/shared/pN
					 * exists from now on */
};

struct fs_stress {
	struct fs_stress_opts o;	/* [I] o.dir points at dir */
	char dir[FS_STRESS_DIR_MAX + 1];	/* [I] */
	struct fs_info *fs;		/* [I] during a run or a verify */
	/* [I] o.tasks workers, then the sync task, the sharer, and
	 * ROLE_CHECK. */
	struct stress_task *t;
	int failed;			/* [a] a check failed: all stop */
	int cancelled;			/* [a] kill or Ctrl-C: all stop */
	uint64_t ops_done;		/* [a] writer and namer operations */
	uint64_t snaps;			/* [a] snapshots the sync task took:
					 * DIR.snap<snaps - 1> is the newest */
	uint64_t scans_done;		/* [a] dedupe scans the sharer
					 * finished */
	int settled;			/* [I] the tasks have ended: every
					 * name must hold, files be whole */
};

/* fs_stress.c */
uint64_t stress_rand(struct stress_task *t, uint64_t n);
int stress_parse_num(const char **p, uint64_t *out);
int stress_stopping(struct stress_task *t);
/* One more writer or namer operation done (the run's progress). */
void stress_op_done(struct stress_task *t);
int stress_fail(struct stress_task *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *stress_path(char *buf, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int stress_vanished(struct stress_task *t, const char *path,
		    struct fs_ino ino, int err);
unsigned stress_writers(const struct fs_stress *s);
unsigned stress_namers(const struct fs_stress *s);

/* fs_stress_data.c: writers, and the contents every task checks. */
int writer_init(struct stress_task *t);
void writer_free(struct stress_task *t);
int writer_run(void *arg);
int writer_verify_all(struct stress_task *t);
int writer_check_read(struct stress_task *t, const char *path,
		      struct fs_ino ino, unsigned writer, unsigned file);
uint32_t namer_file_len(uint64_t id);
void namer_file_fill(const struct fs_stress *s, uint64_t id, uint8_t *buf);
int namer_check_read(struct stress_task *t, const char *path,
		     struct fs_ino ino);
size_t namer_link_target(uint64_t id, char *buf);
int namer_check_link(struct stress_task *t, const char *path,
		     struct fs_ino ino);

/* fs_stress_share.c: the sharer. */
int share_run(void *arg);
/* A writer at its halfway point: wait until the sharer has finished a
 * dedupe scan, or the run stops. */
void share_await_scan(struct stress_task *t);

/* fs_stress_ns.c: namers and readers. */
int namer_init(struct stress_task *t);
void namer_free(struct stress_task *t);
int namer_run(void *arg);
int namer_verify_own(struct stress_task *t);
int reader_run(void *arg);
int reader_walk(struct stress_task *t);

#endif
