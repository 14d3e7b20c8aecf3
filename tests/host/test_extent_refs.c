/*
 * Extent back-references (fs/extent_tree.c, fs/extent_alloc.c) as the
 * reference describes them ("Extent refs"): the four kinds, tree block
 * ref, shared block ref, extent data ref and shared data ref, inline in
 * the extent item while it has room and keyed items after; the
 * full-backref flag; reference counts; the partial overwrite that splits
 * a data extent (a second file extent item, the count +1, no new
 * back-reference); reflinks (one more EXTENT_DATA_REF per new reference);
 * and delayed refs folding many updates into one net change before they
 * reach the extent tree.
 *
 * The ref cases queue changes on extents of a scratch filesystem (RAM
 * fault device), run the delayed refs, and read the extent tree of the
 * running transaction, which is then dropped uncommitted (its made-up
 * parents would not pass btrfs check). The split case goes through the
 * public API and commits, and `btrfs check` (when installed) judges it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/sync.h>

#include "../../fs/backref.h"
#include "../../fs/block_group.h"
#include "../../fs/ctree_write.h"
#include "../../fs/extent_tree.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/subvol.h"
#include "../../fs/transaction.h"
#include "shim/fault_dev.h"
#include "test.h"

#define MAX_REFS 200

/* One back-reference of an extent, inline or keyed. */
struct bref {
	u8 type;		/* BTRFS_*_REF_KEY */
	int keyed;		/* its own item, not inline */
	u64 id;			/* root (TREE_BLOCK, EXTENT_DATA) or parent */
	u64 ino, offset;	/* EXTENT_DATA_REF */
	u32 count;		/* 1 for block refs */
};

/* An extent as the extent tree has it. */
struct ext {
	int found;
	u64 refs, flags;
	u32 nrefs, ninline;
	struct bref r[MAX_REFS];
};

struct scratch {
	struct fault_dev *dev;
	struct fs_info *fs;
	struct trans *t;
};

static int scratch_open(struct scratch *s)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };

	s->dev = fault_dev_new(128ull << 20);
	if (!s->dev || fs_mkfs(fault_dev_blk(s->dev), &o) ||
	    fs_mount(fault_dev_blk(s->dev), 0, &s->fs))
		return -EIO;
	down_read(&s->fs->trans_sem);	/* a change in progress */
	return trans_join(s->fs, &s->t);
}

static void scratch_close(struct scratch *s)
{
	if (s->fs) {
		trans_free(s->fs->running);	/* never committed */
		s->fs->running = NULL;
		up_read(&s->fs->trans_sem);
		fs_umount(s->fs);
	}
	fault_dev_free(s->dev);
}

/* Run case fn on a fresh scratch filesystem, then drop it. */
static void with_scratch(void (*fn)(struct scratch *s))
{
	struct scratch s = { 0 };

	if (scratch_open(&s) == 0)
		fn(&s);
	else
		test_fail(__FILE__, __LINE__, "no scratch filesystem");
	scratch_close(&s);
}

/* Parse one ref body of type at d (inline: after the type byte). */
static u32 parse_ref(u8 type, const u8 *d, struct bref *r)
{
	memset(r, 0, sizeof(*r));
	r->type = type;
	r->count = 1;
	if (type == BTRFS_EXTENT_DATA_REF_KEY) {
		r->id = D_GET64(struct d_extent_data_ref, d, root);
		r->ino = D_GET64(struct d_extent_data_ref, d, objectid);
		r->offset = D_GET64(struct d_extent_data_ref, d, offset);
		r->count = D_GET32(struct d_extent_data_ref, d, count);
		return sizeof(struct d_extent_data_ref);
	}
	r->id = get_le64(d);
	if (type == BTRFS_SHARED_DATA_REF_KEY) {
		r->count = get_le32(d + 8);
		return 12;
	}
	return 8;
}

