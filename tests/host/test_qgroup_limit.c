/*
 * Quota group limits (fs/qgroup_limit.c): a write, reflink, snapshot or
 * receive that would take a qgroup past its referenced or exclusive
 * limit, at level 0 or above, fails with -EDQUOT, the part of a write
 * that fits staying as on Linux; freeing never fails and lifts the limit; `limit
 * none` removes it. Each case checks the counts against the brute force
 * (test_qgroup_env.c) and ends with `btrfs check --qgroup-report`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/qgroup.h"
#include "../../fs/send.h"
#include "qgroup_env.h"
#include "test.h"

#define KIB 1024ull
#define MIB (1024 * KIB)
#define RFER BTRFS_QGROUP_LIMIT_MAX_RFER
#define EXCL BTRFS_QGROUP_LIMIT_MAX_EXCL

static u64 size_of(struct fs_info *fs, const char *path)
{
	struct fs_stat st;
	struct fs_ino ino;

	if (fs_lookup(fs, path, 0, &ino) || fs_stat(fs, ino, &st))
		return (u64)-1;
	return st.size;
}

static struct qgroup *group(struct fs_info *fs, u64 id)
{
	return qgroup_find(fs->qgroups, id);
}

TEST(qgroup_limit, rfer_write_stops_where_linux_does)
{
	struct env e = { 0 };
	struct fs_ino ino;

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_sync(e.fs));
	CHECK_EQ(group(e.fs, 256)->rfer, 16384);
	CHECK_OK(fs_qgroup_limit(e.fs, 256, RFER, MIB));
	/* Linux's loop mount wrote 1015808 bytes of this: the limit less
	 * the subvolume's leaf less one block of metadata. */
	CHECK_EQ(put(e.fs, "/a/f", 0, 2 * MIB, 1), -EDQUOT);
	CHECK_EQ(size_of(e.fs, "/a/f"), 1015808);
	CHECK_OK(sync_compare(e.fs));
	CHECK(group(e.fs, 256)->rfer <= MIB);
	CHECK_EQ(put(e.fs, "/a/g", 0, 4096, 2), -EDQUOT);
	CHECK_EQ(put(e.fs, "/a/f", 8192, 4096, 2), -EDQUOT);
	/* The rest of the filesystem is not limited. */
	CHECK_OK(put(e.fs, "/h", 0, 2 * MIB, 3));
	/* Freeing at the limit works, and lifts it. */
	CHECK_OK(fs_lookup(e.fs, "/a/f", 0, &ino));
	CHECK_OK(fs_truncate(e.fs, ino, 4096));
	CHECK_OK(fs_unlink(e.fs, "/a/f"));
	CHECK_OK(put(e.fs, "/a/g", 0, 512 * KIB, 4));
	CHECK_OK(sync_compare(e.fs));
	/* limit none */
	CHECK_OK(fs_qgroup_limit(e.fs, 256, RFER, 0));
	CHECK_OK(put(e.fs, "/a/g", 0, 2 * MIB, 5));
	CHECK_OK(sync_compare(e.fs));
	CHECK(group(e.fs, 256)->rfer > 2 * MIB);
	CHECK_OK(env_close(&e));
}

/* A snapshot shares everything: its exclusive bytes grow only as its
 * writes copy what it shared. */
