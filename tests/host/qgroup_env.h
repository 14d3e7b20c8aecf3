/*
 * Shared pieces of the quota tests (test_qgroup_env.c).
 */
#ifndef TESTS_HOST_QGROUP_ENV_H
#define TESTS_HOST_QGROUP_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "../../fs/fs.h"

struct fault_dev;

#define DEV_BYTES (256ull << 20)	/* the fault device */

/* A filesystem with quotas on, over a fault device. */
struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

int env_open(struct env *e, uint32_t nodesize);
int env_close(struct env *e);
int compare_counts(struct fs_info *fs);
int sync_compare(struct fs_info *fs);
int put(struct fs_info *fs, const char *path, uint64_t off, size_t len, int c);
int many_files(struct fs_info *fs, const char *dir, int n, int c);
int reflink(struct fs_info *fs, const char *src, const char *dst, uint64_t len,
	    uint64_t dst_off);

#endif