/* Read extent bytenr and all its back-references. */
static int read_extent(struct fs_info *fs, u64 bytenr, struct ext *e)
{
	struct key k = { bytenr, 0, 0 };
	struct ctree_path p;
	int ret;

	memset(e, 0, sizeof(*e));
	ctree_path_init(&p);
	ret = ctree_search_ge(&fs->extent_root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		u32 size, pos;
		const u8 *d = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid != bytenr || e->nrefs >= MAX_REFS)
			break;
		if (k.type == BTRFS_EXTENT_ITEM_KEY ||
		    k.type == BTRFS_METADATA_ITEM_KEY) {
			e->found = 1;
			e->refs = D_GET64(struct d_extent_item, d, refs);
			e->flags = D_GET64(struct d_extent_item, d, flags);
			for (pos = sizeof(struct d_extent_item); pos < size;) {
				pos += 1 + parse_ref(d[pos], d + pos + 1,
						     &e->r[e->nrefs]);
				e->nrefs++;
				e->ninline++;
			}
		} else if (k.type >= BTRFS_TREE_BLOCK_REF_KEY &&
			   k.type <= BTRFS_SHARED_DATA_REF_KEY) {
			struct bref *r = &e->r[e->nrefs++];

			/* Keyed: the root or parent is the key offset
			 * (for data refs the hash, and the body says). */
			memset(r, 0, sizeof(*r));
			r->type = k.type;
			r->count = 1;
			r->id = k.offset;
			if (k.type == BTRFS_EXTENT_DATA_REF_KEY)
				parse_ref(k.type, d, r);
			if (k.type == BTRFS_SHARED_DATA_REF_KEY)
				r->count = get_le32(d);
			r->keyed = 1;
		}
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Sum of the counts of e's back-references. */
static u64 count_sum(const struct ext *e)
{
	u64 sum = 0;
	u32 i;

	for (i = 0; i < e->nrefs; i++)
		sum += e->r[i].count;
	return sum;
}

/* Whether inline refs are sorted as Linux searches them: by type. */
static int inline_sorted(const struct ext *e)
{
	u32 i;

	for (i = 1; i < e->ninline; i++)
		if (e->r[i - 1].type > e->r[i].type)
			return 0;
	return 1;
}

static struct dref_key ref_key(u8 type, u64 bytenr, u64 id, u64 owner,
			       u64 offset)
{
	struct dref_key k;

	memset(&k, 0, sizeof(k));
	k.bytenr = bytenr;
	k.type = type;
	if (type == BTRFS_TREE_BLOCK_REF_KEY ||
	    type == BTRFS_EXTENT_DATA_REF_KEY)
		k.root = id;
	else
		k.parent = id;
	k.owner = owner;
	k.offset = offset;
	return k;
}

/* Data: extent data refs and shared data refs, inline then keyed. */
static void data_refs(struct scratch *s)
{
	struct dref_key k = { 0 };
	static struct ext e;
	u64 start, len;
	u32 i, nkeyed = 0;

	CHECK_OK(extent_alloc_data(s->t, 65536, &start, &len));
	k = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, 257, 0);
	CHECK_OK(delayed_ref_alloc(s->t, &k, len, 1, 0));
	k = ref_key(BTRFS_SHARED_DATA_REF_KEY, start, 1 << 30, 0, 0);
	CHECK_OK(delayed_ref_add(s->t, &k, len, 1, 3));
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	CHECK(e.found);
	CHECK_EQ(e.refs, 4);
	CHECK(e.flags & BTRFS_EXTENT_FLAG_DATA);
	CHECK_EQ(e.ninline, 2);
	CHECK_EQ(e.nrefs, 2);
	CHECK_EQ(e.r[0].type, BTRFS_EXTENT_DATA_REF_KEY);
	CHECK_EQ(e.r[0].ino, 257);
	CHECK_EQ(e.r[1].type, BTRFS_SHARED_DATA_REF_KEY);
	CHECK_EQ(e.r[1].count, 3);
	/* 80 more inodes: the item fills, the rest become keyed refs. */
	for (i = 0; i < 80; i++) {
		k = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, 1000 + i,
			    4096 * i);
		CHECK_OK(delayed_ref_add(s->t, &k, len, 1,
					 1 + (long long)(i % 2)));
	}
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	for (i = 0; i < e.nrefs; i++)
		nkeyed += e.r[i].keyed;
	CHECK_EQ(e.nrefs, 82);
	CHECK(nkeyed > 0 && e.ninline > 2);
	CHECK(inline_sorted(&e));
	CHECK_EQ(e.refs, 4 + 80 + 40);
	CHECK_EQ(count_sum(&e), e.refs);
	/* Dropping every ref removes the extent item and its keyed refs. */
	for (i = 0; i < 80; i++) {
		k = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, 1000 + i,
			    4096 * i);
		CHECK_OK(delayed_ref_add(s->t, &k, len, 1,
					 -1 - (long long)(i % 2)));
	}
	k = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, 257, 0);
	CHECK_OK(delayed_ref_add(s->t, &k, len, 1, -1));
	k = ref_key(BTRFS_SHARED_DATA_REF_KEY, start, 1 << 30, 0, 0);
	CHECK_OK(delayed_ref_add(s->t, &k, len, 1, -3));
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	CHECK(!e.found);
	CHECK_EQ(e.nrefs, 0);
}

