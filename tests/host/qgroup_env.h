/*
 * Shared pieces of the quota tests (test_qgroup_env.c).
 */
#ifndef TESTS_HOST_QGROUP_ENV_H
#define TESTS_HOST_QGROUP_ENV_H

#include <stddef.h>
#include <stdint.h>

#include "../../fs/fs.h"
#include "test_env.h"

#define DEV_BYTES ENV_DEV_BYTES	/* the fault device */

/* A filesystem with quotas on (struct env of test_env.h). */
int env_open(struct env *e, uint32_t nodesize);
int env_close(struct env *e);
int compare_counts(struct fs_info *fs);
int sync_compare(struct fs_info *fs);
int many_files(struct fs_info *fs, const char *dir, int n, int c);
int reflink(struct fs_info *fs, const char *src, const char *dst, uint64_t len,
	    uint64_t dst_off);

#endif
