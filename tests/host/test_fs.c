/*
 * Filesystem read path on real images: mkfs.btrfs --rootdir builds an image
 * from a small generated tree, the image is loaded into a RAM disk, and the
 * tests mount it and compare what fs/ returns with the source files. Then
 * the same images are damaged (superblock, tree blocks, data) to check the
 * fallbacks and the errors. Skipped when mkfs.btrfs is not installed.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "../../fs/ctree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/volumes.h"
#include "../../lib/crc32c.h"
#include "test.h"
#include "test_env.h"

/* A disk image held in memory. */
struct ramdisk {
	struct blkdev dev;
	unsigned char *data;
};

static int ram_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct ramdisk *r = d->priv;

	memcpy(buf, r->data + off, len);
	return 0;
}

static const struct blkdev_ops ram_ops = { ram_read, NULL, NULL };

static struct ramdisk *ram_load(const char *path, size_t cut)
{
	FILE *f = fopen(path, "rb");
	struct ramdisk *r;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	r = calloc(1, sizeof(*r));
	r->data = malloc((size_t)n);
	if (fread(r->data, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(r->data);
		free(r);
		return NULL;
	}
	fclose(f);
	snprintf(r->dev.name, sizeof(r->dev.name), "ram");
	r->dev.size = cut && cut < (size_t)n ? cut : (uint64_t)n;
	r->dev.block_size = 512;
	r->dev.read_only = 1;
	r->dev.ops = &ram_ops;
	r->dev.priv = r;
	return r;
}

static void ram_free(struct ramdisk *r)
{
	if (r) {
		free(r->data);
		free(r);
	}
}

static char workdir[64];

/* Remove the generated tree and images when the test binary exits. */
__attribute__((destructor)) static void remove_workdir(void)
{
	char cmd[128];

	if (!workdir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", workdir);
	if (system(cmd) != 0)
		fprintf(stderr, "test_fs: could not remove %s\n", workdir);
}

/*
 * Build the source tree and image once; returns the image path, or NULL
 * with the running case skipped (mkfs.btrfs is not installed) or failed
 * (it is, and something else went wrong).
 */
static const char *image(const char *opts, const char *name)
{
	static char path[128];
	char cmd[2048];

	if (system("command -v mkfs.btrfs >/dev/null 2>&1") != 0) {
		test_skip("mkfs.btrfs not installed");
		return NULL;
	}
	if (!workdir[0]) {
		snprintf(workdir, sizeof(workdir), "/tmp/ghee-test-fs-XXXXXX");
		if (!mkdtemp(workdir)) {
			workdir[0] = 0;
			test_fail(__FILE__, __LINE__, "mkdtemp failed");
			return NULL;
		}
		snprintf(cmd, sizeof(cmd),
			 "set -e; cd %s; mkdir -p src/d/e src/many; cd src; "
			 "echo hello > a; : > empty; ln -s a lnk; "
			 "ln -s d/e/../../a rel; "
			 "yes abcdefghij | head -c 300000 > big; "
			 "truncate -s 1048576 sparse; "
			 "printf X | dd of=sparse bs=1 seek=524288 conv=notrunc "
			 "status=none; echo deep > d/e/f; "
			 "for i in $(seq 1 600); do echo $i > many/file$i; done",
			 workdir);
		if (system(cmd) != 0) {
			test_fail(__FILE__, __LINE__, "making the source "
				  "tree in %s failed", workdir);
			return NULL;
		}
	}
	snprintf(path, sizeof(path), "%s/%s.img", workdir, name);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && truncate -s 300M %s && mkfs.btrfs -q -f %s "
		 "--rootdir src %s >/dev/null 2>&1", workdir, path, opts, path);
	if (system(cmd) != 0) {
		test_fail(__FILE__, __LINE__, "mkfs.btrfs %s failed", opts);
		return NULL;
	}
	return path;
}

/*
 * Mount the default image; *rd receives the RAM disk, NULL when the case
 * was skipped or failed (image() or here says which).
 */
static struct fs_info *mount_default(struct ramdisk **rd, const char *opts)
{
	const char *p = image(opts, "default");
	struct fs_info *fs = NULL;