TEST(extent_refs, data_refs_inline_and_keyed)
{
	with_scratch(data_refs);
}

/* Queue mod on the EXTENT_DATA_REF of inode ino (offset 0) of extent
 * [start, +len). */
static int data_ref_mod(struct trans *t, u64 start, u64 len, u64 ino,
			long long mod)
{
	struct dref_key k = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, ino,
				    0);

	return mod > 0 && ino == 1000 ? delayed_ref_alloc(t, &k, len, 1, 0) :
	       delayed_ref_add(t, &k, len, 1, mod);
}

/* Queue the drop of every ref of e (an extent of `len` bytes at start):
 * the inline ones first when keyed_last, else the keyed ones first. */
static int drop_all(struct trans *t, u64 start, u64 len,
		    const struct ext *e, int keyed_last)
{
	int pass, ret = 0;
	u32 i;

	for (pass = 0; pass < 2 && ret == 0; pass++)
		for (i = 0; i < e->nrefs && ret == 0; i++)
			if (e->r[i].keyed == (pass == keyed_last))
				ret = data_ref_mod(t, start, len, e->r[i].ino,
						   -(long long)e->r[i].count);
	return ret;
}

/* An extent's item goes with its last reference, whether that one was
 * inline (the item is deleted where the ref was found) or keyed (where
 * the count is lowered), and its neighbours in the extent tree's leaf
 * keep theirs: three adjacent extents of 40 refs each (inline and
 * keyed); the middle one loses its keyed refs last, the third its inline
 * refs last, in one run of the delayed refs. */
static void last_ref_removes_item(struct scratch *s)
{
	static struct ext e[3];
	u64 start[3], len[3], used;
	u32 i, j;

	for (i = 0; i < 3; i++) {
		CHECK_OK(extent_alloc_data(s->t, 65536, &start[i], &len[i]));
		for (j = 0; j < 40; j++)
			CHECK_OK(data_ref_mod(s->t, start[i], len[i], 1000 + j,
					      1));
	}
	CHECK_OK(delayed_refs_run(s->t));
	CHECK(start[1] == start[0] + len[0] && start[2] == start[1] + len[1]);
	for (i = 0; i < 3; i++) {
		CHECK_OK(read_extent(s->fs, start[i], &e[i]));
		CHECK_EQ(e[i].refs, 40);
		CHECK(e[i].ninline > 0 && e[i].ninline < e[i].nrefs);
	}
	used = s->fs->bytes_used;
	CHECK_OK(drop_all(s->t, start[1], len[1], &e[1], 1));
	CHECK_OK(drop_all(s->t, start[2], len[2], &e[2], 0));
	CHECK_OK(delayed_refs_run(s->t));
	for (i = 1; i < 3; i++) {
		CHECK_OK(read_extent(s->fs, start[i], &e[i]));
		CHECK(!e[i].found);
		CHECK_EQ(e[i].nrefs, 0);	/* no keyed ref left behind */
	}
	CHECK_EQ(s->fs->bytes_used, used - len[1] - len[2]);
	CHECK_OK(read_extent(s->fs, start[0], &e[0]));
	CHECK(e[0].found);
	CHECK_EQ(e[0].refs, 40);
	CHECK_EQ(e[0].nrefs, 40);
	CHECK_EQ(count_sum(&e[0]), 40);
}

TEST(extent_refs, last_ref_removes_the_item_inline_or_keyed)
{
	with_scratch(last_ref_removes_item);
}

