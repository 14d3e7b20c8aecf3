/*
 * What the filesystem tests share (tests/host/test_env.c): a filesystem
 * made and mounted on a RAM fault device and checked by btrfs check at
 * the end, a file written with one byte value, a file's hash, how far
 * the cleaner got on a deleted subvolume, and where a file's data lies
 * on the device.
 */
#ifndef TESTS_HOST_TEST_ENV_H
#define TESTS_HOST_TEST_ENV_H

#include <stddef.h>
#include <stdint.h>

struct fault_dev;
struct fs_info;
struct key;

#define ENV_DEV_BYTES (256ull << 20)	/* the fault device */
#define PUT_MAX (4u << 20)		/* the most put writes at once */

/* A filesystem over a fault device. */
struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

/* Make a filesystem of nodesize (0: mkfs's default) on a new fault device
 * of ENV_DEV_BYTES and mount it. 0 or a negative errno. */
int env_mkfs_mount(struct env *e, uint32_t nodesize);
/* Unmount, run btrfs check (with its qgroup report when qgroups) and
 * free the device: 0 when clean or btrfs-progs is not installed (the
 * case then says it skipped the check), else -EUCLEAN. */
int env_umount_check(struct env *e, int qgroups);

/* Write len (up to PUT_MAX) bytes of byte c at off of path (made when
 * missing). 0 or a negative errno. */
int put(struct fs_info *fs, const char *path, uint64_t off, size_t len,
	int c);

/* FNV-1a of path's bytes and size in *h; 0 when it does not exist. 0
 * or a negative errno. */
int file_hash(struct fs_info *fs, const char *path, uint64_t *h);

/* Make directory dir holding n files of 5000 bytes of c, f00000 on. */
int make_files(struct fs_info *fs, const char *dir, int n, int c);

/* The drop_progress key of deleted subvolume id's root item (0 key: the
 * cleaner has not started on it). 0 or a negative errno. */
int dead_progress(struct fs_info *fs, uint64_t id, struct key *k);

/* Logical address of the first extent of path; 0 if none. */
uint64_t first_extent(struct fs_info *fs, const char *path);
/* Device offset of copy `copy` of logical address l; 0 if unmapped. */
uint64_t phys(struct fs_info *fs, uint64_t l, uint32_t copy);

#endif