	*rd = NULL;
	if (!p)
		return NULL;
	*rd = ram_load(p, 0);
	if (!*rd)
		test_fail(__FILE__, __LINE__, "could not load %s", p);
	else if (fs_mount(&(*rd)->dev, FS_MOUNT_RO, &fs))
		return NULL;
	return fs;
}

/* Read all of path through fs and compare with the source file. */
static int same_as_source(struct fs_info *fs, const char *path)
{
	char host[256], *want, *got;
	struct fs_ino ino;
	size_t done;
	long n;
	FILE *f;
	int ok;

	snprintf(host, sizeof(host), "%s/src/%s", workdir, path);
	f = fopen(host, "rb");
	if (!f)
		return 0;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	want = malloc((size_t)n + 1);
	got = malloc((size_t)n + 4097);
	ok = fread(want, 1, (size_t)n, f) == (size_t)n;
	fclose(f);
	ok = ok && fs_lookup(fs, path, FS_LOOKUP_FOLLOW, &ino) == 0 &&
	     fs_read(fs, ino, 0, got, (size_t)n + 4096, &done) == 0 &&
	     done == (size_t)n && memcmp(want, got, (size_t)n) == 0;
	free(want);
	free(got);
	return ok;
}

TEST(fs, mount_lookup_read)
{
	struct ramdisk *rd;
	struct fs_info *fs = mount_default(&rd, "");
	struct fs_ino ino;
	struct fs_stat st;
	char buf[64];
	size_t n;

	if (!rd)
		return;
	CHECK(fs != NULL);
	CHECK(fs_is_read_only(fs));
	CHECK(same_as_source(fs, "a"));
	CHECK(same_as_source(fs, "/big"));
	CHECK(same_as_source(fs, "sparse"));
	CHECK(same_as_source(fs, "empty"));
	CHECK(same_as_source(fs, "d/e/f"));
	CHECK(same_as_source(fs, "many/file600"));
	CHECK(same_as_source(fs, "lnk"));
	CHECK(same_as_source(fs, "rel"));
	CHECK(same_as_source(fs, "/d/./e/../e/f"));
	CHECK_OK(fs_lookup(fs, "lnk", 0, &ino));
	CHECK_OK(fs_readlink(fs, ino, buf, sizeof(buf), &n));
	CHECK_EQ(n, 1);
	CHECK_EQ(buf[0], 'a');
	CHECK_OK(fs_lookup(fs, "/big", 0, &ino));
	CHECK_OK(fs_stat(fs, ino, &st));
	CHECK_EQ(st.size, 300000);
	CHECK_EQ(st.mode & 0170000, 0100000);
	/* A read in the middle of the file, across sector boundaries: the
	 * file is "abcdefghij\n" over and over, and 4090 = 371 * 11 + 9. */
	CHECK_OK(fs_read(fs, ino, 4090, buf, 20, &n));
	CHECK_EQ(n, 20);
	CHECK(memcmp(buf, "j\nabcdefghij\nabcdefg", 20) == 0);
	CHECK_EQ(fs_lookup(fs, "nope", 0, &ino), -ENOENT);
	CHECK_EQ(fs_lookup(fs, "a/x", 0, &ino), -ENOTDIR);
	CHECK_OK(fs_lookup(fs, "/d", 0, &ino));
	CHECK_EQ(fs_read(fs, ino, 0, buf, 1, &n), -EISDIR);
	fs_umount(fs);
	ram_free(rd);
}

struct names {
	int n;
	int seen_file600;
};

static int count_entry(void *ctx, const char *name, size_t len,
		       struct fs_ino ino, unsigned type)
{
	struct names *c = ctx;