/* Tree blocks: tree block refs, shared block refs, FULL_BACKREF. */
static void block_refs(struct scratch *s)
{
	struct ctree_root root;
	struct tree_block *b;
	struct dref_key k;
	static struct ext e;
	u32 i, nkeyed = 0;
	u64 start;

	ctree_root_init(&root, s->fs, 300, 0, 0, 0);
	CHECK_OK(extent_alloc_tree_block(s->t, &root, 1, &b));
	start = b->start;
	tree_block_put(b);	/* the transaction's dirty list keeps it */
	/* A second tree refers to it, and a parent block shares it. */
	k = ref_key(BTRFS_TREE_BLOCK_REF_KEY, start, 301, 1, 0);
	CHECK_OK(delayed_ref_add(s->t, &k, s->fs->nodesize, 0, 1));
	k = ref_key(BTRFS_SHARED_BLOCK_REF_KEY, start, 1 << 30, 1, 0);
	CHECK_OK(delayed_ref_add(s->t, &k, s->fs->nodesize, 0, 1));
	CHECK_OK(delayed_ref_set_flags(s->t, start, s->fs->nodesize,
				       BTRFS_BLOCK_FLAG_FULL_BACKREF));
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	CHECK(e.found);
	CHECK_EQ(e.refs, 3);
	CHECK(e.flags & BTRFS_EXTENT_FLAG_TREE_BLOCK);
	CHECK(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF);
	CHECK_EQ(e.ninline, 3);
	CHECK_EQ(e.r[0].type, BTRFS_TREE_BLOCK_REF_KEY);
	CHECK_EQ(e.r[0].id, 301);	/* descending root within the type */
	CHECK_EQ(e.r[1].id, 300);
	CHECK_EQ(e.r[2].type, BTRFS_SHARED_BLOCK_REF_KEY);
	CHECK_EQ(e.r[2].id, 1 << 30);
	/* Many parents: inline refs fill, the rest are keyed. */
	for (i = 1; i <= 150; i++) {
		k = ref_key(BTRFS_SHARED_BLOCK_REF_KEY, start,
			    (1ull << 30) + i * 4096ull, 1, 0);
		CHECK_OK(delayed_ref_add(s->t, &k, s->fs->nodesize, 0, 1));
	}
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	for (i = 0; i < e.nrefs; i++)
		nkeyed += e.r[i].keyed;
	CHECK_EQ(e.refs, 153);
	CHECK_EQ(e.nrefs, 153);
	CHECK(nkeyed > 0);
	CHECK(inline_sorted(&e));
	CHECK_EQ(count_sum(&e), e.refs);
}

TEST(extent_refs, block_refs_full_backref)
{
	with_scratch(block_refs);
}

/* A tree block of tree root at level, allocated in s's transaction. */
static u64 new_block(struct scratch *s, u64 root_id, int level)
{
	struct ctree_root root;
	struct tree_block *b;
	u64 start = 0;

	ctree_root_init(&root, s->fs, root_id, 0, 0, 0);
	if (extent_alloc_tree_block(s->t, &root, level, &b) == 0) {
		start = b->start;
		tree_block_put(b);
	}
	return start;
}

/* A shared block ref of block at level to parent, run at once. */
static int share(struct scratch *s, u64 block, int level, u64 parent)
{
	struct dref_key k = ref_key(BTRFS_SHARED_BLOCK_REF_KEY, block, parent,
				    (u64)level, 0);
	int ret = delayed_ref_add(s->t, &k, s->fs->nodesize, 0, 1);

	return ret ? ret : delayed_refs_run(s->t);
}

/*
 * The walker's sets of subvolumes over shared refs that loop. The root
 * of a relocation tree names itself as its parent (Linux writes it so,
 * and btrfs check passes it): that edge adds nothing. A longer loop is
 * corruption: the walk says so instead of recursing until the stack
 * ends (btrfs-progs' fsck-023 image overflowed fsck's quota check).
 */
static void looping_refs(struct scratch *s)
{
	u64 self = new_block(s, BTRFS_FS_TREE_OBJECTID, 1);
	u64 a = new_block(s, BTRFS_FS_TREE_OBJECTID, 1);
	u64 b = new_block(s, BTRFS_FS_TREE_OBJECTID, 2);
	struct rootsets rs;
	struct backref_cache *c = NULL;
	const u64 *v = NULL;
	u32 id = 0, n = 0;

	CHECK(self && a && b);
	CHECK_OK(share(s, self, 1, self));
	CHECK_OK(share(s, a, 1, b));
	CHECK_OK(share(s, b, 2, a));
	rootsets_init(&rs);
	CHECK_OK(backref_cache_new(s->fs, BACKREF_CURRENT, &rs, &c));
	CHECK_OK(backref_root_set(c, self, 0, BACKREF_TRANS_HELD, &id));
	rootsets_get(&rs, id, &v, &n);
	CHECK_EQ(n, 1);
	CHECK_EQ(v[0], BTRFS_FS_TREE_OBJECTID);
	CHECK_EQ(backref_root_set(c, a, 0, BACKREF_TRANS_HELD, &id),
		 -EUCLEAN);
	backref_cache_free(c);
	rootsets_reset(&rs);
}

/*
 * A data extent an older Linux's free space cache (v1) holds: its
 * reference names the root tree, which has no root item. The walker
 * reaches no subvolume through it instead of failing (fsck's quota check
 * and a rescan failed on such images with quotas on).
 */
