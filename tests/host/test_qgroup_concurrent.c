/*
 * Quota limits under concurrent writers (fs/qgroup_limit.c): writers
 * racing into one limited subvolume reserve against the same room, so
 * together they stop at the limit, never past it, and each sees -EDQUOT;
 * the counts are then the brute force's (test_qgroup_env.c). Built into
 * the ThreadSanitizer suite too.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/qgroup.h"
#include "qgroup_env.h"
#include "test.h"

#define WRITERS 4
#define PIECE (32u * 1024)
#define LIMIT (2ull << 20)
#define MAX_PIECES 256	/* 8 MiB each: far past the limit */

struct writer {
	struct fs_info *fs;
	int n;			/* its file: /a/fN */
	int ret;		/* 0 once it met -EDQUOT, else why not */
	uint64_t wrote;		/* bytes in its file */
};

/* Append pieces to the writer's file until the limit stops it. */
static void *write_until_full(void *arg)
{
	struct writer *w = arg;
	static const char fill[PIECE];
	struct fs_stat st;
	struct fs_ino ino;
	char path[32];
	int i, ret;

	snprintf(path, sizeof(path), "/a/f%d", w->n);
	ret = fs_create(w->fs, path, 0644, &ino);
	for (i = 0; ret == 0 && i < MAX_PIECES; i++)
		ret = fs_write(w->fs, ino, (uint64_t)i * PIECE, fill, PIECE);
	w->ret = ret == -EDQUOT ? 0 : ret ? ret : -ENOSPC;
	if (fs_stat(w->fs, ino, &st) == 0)
		w->wrote = st.size;
	return NULL;
}

TEST(qgroup_concurrent, writers_stop_together_at_the_limit)
{
	struct env e = { 0 };
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	struct fs_subvol sv;
	uint64_t total = 0;
	int i;

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_get(e.fs, "/a", &sv));
	CHECK_OK(fs_qgroup_limit(e.fs, sv.id, BTRFS_QGROUP_LIMIT_MAX_RFER,
				 LIMIT));
	CHECK_OK(fs_sync(e.fs));
	for (i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ e.fs, i, -1, 0 };
		CHECK_OK(pthread_create(&th[i], NULL, write_until_full, &w[i]));
	}
	for (i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < WRITERS; i++) {
		CHECK_OK(w[i].ret);
		total += w[i].wrote;
	}
	printf("# %d writers wrote %llu bytes under a %llu-byte limit\n",
	       WRITERS, (unsigned long long)total, (unsigned long long)LIMIT);
	CHECK_OK(sync_compare(e.fs));
	CHECK(qgroup_find(e.fs->qgroups, sv.id)->rfer <= LIMIT);
	/* They filled it: what is left is less than each one's metadata
	 * block and last piece. */
	CHECK(total + WRITERS * (PIECE + 16384) >= LIMIT - 64 * 1024);
	CHECK_OK(env_close(&e));
}