TEST(qgroup_limit, excl_snapshot_sharing_then_cow)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(put(e.fs, "/a/f", 0, 800 * KIB, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_EQ(group(e.fs, 257)->excl, 16384);
	CHECK_OK(fs_qgroup_limit(e.fs, 257, EXCL, 256 * KIB));
	/* Referenced bytes far past the exclusive limit are fine. */
	CHECK_OK(put(e.fs, "/s/g", 0, 64 * KIB, 2));
	/* Copying shared data makes it the snapshot's own. */
	CHECK_EQ(put(e.fs, "/s/f", 0, 400 * KIB, 3), -EDQUOT);
	CHECK_OK(sync_compare(e.fs));
	CHECK(group(e.fs, 257)->excl <= 256 * KIB);
	CHECK(group(e.fs, 257)->excl > 200 * KIB);
	/* The source is not limited. */
	CHECK_OK(put(e.fs, "/a/f", 0, 800 * KIB, 4));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* A level-1 group's limit holds its members together. */
TEST(qgroup_limit, level1_parent)
{
	const u64 g = 1ULL << 48 | 1;
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(fs_qgroup_create(e.fs, g));
	CHECK_OK(fs_qgroup_relation(e.fs, 256, g, 1));
	CHECK_OK(fs_qgroup_relation(e.fs, 257, g, 1));
	CHECK_OK(fs_quota_rescan_wait(e.fs));
	CHECK_OK(fs_qgroup_limit(e.fs, g, RFER, MIB));
	CHECK_OK(put(e.fs, "/a/f", 0, 600 * KIB, 1));
	CHECK_EQ(put(e.fs, "/b/f", 0, 600 * KIB, 2), -EDQUOT);
	CHECK_OK(sync_compare(e.fs));
	CHECK(group(e.fs, g)->rfer <= MIB);
	CHECK(group(e.fs, g)->rfer > 900 * KIB);
	/* Not a member: not limited. */
	CHECK_OK(fs_subvol_create(e.fs, "/c"));
	CHECK_OK(put(e.fs, "/c/f", 0, 2 * MIB, 3));
	CHECK_OK(fs_unlink(e.fs, "/a/f"));
	CHECK_OK(put(e.fs, "/b/f", 0, 600 * KIB, 4));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* A reflink into another subvolume references the shared extents there;
 * one inside a subvolume references nothing new. */
TEST(qgroup_limit, reflink)
{
	struct env e = { 0 };

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_create(e.fs, "/b"));
	CHECK_OK(put(e.fs, "/a/f", 0, 600 * KIB, 1));
	/* The targets' names first: a name needs room of its own. */
	CHECK_OK(fs_create(e.fs, "/a/g", 0644, NULL));
	CHECK_OK(fs_create(e.fs, "/a/h", 0644, NULL));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_qgroup_limit(e.fs, 257, RFER, 256 * KIB));
	CHECK_EQ(reflink(e.fs, "/a/f", "/b/g", 0, 0), -EDQUOT);
	CHECK_EQ(size_of(e.fs, "/b/g"), 0);
	CHECK_OK(fs_qgroup_limit(e.fs, 256, RFER,
				 group(e.fs, 256)->rfer + 32 * KIB));
	CHECK_OK(reflink(e.fs, "/a/f", "/a/g", 0, 0));
	CHECK_OK(reflink(e.fs, "/a/f", "/a/h", 0, 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(fs_qgroup_limit(e.fs, 257, RFER, 0));
	CHECK_OK(reflink(e.fs, "/a/f", "/b/g", 0, 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* A snapshot's entry goes in its directory's subvolume, which must have
 * room for it (Linux's three blocks). */
TEST(qgroup_limit, snapshot_into_a_full_subvolume)
{
	struct env e = { 0 };
	struct fs_ino ino;

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_qgroup_limit(e.fs, 256, RFER, 512 * KIB));
	CHECK_EQ(put(e.fs, "/a/f", 0, MIB, 1), -EDQUOT);
	CHECK_EQ(fs_subvol_snapshot(e.fs, "/a", "/a/s", 0), -EDQUOT);
	CHECK_EQ(fs_lookup(e.fs, "/a/s", 0, &ino), -ENOENT);
	CHECK_EQ(fs_subvol_create(e.fs, "/a/v"), -EDQUOT);
	CHECK_OK(fs_subvol_snapshot(e.fs, "/a", "/s", 0));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}

/* A send stream in memory. */
struct stream {
	u8 *buf;
	size_t len, cap, pos;
};

static int stream_write(void *ctx, const void *p, size_t n)
{
	struct stream *s = ctx;

	if (s->len + n > s->cap) {
		size_t c = (s->len + n) * 2;
		u8 *b = realloc(s->buf, c);

		if (!b)
			return -ENOMEM;
		s->buf = b;
		s->cap = c;
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return 0;
}

static long stream_read(void *ctx, void *p, size_t n)
{
	struct stream *s = ctx;

	n = n < s->len - s->pos ? n : s->len - s->pos;
	memcpy(p, s->buf + s->pos, n);
	s->pos += n;
	return (long)n;
}

static void quiet(void *ctx, enum fs_receive_say kind, const char *msg,
		  int err)
{
	(void)ctx;
	if (kind == FS_RECEIVE_ERROR)
		printf("# receive: %s (%d)\n", msg, err);
}

/* Receive stream s into dir, stopping at the first error (btrfs
 * receive's default). */
static int receive(struct fs_info *fs, struct stream *s, const char *dir)
{
	struct fs_receive_args a = {
		.dir = dir, .shown_dir = dir, .read = stream_read,
		.read_ctx = s, .max_errors = 1, .say = quiet,
	};

	s->pos = 0;
	return fs_receive(fs, &a);
}

/*
 * A receive is a snapshot or a new subvolume in its directory's
 * subvolume, then writes in it: into a full subvolume it fails with
 * -EDQUOT before anything is made; into a directory whose new subvolume
 * has a limit already (its group made beforehand) the writes stop at
 * the limit and what was received stays, writable. Nothing else moves.
 */
TEST(qgroup_limit, receive_stops_at_limits)
{
	struct env e = { 0 };
	struct fs_send_opts o = { 0 };
	struct stream s = { 0 };
	struct fs_subvol sv;
	struct fs_ino ino;
	u64 had, a;

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/src"));
	CHECK_OK(put(e.fs, "/src/f", 0, 600 * KIB, 1));
	CHECK_OK(fs_subvol_snapshot(e.fs, "/src", "/snap", FS_SNAP_RDONLY));
	CHECK_OK(fs_subvol_get(e.fs, "/snap", &sv));
	o.proto = 2;
	o.write = stream_write;
	o.ctx = &s;
	CHECK_OK(fs_send(e.fs, sv.id, "snap", &o));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(fs_subvol_get(e.fs, "/a", &sv));
	a = sv.id;
	CHECK_OK(fs_qgroup_limit(e.fs, a, RFER, 512 * KIB));
	CHECK_EQ(put(e.fs, "/a/f", 0, MIB, 2), -EDQUOT);
	CHECK_OK(fs_sync(e.fs));
	had = size_of(e.fs, "/a/f");
	CHECK_EQ(receive(e.fs, &s, "/a"), -EDQUOT);
	CHECK_EQ(fs_lookup(e.fs, "/a/snap", 0, &ino), -ENOENT);
	CHECK_EQ(size_of(e.fs, "/a/f"), had);
	CHECK_OK(sync_compare(e.fs));
	/* The next subvolume's group, limited before it exists. */
	CHECK_OK(fs_mkdir(e.fs, "/r", 0755));
	CHECK_OK(fs_qgroup_create(e.fs, a + 1));
	CHECK_OK(fs_qgroup_limit(e.fs, a + 1, RFER, 256 * KIB));
	CHECK_EQ(receive(e.fs, &s, "/r"), -EDQUOT);
	CHECK_OK(fs_subvol_get(e.fs, "/r/snap", &sv));
	CHECK_EQ(sv.id, a + 1);
	CHECK(size_of(e.fs, "/r/snap/f") < 256 * KIB);
	CHECK_OK(sync_compare(e.fs));
	CHECK(group(e.fs, a + 1)->rfer <= 256 * KIB);
	CHECK_OK(fs_qgroup_limit(e.fs, a + 1, RFER, 0));
	CHECK_OK(put(e.fs, "/r/snap/g", 0, 4096, 3));
	/* Room again: the same stream goes whole. */
	CHECK_OK(fs_qgroup_limit(e.fs, a, RFER, 0));
	CHECK_OK(fs_unlink(e.fs, "/a/f"));
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(receive(e.fs, &s, "/a"));
	CHECK_EQ(size_of(e.fs, "/a/snap/f"), 600 * KIB);
	CHECK_OK(sync_compare(e.fs));
	free(s.buf);
	CHECK_OK(env_close(&e));
}

/* Set subvolume id's referenced limit to its committed count and nodes
 * tree blocks more. */
static int room_of_nodes(struct env *e, u64 id, u64 nodes)
{
	int ret = fs_sync(e->fs);

	return ret ? ret : fs_qgroup_limit(e->fs, id, RFER,
					    group(e->fs, id)->rfer +
					    nodes * 16384);
}

/*
 * A new name reserves room for its metadata, as Linux's: on Linux's
 * loop mount (16 KiB nodes) a create, mkdir or link needs room for 5
 * nodes and a symlink 6. Names made until the limit stops them leave
 * the counts within it.
 */
TEST(qgroup_limit, names_reserve_metadata_as_linux)
{
	struct env e = { 0 };
	struct fs_ino ino;
	char name[32];
	int i, ret = 0;

	CHECK_OK(env_open(&e, 16384));
	CHECK_OK(fs_subvol_create(e.fs, "/a"));
	CHECK_OK(room_of_nodes(&e, 256, 4));
	CHECK_EQ(fs_create(e.fs, "/a/f", 0644, NULL), -EDQUOT);
	CHECK_EQ(fs_lookup(e.fs, "/a/f", 0, &ino), -ENOENT);
	CHECK_EQ(fs_mkdir(e.fs, "/a/d", 0755), -EDQUOT);
	CHECK_OK(room_of_nodes(&e, 256, 5));
	CHECK_OK(fs_create(e.fs, "/a/f", 0644, NULL));
	CHECK_OK(room_of_nodes(&e, 256, 4));
	CHECK_EQ(fs_link(e.fs, "/a/f", "/a/g"), -EDQUOT);
	CHECK_OK(room_of_nodes(&e, 256, 5));
	CHECK_EQ(fs_symlink(e.fs, "f", "/a/s"), -EDQUOT);
	CHECK_OK(fs_link(e.fs, "/a/f", "/a/g"));
	CHECK_OK(room_of_nodes(&e, 256, 6));
	CHECK_OK(fs_symlink(e.fs, "f", "/a/s"));
	CHECK_OK(sync_compare(e.fs));
	/* Many names against 256 KiB: they stop within it. */
	CHECK_OK(fs_qgroup_limit(e.fs, 256, RFER, 256 * KIB));
	for (i = 0; i < 5000 && ret == 0; i++) {
		snprintf(name, sizeof(name), "/a/n%05d", i);
		ret = fs_create(e.fs, name, 0644, NULL);
	}
	printf("# %d names, then %d\n", i - 1, ret);
	CHECK_EQ(ret, -EDQUOT);
	CHECK(i > 100);
	CHECK_OK(sync_compare(e.fs));
	CHECK(group(e.fs, 256)->rfer <= 256 * KIB);
	/* Removing names never needs room; a higher limit lets names in
	 * again. */
	CHECK_OK(fs_unlink(e.fs, "/a/n00000"));
	CHECK_OK(room_of_nodes(&e, 256, 5));
	CHECK_OK(fs_create(e.fs, name, 0644, NULL));
	CHECK_OK(sync_compare(e.fs));
	CHECK_OK(env_close(&e));
}