static void root_tree_data_ref(struct scratch *s)
{
	struct backref_cache *c = NULL;
	struct rootsets rs;
	struct dref_key k;
	const u64 *v = NULL;
	u64 start, len;
	u32 id = 1, n = 1;

	CHECK_OK(extent_alloc_data(s->t, 4096, &start, &len));
	k = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start,
		    BTRFS_ROOT_TREE_OBJECTID, 256, 0);
	CHECK_OK(delayed_ref_alloc(s->t, &k, len, 1, 0));
	CHECK_OK(delayed_refs_run(s->t));
	rootsets_init(&rs);
	CHECK_OK(backref_cache_new(s->fs, BACKREF_CURRENT, &rs, &c));
	CHECK_OK(backref_root_set(c, start, 1, BACKREF_TRANS_HELD, &id));
	rootsets_get(&rs, id, &v, &n);
	CHECK_EQ(n, 0);
	backref_cache_free(c);
	rootsets_reset(&rs);
}

TEST(extent_refs, root_tree_data_ref_reaches_no_subvolume)
{
	with_scratch(root_tree_data_ref);
}

TEST(extent_refs, looping_shared_refs_end_the_walk)
{
	with_scratch(looping_refs);
}

/* Delayed refs fold many updates into one net change per ref. */
static void net_change(struct scratch *s)
{
	struct dref_key a, b;
	struct dref_head *h;
	static struct ext e;
	u64 start, len, gen_before;
	int i;

	CHECK_OK(extent_alloc_data(s->t, 4096, &start, &len));
	a = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, 257, 0);
	b = ref_key(BTRFS_EXTENT_DATA_REF_KEY, start, 5, 258, 0);
	CHECK_OK(delayed_ref_alloc(s->t, &a, len, 1, 0));
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	CHECK_EQ(e.refs, 1);
	gen_before = s->t->refs.updates;
	for (i = 0; i < 10000; i++) {
		CHECK_OK(delayed_ref_add(s->t, &a, len, 1, 1));
		CHECK_OK(delayed_ref_add(s->t, &b, len, 1, 1));
		CHECK_OK(delayed_ref_add(s->t, &b, len, 1, -1));
		if (i % 2)
			CHECK_OK(delayed_ref_add(s->t, &a, len, 1, -1));
	}
	CHECK_EQ(s->t->refs.updates - gen_before, 35000);
	h = delayed_ref_find_head(&s->t->refs, start);
	CHECK(h != NULL);
	CHECK_EQ(h->nrefs, 1);		/* b cancelled out: no node left */
	CHECK_EQ(h->total_mod, 5000);
	CHECK_EQ(s->t->refs.nrefs, 1);
	CHECK_OK(delayed_refs_run(s->t));
	CHECK_OK(read_extent(s->fs, start, &e));
	CHECK_EQ(e.refs, 5001);
	CHECK_EQ(e.nrefs, 1);		/* b never reached the extent tree */
	CHECK_EQ(e.r[0].count, 5001);
}

TEST(extent_refs, delayed_refs_fold_to_net_change)
{
	with_scratch(net_change);
}

/* The first file extent item's disk_bytenr of ino, and how many items
 * of ino point at it. */