	(void)ino;
	(void)type;
	c->n++;
	if (len == 7 && !memcmp(name, "file600", 7))
		c->seen_file600 = 1;
	return 0;
}

TEST(fs, readdir_many)
{
	struct ramdisk *rd;
	struct fs_info *fs = mount_default(&rd, "");
	struct names c = { 0, 0 };
	struct fs_ino ino;

	if (!rd)
		return;
	CHECK(fs != NULL);
	CHECK_OK(fs_lookup(fs, "many", 0, &ino));
	CHECK_OK(fs_readdir(fs, ino, count_entry, &c));
	CHECK_EQ(c.n, 600);
	CHECK(c.seen_file600);
	fs_umount(fs);
	ram_free(rd);
}

TEST(ctree, iterate_both_ways_4k_nodes)
{
	struct ramdisk *rd;
	struct fs_info *fs = mount_default(&rd, "-n 4096");
	const struct subvol_root *sv;
	struct ctree_path p;
	struct key k = { 0, 0, 0 }, prev;
	int fwd = 0, back = 0, ret;

	if (!rd)
		return;
	CHECK(fs != NULL);
	CHECK_OK(subvol_get(fs, BTRFS_FS_TREE_OBJECTID, &sv));
	CHECK(sv->root.level >= 1);
	ctree_path_init(&p);
	ret = ctree_search_ge(&sv->root, &k, &p);
	while (ret == 0) {
		ctree_item_key(&p, &k);
		CHECK(fwd == 0 || key_cmp(&prev, &k) < 0);
		prev = k;
		fwd++;
		ret = ctree_next_item(&p);
	}
	CHECK_EQ(ret, 1);
	k.objectid = (u64)-1;
	k.type = 255;
	k.offset = (u64)-1;
	ret = ctree_search_le(&sv->root, &k, &p);
	while (ret == 0) {
		ctree_item_key(&p, &k);
		CHECK(back == 0 || key_cmp(&k, &prev) < 0);
		prev = k;
		back++;
		ret = ctree_prev_item(&p);
	}
	CHECK_EQ(ret, 1);
	CHECK_EQ(fwd, back);
	CHECK(fwd > 2400);
	/* Exact, ge and le searches agree on an existing key. */
	k.objectid = 256;
	k.type = BTRFS_INODE_ITEM_KEY;
	k.offset = 0;
	CHECK_OK(ctree_lookup(&sv->root, &k, &p));
	k.offset = 1;
	CHECK_EQ(ctree_lookup(&sv->root, &k, &p), -ENOENT);
	CHECK_OK(ctree_search_le(&sv->root, &k, &p));
	ctree_item_key(&p, &prev);
	CHECK_EQ(prev.type, BTRFS_INODE_ITEM_KEY);
	ctree_path_release(&p);
	fs_umount(fs);
	ram_free(rd);
}

TEST(tree_block, clone_is_private)
{
	struct ramdisk *rd;
	struct fs_info *fs = mount_default(&rd, "");
	struct tree_block *b, *c;
	struct ctree_path p;
	struct key k = { 256, 0, 0 };

	if (!rd)
		return;
	CHECK(fs != NULL);
	ctree_path_init(&p);
	CHECK_OK(ctree_search_ge(&fs->tree_root, &k, &p));
	b = tree_block_get(p.nodes[0]);
	ctree_path_release(&p);
	CHECK_OK(tree_block_clone(b, &c));
	CHECK(c->flags & TB_CLONE);
	CHECK(c->data != b->data);
	CHECK(memcmp(c->data, b->data, b->len) == 0);
	c->data[200] ^= 1;
	CHECK(memcmp(c->data, b->data, b->len) != 0);
	tree_block_put(c);
	tree_block_put(b);
	fs_umount(fs);
	ram_free(rd);
}

/* Rewrite the superblock copy at off with a fresh checksum. */
static void super_fix_csum(unsigned char *img, uint64_t off)
{
	put_le32(img + off, ~crc32c(~0u, img + off + 32, 4096 - 32));
}

TEST(corrupt, superblock_fallback_and_refusal)
{
	const char *p = image("", "default");
	struct ramdisk *rd;
	struct fs_info *fs;

	if (!p)
		return;
	rd = ram_load(p, 0);
	CHECK(rd != NULL);
	log_set_level(LOG_ERR);
	rd->data[0x10000 + 0x100] ^= 0x40;	/* primary: bad csum */
	CHECK_OK(fs_mount(&rd->dev, 0, &fs));
	CHECK_EQ(fs->super_mirror, 1);
	CHECK(same_as_source(fs, "big"));
	fs_umount(fs);
	rd->data[0x4000000 + 0x40] ^= 1;	/* backup: bad magic */
	CHECK_EQ(fs_mount(&rd->dev, 0, &fs), -EINVAL);
	rd->data[0x4000000 + 0x40] ^= 1;
	rd->data[0x10000 + 0x100] ^= 0x40;
	/* An incompat flag ghee does not know is refused by name. */
	rd->data[0x10000 + 0xbc + 1] |= 0x20;	/* bit 13: extent_tree_v2 */
	super_fix_csum(rd->data, 0x10000);
	CHECK_EQ(fs_mount(&rd->dev, 0, &fs), -EOPNOTSUPP);
	ram_free(rd);
	log_set_level(LOG_INFO);
}

/* The leaf holding path's inode item, below its tree's root; 0 if none. */
static uint64_t leaf_of(struct fs_info *fs, const char *path)
{
	const struct subvol_root *sv;
	struct ctree_path p;
	struct fs_ino ino;
	struct key k;
	uint64_t leaf = 0;

	if (fs_lookup(fs, path, 0, &ino) || subvol_get(fs, ino.root, &sv) ||
	    sv->root.level < 1)
		return 0;
	k.objectid = ino.ino;
	k.type = BTRFS_INODE_ITEM_KEY;
	k.offset = 0;
	ctree_path_init(&p);
	if (ctree_lookup(&sv->root, &k, &p) == 0 && p.nodes[0] &&
	    tb_level(p.nodes[0]) == 0)
		leaf = p.nodes[0]->start;
	ctree_path_release(&p);
	return leaf;
}

/* A damaged leaf (not the root: 4 KiB nodes and 600 files make the fs
 * tree two levels deep) is read from its good DUP copy; with both copies
 * bad, the files it holds fail with EUCLEAN and the others still read. */
TEST(corrupt, leaf_dup_fallback_then_error)
{
	struct ramdisk *rd;
	struct fs_info *fs = mount_default(&rd, "-m dup -n 4096");
	const char *victim = "many/file600";
	struct fs_ino ino;
	uint64_t leaf, p0, p1;
	char buf[16];
	size_t n;
	int ret;

	if (!rd)
		return;
	CHECK(fs != NULL);
	leaf = leaf_of(fs, victim);
	CHECK(leaf != 0);
	CHECK(leaf != leaf_of(fs, "a"));
	p0 = phys(fs, leaf, 0);
	p1 = phys(fs, leaf, 1);
	CHECK(p0 != p1);
	fs_umount(fs);
	log_set_level(LOG_ERR);
	rd->data[p0 + 300] ^= 0xff;	/* copy 1 bad: copy 2 is used */
	CHECK_OK(fs_mount(&rd->dev, 0, &fs));
	CHECK(same_as_source(fs, victim));
	fs_umount(fs);
	rd->data[p1 + 300] ^= 0xff;	/* both bad: the leaf's files fail */
	CHECK_OK(fs_mount(&rd->dev, 0, &fs));
	ret = fs_lookup(fs, victim, 0, &ino);
	if (ret == 0)
		ret = fs_read(fs, ino, 0, buf, sizeof(buf), &n);
	CHECK_EQ(ret, -EUCLEAN);
	CHECK(same_as_source(fs, "a"));
	fs_umount(fs);
	log_set_level(LOG_INFO);
	ram_free(rd);
}

/* Mount the default image with the byte at offset at of file big's first
 * extent flipped, and look big up: 1, 0 when the image could not be made
 * (skipped), -1 when a step failed. */
static int mount_with_bad_byte(struct ramdisk **rd, struct fs_info **fs,
			       uint64_t at, struct fs_ino *ino)
{
	uint64_t l;

	*fs = mount_default(rd, "");
	if (!*rd)
		return 0;
	if (!*fs)
		return -1;
	l = first_extent(*fs, "big");
	if (!l)
		return -1;
	(*rd)->data[phys(*fs, l, 0) + at] ^= 1;
	return fs_lookup(*fs, "big", 0, ino) ? -1 : 1;
}

TEST(corrupt, data_block_is_eio)
{
	struct ramdisk *rd;
	struct fs_info *fs;
	struct fs_ino ino;
	size_t n;
	char *buf;
	int ready = mount_with_bad_byte(&rd, &fs, 5000, &ino);

	if (!ready)
		return;
	CHECK(ready > 0);
	buf = malloc(300000);
	log_set_level(LOG_ERR);
	/* The sector before is fine; the damaged one is not. */
	CHECK_OK(fs_read(fs, ino, 0, buf, 4096, &n));
	CHECK_EQ(fs_read(fs, ino, 0, buf, 300000, &n), -EIO);
	log_set_level(LOG_INFO);
	free(buf);
	fs_umount(fs);
	ram_free(rd);
}

/* A bad sector in a later piece of a read (fs/file.c reads 256 KiB pieces,
 * several in flight): the pieces before it read, the whole read is -EIO. */
TEST(corrupt, data_block_in_later_piece_is_eio)
{
	struct ramdisk *rd;
	struct fs_info *fs;
	struct fs_ino ino;
	size_t n;
	char *buf;
	int ready = mount_with_bad_byte(&rd, &fs, 270000, &ino); /* sector 65 */

	if (!ready)
		return;
	CHECK(ready > 0);
	buf = malloc(300000);
	log_set_level(LOG_ERR);
	CHECK_OK(fs_read(fs, ino, 0, buf, 262144, &n));
	CHECK_EQ(n, 262144);
	CHECK_EQ(fs_read(fs, ino, 0, buf, 300000, &n), -EIO);
	CHECK_EQ(fs_read(fs, ino, 266240, buf, 4096, &n), -EIO);
	CHECK_OK(fs_read(fs, ino, 270336, buf, 29664, &n));
	log_set_level(LOG_INFO);
	free(buf);
	fs_umount(fs);
	ram_free(rd);
}

TEST(corrupt, truncated_and_foreign_images)
{
	const char *p = image("", "default");
	struct ramdisk *rd;
	struct fs_info *fs;

	if (!p)
		return;
	log_set_level(LOG_ERR);
	rd = ram_load(p, 2 << 20);		/* 2 MiB of 300 */
	CHECK(rd != NULL);
	CHECK(fs_mount(&rd->dev, 0, &fs) < 0);
	rd->dev.size = 4096;			/* too small for a super */
	CHECK_EQ(fs_mount(&rd->dev, 0, &fs), -EINVAL);
	rd->dev.size = 16 << 20;
	memset(rd->data, 0, 16 << 20);		/* not btrfs at all */
	CHECK_EQ(fs_mount(&rd->dev, 0, &fs), -EINVAL);
	ram_free(rd);
	log_set_level(LOG_INFO);
}
