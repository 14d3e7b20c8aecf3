/*
 * Injected I/O error tests (test_ioerr.c runs them, test_ioerr_work.c
 * holds the workloads): the model of what a workload made, and the calls
 * that change the filesystem and the model together.
 *
 * The model is a table of paths (files, directories, subvolumes). Each
 * holds its current state (a file's bytes and its user.t xattr) and the
 * hashes of every state it had since the last sync that returned
 * (ver[0] the synced one): after a fault, the disk holds one of them. A
 * path an operation failed on is unsure: that operation may have done
 * part of its work, so its state is not judged (it is still read).
 */
#ifndef TESTS_HOST_TEST_IOERR_H
#define TESTS_HOST_TEST_IOERR_H

#include <stddef.h>
#include <stdint.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"

#define IOERR_PATH 64			/* bytes of a path */
#define IOERR_ENTS 160			/* paths in a model */
#define IOERR_FILE (48u << 10)		/* largest file, bytes */
#define IOERR_VERS 24			/* states kept since a sync */
#define IOERR_XMAX 48			/* largest user.t value */

/* One path of the model. */
struct ment {
	char path[IOERR_PATH];	/* "": a free slot */
	char type;		/* 'f' file, 'd' directory or subvolume */
	int exists;		/* now */
	size_t len;		/* a file's size */
	uint8_t data[IOERR_FILE];	/* a file's bytes */
	int xlen;		/* its user.t value's length; -1: none */
	char x[IOERR_XMAX];	/* the value */
	uint64_t ver[IOERR_VERS];	/* state hashes since the last sync;
					 * ver[0] the synced one, 0 absent */
	int nver;
	int unsure;		/* an operation on it failed */
};

struct model {
	struct ment e[IOERR_ENTS];
	int n;			/* slots used */
};

/* A filesystem under test and its model. */
struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
	struct model *m;
};

/* A workload: setup runs once without faults on a fresh filesystem
 * (then synced and unmounted: the template every run starts from); run
 * is what runs with an error injected. It stops at the first failing
 * call and returns its error. mounts: run mounts the filesystem itself
 * (e->fs NULL before). nodesize: mkfs's (0: its default);
 * metadata_single: metadata SINGLE (no second copy to read) instead of
 * DUP. */
struct workload {
	const char *name;
	int (*setup)(struct env *e);
	int (*run)(struct env *e);
	int mounts;
	uint32_t nodesize;
	int metadata_single;
};

extern const struct workload ioerr_namespace, ioerr_data, ioerr_commit,
	ioerr_snapshot, ioerr_reflink, ioerr_xattr, ioerr_qgroup,
	ioerr_receive, ioerr_balance, ioerr_dedupe, ioerr_fsck, ioerr_mount,
	ioerr_deep, ioerr_deep_single, ioerr_quota_enable, ioerr_send,
	ioerr_mount_single, ioerr_concurrent;

/* Keep no tree block in fs's cache that nobody holds: every search
 * reads from the device (test_ioerr.c). */
void ioerr_cold_cache(struct fs_info *fs);
/* What identifies an entry's state: 0 absent, 1 a directory, else a
 * hash of a file's bytes, size and xattr (never 0 or 1). */
uint64_t m_state(const struct ment *t);
/* The model's entry for path, or NULL. */
struct ment *m_find(struct model *m, const char *path);
/* Bytes written by a write with this seed at file offset off. */
void m_fill(uint8_t *buf, uint64_t seed, uint64_t off, size_t n);

/* Filesystem calls that keep the model: 0 or the call's error (then the
 * paths involved are unsure). */
int w_create(struct env *e, const char *path);
int w_mkdir(struct env *e, const char *path);
int w_write(struct env *e, const char *path, uint64_t off, size_t len,
	    uint64_t seed);
int w_truncate(struct env *e, const char *path, uint64_t size);
int w_unlink(struct env *e, const char *path);
int w_rmdir(struct env *e, const char *path);
int w_rename(struct env *e, const char *from, const char *to);
int w_link(struct env *e, const char *existing, const char *path);
int w_sync(struct env *e);
int w_setx(struct env *e, const char *path, const char *value);
int w_rmx(struct env *e, const char *path);
int w_subvol_create(struct env *e, const char *path);
int w_snapshot(struct env *e, const char *src, const char *dst, int ro);
int w_subvol_delete(struct env *e, const char *path);
int w_clone(struct env *e, const char *src, uint64_t soff, uint64_t len,
	    const char *dst, uint64_t doff);
int w_dedupe(struct env *e, const char *src, uint64_t soff, uint64_t len,
	     const char *dst, uint64_t doff);
/* Copy the model's entries under src (and src) to under dst, as they are
 * now: a snapshot or a received copy. */
void m_copy_tree(struct model *m, const char *src, const char *dst);
/* Mark path (and what is under it) changed by a call that failed. */
int m_failed(struct model *m, int ret, const char *path);

#endif