static int file_extents(struct fs_info *fs, u64 ino, u64 *disk, u32 *n)
{
	const struct subvol_root *sv;
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct ctree_path p;
	int ret = subvol_get(fs, 5, &sv);

	*disk = 0;
	*n = 0;
	ctree_path_init(&p);
	ret = ret ? ret : ctree_search_ge(&sv->root, &k, &p);
	for (; ret == 0; ret = ctree_next_item(&p)) {
		u32 size;
		const u8 *fe = ctree_item_ptr(&p, &size);
		u64 d = D_GET64(struct d_file_extent_item, fe, disk_bytenr);

		ctree_item_key(&p, &k);
		if (k.objectid != ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		if (!*disk)
			*disk = d;
		*n += d == *disk;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Overwrite the middle of a data extent: the reference's case 3. */
static void split(struct fault_dev *dev)
{
	static u8 buf[1 << 20];
	static struct ext e;
	struct fs_info *fs;
	struct fs_ino ino;
	u64 disk;
	u32 n;

	memset(buf, 0x5a, sizeof(buf));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(fs_create(fs, "/f", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, buf, sizeof(buf)));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_write(fs, ino, 256 << 10, buf, 4096));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(file_extents(fs, ino.ino, &disk, &n));
	CHECK_OK(read_extent(fs, disk, &e));
	fs_umount(fs);
	CHECK_EQ(n, 2);			/* head and tail items */
	CHECK_EQ(e.refs, 2);		/* +1 */
	CHECK_EQ(e.nrefs, 1);		/* no new back-reference */
	CHECK_EQ(e.r[0].type, BTRFS_EXTENT_DATA_REF_KEY);
	CHECK_EQ(e.r[0].ino, ino.ino);
	CHECK_EQ(e.r[0].offset, 0);	/* the original file offset */
	CHECK_EQ(e.r[0].count, 2);
}

TEST(extent_refs, partial_overwrite_splits_extent)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *dev = fault_dev_new(128ull << 20);

	CHECK(dev != NULL);
	if (fs_mkfs(fault_dev_blk(dev), &o) == 0)
		split(dev);
	else
		test_fail(__FILE__, __LINE__, "mkfs failed");
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/*
 * The four cases of copying a shared block (reference,
 * "update_ref_for_cow"), on a subvolume of two-level trees (4 KiB nodes)
 * and its snapshot, each checked in the committed extent tree.
 */
struct cow_env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

#define COW_FILES 3000
#define SV 256ull		/* the subvolume */
#define SNAP 257ull		/* its snapshot */

/* The leaf and level-1 node on the path to ino's inode item in tree id,
 * and the node's other child beside the leaf. */
static int path_blocks(struct fs_info *fs, u64 id, u64 ino, u64 *leaf,
		       u64 *node, u64 *sibling)
{
	const struct subvol_root *sv;
	struct key k = { ino, BTRFS_INODE_ITEM_KEY, 0 };
	struct ctree_path p;
	int ret = subvol_get(fs, id, &sv);

	if (ret)
		return ret;
	ctree_path_init(&p);
	ret = ctree_search_slot(&sv->root, &k, &p);
	if (ret == 0 && (!p.nodes[1] || tb_nritems(p.nodes[1]) < 2))
		ret = -EINVAL;
	if (ret == 0) {
		*leaf = p.nodes[0]->start;
		*node = p.nodes[1]->start;
		*sibling = tb_node_blockptr(p.nodes[1], p.slots[1] ? 0 : 1);
	}
	ctree_path_release(&p);
	return ret;
}

/* Change the inode of path (chmod) and commit: the copy of its path. */
static int touch_commit(struct fs_info *fs, const char *path, u32 mode)
{
	struct fs_ino ino;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == 0)
		ret = fs_chmod(fs, ino, mode);
	return ret ? ret : fs_sync(fs);
}

/* Whether e has exactly one ref of type with id (root or parent). */
static int has_ref(const struct ext *e, u8 type, u64 id)
{
	u32 i, n = 0;

	for (i = 0; i < e->nrefs; i++)
		n += e->r[i].type == type && e->r[i].id == id;
	return n == 1;
}

static int cow_setup(struct cow_env *env)
{
	struct fs_mkfs_opts o = { NULL, 4096, 0, NULL };
	char name[32];
	int i, ret;

	env->dev = fault_dev_new(256ull << 20);
	if (!env->dev || fs_mkfs(fault_dev_blk(env->dev), &o) ||
	    fs_mount(fault_dev_blk(env->dev), 0, &env->fs))
		return -EIO;
	ret = fs_subvol_create(env->fs, "/sv");
	for (i = 0; i < COW_FILES && ret == 0; i++) {
		snprintf(name, sizeof(name), "/sv/f%04d", i);
		ret = fs_create(env->fs, name, 0644, NULL);
	}
	if (ret == 0)
		ret = fs_subvol_snapshot(env->fs, "/sv", "/snap", 0);
	return ret;
}

/* Owner copies (3b), then the snapshot copies the last ref (3d). */
static void cow_owner_then_last(struct cow_env *env)
{
	static struct ext e;
	u64 leaf, node, sib, l2, n2, s2;
	struct fs_ino ino;

	CHECK_OK(cow_setup(env));
	CHECK_OK(fs_lookup(env->fs, "/sv/f0600", 0, &ino));
	CHECK_OK(path_blocks(env->fs, SV, ino.ino, &leaf, &node, &sib));
	CHECK_OK(read_extent(env->fs, node, &e));
	CHECK_EQ(e.refs, 2);	/* the subvolume's root and the snapshot's */
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SNAP));
	/* 3b: the owner copies the shared node. */
	CHECK_OK(touch_commit(env->fs, "/sv/f0600", 0600));
	CHECK_OK(read_extent(env->fs, node, &e));
	CHECK_EQ(e.refs, 1);
	CHECK(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SNAP));
	CHECK_OK(read_extent(env->fs, sib, &e));
	CHECK_EQ(e.refs, 2);	/* the owner's copy, and the old node */
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	CHECK(has_ref(&e, BTRFS_SHARED_BLOCK_REF_KEY, node));
	CHECK(!(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF));
	CHECK_OK(read_extent(env->fs, leaf, &e));
	CHECK_EQ(e.refs, 1);	/* copied too: held by the old node only */
	CHECK(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF);
	CHECK(has_ref(&e, BTRFS_SHARED_BLOCK_REF_KEY, node));
	CHECK_OK(path_blocks(env->fs, SV, ino.ino, &l2, &n2, &s2));
	CHECK(n2 != node && l2 != leaf && s2 == sib);
	CHECK_OK(read_extent(env->fs, n2, &e));
	CHECK_EQ(e.refs, 1);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	/* 3d: the snapshot copies the node whose last ref it holds. */
	CHECK_OK(touch_commit(env->fs, "/snap/f0600", 0640));
	CHECK_OK(read_extent(env->fs, node, &e));
	CHECK(!e.found);
	CHECK_OK(read_extent(env->fs, leaf, &e));
	CHECK(!e.found);
	CHECK_OK(read_extent(env->fs, sib, &e));
	CHECK_EQ(e.refs, 2);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SNAP));
	CHECK_EQ(e.nrefs, 2);
}

