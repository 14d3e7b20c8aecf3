/*
 * What the crash tests share: the listing of a whole tree and the states
 * a workload passed through (tests/host/crash_model.c), and a driver
 * that cuts the power at the writes of a scripted workload and verifies
 * every survivor (tests/host/crash_driver.c, which says how).
 *
 * A listing is a line per name, sorted by path: the path, its type, and
 * for a file its size, content hash, link count and hard-link group (the
 * group's first path), for a symlink its target, for a subvolume's root
 * whether it is read-only, and for any inode with extended attributes
 * their count and hash. Two trees with equal listings hold the same
 * names, bytes and attributes.
 *
 * The oracle: a survivor's listing must equal one of the states recorded
 * from the last sync that returned before the cut up to the operation
 * the cut interrupted (which may have landed whole).
 */
#ifndef TESTS_HOST_CRASH_MODEL_H
#define TESTS_HOST_CRASH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "shim/fault_dev.h"

struct fs_info;

#define CRASH_PATH_LEN 64
#define CRASH_LINE_LEN 200
#define CRASH_FNV0 0xcbf29ce484222325ull

/* One name of a listing before it is printed. */
struct crash_entry {
	char path[CRASH_PATH_LEN];
	char type;		/* 'f' file, 'd' directory, 'l' symlink */
	char subvol;		/* a subvolume's root: 'w' writable, 'o' ro */
	uint64_t size, hash, key;	/* key: the inode, for link groups */
	uint32_t nlink, nxattr;
	uint64_t xhash;		/* of the xattrs' names and values */
	char target[CRASH_PATH_LEN];
};

uint64_t crash_fnv(uint64_t h, const void *p, size_t n);
/* The listing of n entries (sorted here): a malloc'ed string. */
char *crash_listing_of(struct crash_entry *e, int n);
/* The listing of the mounted tree, every subvolume in it, or NULL (said
 * why) when a read failed. */
char *crash_listing(struct fs_info *fs);
/* Print (some of) the lines of got and want that differ: a diagnostic. */
void crash_print_diff(const char *got, const char *want);

/* The tree after one operation. */
struct crash_state {
	char *listing;
	uint64_t writes;	/* device writes when the operation ended */
	int synced;		/* the operation was a sync that returned */
};

struct crash_states {
	struct crash_state *st;
	int n, max;
};

void crash_states_init(struct crash_states *s, int max);
void crash_states_free(struct crash_states *s);
/* Add a state (listing taken over); -1 when full. */
int crash_states_add(struct crash_states *s, char *listing, uint64_t writes,
		     int synced);
/* Which of states first..last listing is; -1: none. */
int crash_states_find(const struct crash_states *s, const char *listing,
		      int first, int last);
/* Is listing one of states first..last? 0 yes; -1 with its difference
 * from state first printed. */
int crash_states_match(const struct crash_states *s, const char *listing,
		       int first, int last);

/* ---- the driver of scripted workloads ------------------------------- */

/* One run of a workload, as its run function sees it. */
struct crash_ctx {
	struct fs_info *fs;
	struct fault_dev *f;
	uint64_t rng;
	struct crash_states *ref;	/* the reference run records here;
					 * NULL in a cut run */
	int nstates;	/* states passed, the template's included */
	int synced;	/* the last state a returned sync made durable */
	int record_failed;	/* the reference run could not list a state */
};

/* A random number below n (n > 0), from the run's seeded generator. */
uint64_t crash_rnd(struct crash_ctx *c, uint64_t n);
/* After each operation of a workload: ret is the fs call's result. On
 * success a state is passed (and in the reference run recorded; sync:
 * the operation was a sync). Returns ret. */
int crash_done(struct crash_ctx *c, int ret, int sync);

/* Run nops operations of a random mix: for each, one gets its number
 * op (from 1) and a random k below 100 that picks what it does, and
 * returns the fs call's result (with *sync set when it was a sync), or
 * 1 when it found nothing to do (not counted). Each counted operation
 * goes to crash_done. Stops at the first error and returns it. */
int crash_run_ops(struct crash_ctx *c, int nops,
		  int (*one)(struct crash_ctx *c, uint64_t op, uint64_t k,
			     int *sync));

/* Bytes of pattern op at file offset off (a file written so is known
 * by op and where). */
void crash_fill(uint8_t *buf, uint64_t op, uint64_t off, size_t n);
/* Write len (up to CRASH_PUT_MAX) bytes of pattern op at off of path,
 * the file made when missing. */
#define CRASH_PUT_MAX (256u << 10)
int crash_put(struct fs_info *fs, const char *path, uint64_t op,
	      uint64_t off, size_t len);

/* crash_put in a workload: making the file is an operation of its own
 * (a commit may come between it and the write). */
int crash_write(struct crash_ctx *c, const char *path, uint64_t op,
		uint64_t off, size_t len);

#define CRASH_QGROUPS (1u << 0)	/* btrfs check --qgroup-report too */
#define CRASH_PARTIAL (1u << 1)	/* a writable subvolume under
				 * partial_dir may be half made */

struct crash_workload {
	const char *name;
	uint32_t nodesize;
	uint64_t dev_size;
	unsigned flags;		/* CRASH_* */
	const char *partial_dir;	/* CRASH_PARTIAL: "/r/" */
	/* The template's contents (committed at unmount). */
	int (*prepare)(struct fs_info *fs);
	/* The workload: operations each followed by crash_done; stops at
	 * the first error and returns it; the driver syncs after. */
	int (*run)(struct crash_ctx *c);
};

/* How many cuts: at most test_cuts, spread evenly over the writes, and
 * test_checks of the survivors through btrfs check; with GHEE_CRASH_ALL
 * (make crash) at most all_cuts for each of all_seeds seeds, and every
 * survivor through btrfs check. */
struct crash_plan {
	enum fault_mode mode;
	uint64_t test_cuts, all_cuts;
	int test_checks;
	int all_seeds;
};

/* Cut w at the writes plan chooses; every survivor is verified, findings
 * printed and counted, and the case fails when there is any. */
void crash_workload_run(const struct crash_workload *w,
			const struct crash_plan *plan);
/* A finding of a case that cuts at chosen writes (GHEE_CRASH_CUT replays
 * one), with why it is one. */
void crash_finding(const char *name, enum fault_mode mode, uint64_t cut,
		   uint64_t writes, const char *why);
/* The summary line every case prints (make crash adds them up). */
void crash_summary(const char *name, enum fault_mode mode, uint64_t writes,
		   uint64_t cuts, uint64_t checks, uint64_t findings);
extern const char *const crash_mode_names[];

#endif