TEST(extent_refs, cow_shared_by_owner_then_last_ref)
{
	struct cow_env env = { 0 };

	cow_owner_then_last(&env);
	if (env.fs)
		fs_umount(env.fs);
	if (env.dev)
		test_btrfs_check(__FILE__, __LINE__,
				 fault_dev_btrfs_check(env.dev));
	fault_dev_free(env.dev);
}

/* Another tree copies (3c), then copies its own copy again (3a). */
static void cow_other_then_own(struct cow_env *env)
{
	static struct ext e;
	u64 leaf, node, sib, l2, n2, s2;
	struct fs_ino ino;

	CHECK_OK(cow_setup(env));
	CHECK_OK(fs_lookup(env->fs, "/sv/f0010", 0, &ino));
	CHECK_OK(path_blocks(env->fs, SNAP, ino.ino, &leaf, &node, &sib));
	/* 3c: the snapshot copies a node the subvolume owns. */
	CHECK_OK(touch_commit(env->fs, "/snap/f0010", 0600));
	CHECK_OK(read_extent(env->fs, node, &e));
	CHECK_EQ(e.refs, 1);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	CHECK(!(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF));
	CHECK_OK(read_extent(env->fs, sib, &e));
	CHECK_EQ(e.refs, 2);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SNAP));
	CHECK(!(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF));
	CHECK_OK(read_extent(env->fs, leaf, &e));
	CHECK_EQ(e.refs, 1);	/* the snapshot copied it: the owner's */
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SV));
	CHECK_OK(path_blocks(env->fs, SNAP, ino.ino, &l2, &n2, &s2));
	CHECK(l2 != leaf && n2 != node);
	CHECK_OK(read_extent(env->fs, l2, &e));
	CHECK_EQ(e.refs, 1);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SNAP));
	/* 3a: the snapshot's own, unshared copy is copied and freed. */
	CHECK_OK(touch_commit(env->fs, "/snap/f0010", 0640));
	CHECK_OK(read_extent(env->fs, l2, &e));
	CHECK(!e.found);
	CHECK_OK(read_extent(env->fs, n2, &e));
	CHECK(!e.found);
	CHECK_OK(path_blocks(env->fs, SNAP, ino.ino, &leaf, &node, &sib));
	CHECK_OK(read_extent(env->fs, leaf, &e));
	CHECK_EQ(e.refs, 1);
	CHECK(has_ref(&e, BTRFS_TREE_BLOCK_REF_KEY, SNAP));
	CHECK_EQ(e.flags & BTRFS_BLOCK_FLAG_FULL_BACKREF, 0);
}

TEST(extent_refs, cow_shared_by_other_tree_then_own_copy)
{
	struct cow_env env = { 0 };

	cow_other_then_own(&env);
	if (env.fs)
		fs_umount(env.fs);
	if (env.dev)
		test_btrfs_check(__FILE__, __LINE__,
				 fault_dev_btrfs_check(env.dev));
	fault_dev_free(env.dev);
}

/* The count of e's EXTENT_DATA_REF (5, ino, offset), 0 when absent. */
static u32 data_ref_count(const struct ext *e, u64 ino, u64 offset)
{
	u32 i;

	for (i = 0; i < e->nrefs; i++)
		if (e->r[i].type == BTRFS_EXTENT_DATA_REF_KEY &&
		    e->r[i].id == 5 && e->r[i].ino == ino &&
		    e->r[i].offset == offset)
			return e->r[i].count;
	return 0;
}

/*
 * Reflink (fs/reflink.c): each new reference to an extent is one more
 * EXTENT_DATA_REF (root, inode, file offset - extent offset) through
 * delayed refs: a whole-file clone, a clone of a middle part (offset
 * wraps below zero, as Linux's does), a clone within one file; unlinking
 * the clones gives the references back.
 */
static void reflink(struct fault_dev *dev)
{
	static u8 buf[1 << 20];
	static struct ext e;
	struct fs_info *fs;
	struct fs_ino f, g;
	u64 disk;
	u32 n;

	memset(buf, 0x3c, sizeof(buf));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &fs));
	CHECK_OK(fs_create(fs, "/f", 0644, &f));
	CHECK_OK(fs_write(fs, f, 0, buf, sizeof(buf)));
	CHECK_OK(fs_create(fs, "/g", 0644, &g));
	CHECK_OK(fs_clone_range(fs, f, 0, 0, g, 0));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(file_extents(fs, f.ino, &disk, &n));
	CHECK_OK(read_extent(fs, disk, &e));
	CHECK_EQ(e.refs, 2);
	CHECK_EQ(e.nrefs, 2);
	CHECK_EQ(data_ref_count(&e, f.ino, 0), 1);
	CHECK_EQ(data_ref_count(&e, g.ino, 0), 1);
	CHECK_OK(fs_clone_range(fs, f, 256 << 10, 256 << 10, g, 0));
	CHECK_OK(fs_clone_range(fs, f, 0, 256 << 10, f, 1 << 20));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(read_extent(fs, disk, &e));
	CHECK_EQ(e.refs, 4);
	CHECK_EQ(count_sum(&e), 4);
	CHECK_EQ(data_ref_count(&e, g.ino, 0), 1);	/* g's tail */
	CHECK_EQ(data_ref_count(&e, g.ino, -(256ull << 10)), 1);
	CHECK_EQ(data_ref_count(&e, f.ino, 1 << 20), 1);
	CHECK_OK(fs_unlink(fs, "/g"));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(read_extent(fs, disk, &e));
	CHECK_EQ(e.refs, 2);
	CHECK_EQ(data_ref_count(&e, f.ino, 0), 1);
	CHECK_EQ(data_ref_count(&e, f.ino, 1 << 20), 1);
	fs_umount(fs);
}

TEST(extent_refs, reflink_adds_one_data_ref_per_reference)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *dev = fault_dev_new(128ull << 20);
	struct fs_check_report rep;
	struct fs_info *fs;

	CHECK(dev != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	reflink(dev);
	CHECK_OK(fs_mount(fault_dev_blk(dev), FS_MOUNT_RO, &fs));
	CHECK_OK(fs_check(fs, &rep));
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}

/*
 * The tree blocks a commit allocates lie together (fs/block_group.c,
 * take_from): with one-block holes ahead of the allocator's cursor (space
 * earlier commits freed) and a large free range beyond them, a new run of
 * allocations goes into the large range, one block after the other, and
 * not into the holes: their extent items then share a few extent-tree
 * leaves and their writes join.
 */
static void tree_blocks_of_a_run_lie_together(struct scratch *s)
{
	u64 ns = s->fs->nodesize, a[32], b[8], len;
	struct block_group *bg;
	u32 i;

	for (i = 0; i < 32; i++)
		CHECK_OK(bg_alloc(s->t, BTRFS_BLOCK_GROUP_METADATA, ns, ns,
				  &a[i], &len));
	for (i = 1; i < 32; i++)
		CHECK_EQ(a[i], a[i - 1] + ns);	/* in a row */
	for (i = 0; i < 32; i += 2)	/* one-block holes between them */
		bg_unpin(s->fs, a[i], ns);
	bg = bg_lookup(s->fs, a[0]);
	CHECK(bg != NULL);
	bg->cursor = a[1];	/* as after a wrap: holes come first */
	for (i = 0; i < 8; i++)
		CHECK_OK(bg_alloc(s->t, BTRFS_BLOCK_GROUP_METADATA, ns, ns,
				  &b[i], &len));
	CHECK(b[0] > a[31]);		/* past the holes */
	for (i = 1; i < 8; i++)
		CHECK_EQ(b[i], b[i - 1] + ns);
}

TEST(extent_refs, tree_blocks_of_a_run_lie_together)
{
	with_scratch(tree_blocks_of_a_run_lie_together);
}
