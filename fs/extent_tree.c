/*
 * The extent tree: one item per allocated extent, keyed
 * (bytenr, EXTENT_ITEM, length) for data and (bytenr, METADATA_ITEM, level)
 * for tree blocks (skinny metadata; without that feature, on filesystems
 * made before btrfs-progs 5.15, (bytenr, EXTENT_ITEM, nodesize) with a
 * d_tree_block_info before the refs), holding a d_extent_item (reference
 * count, generation, flags) and back-references. Each back-reference says
 * who refers to the extent (reference, "Extent refs"):
 *  - TREE_BLOCK_REF (root): a block of tree `root` points at the block;
 *  - SHARED_BLOCK_REF (parent): block `parent` points at it (full backref);
 *  - EXTENT_DATA_REF (root, inode, offset, count): `count` file extent items
 *    of that inode, for the extent starting at file `offset`;
 *  - SHARED_DATA_REF (parent, count): `count` file extent items in leaf
 *    `parent`.
 * A back-reference sits inline in the extent item while the item stays
 * under MAX_INLINE bytes (Linux's limit, a sixteenth of a leaf) and no keyed
 * one exists; otherwise it is its own item keyed (bytenr, type, root or
 * parent, or the data-ref hash). Inline refs are kept sorted by type, then
 * by descending "seq" (the hash, or the root/parent), the order Linux
 * searches and its tree checker demands.
 *
 * Partial overwrite of a data extent splits one file extent item into two
 * that both point at the extent with the same (root, inode, offset): the
 * EXTENT_DATA_REF count goes up by one and no new back-reference appears.
 *
 * extent_run_head() applies one merged delayed-ref head (delayed_ref.c):
 * it inserts the extent item of a new extent, or adds and drops refs on an
 * existing one (increments first, so the count never passes through zero by
 * accident), and when the count reaches zero deletes the item, the data's
 * checksums, accounts the space and pins it until the commit is on disk
 * (the items, the checksums and the free-space tree after the round,
 * neighbours together: dead_add, freed_add).
 *
 * Caller is the commit (fs->trans_sem held for write); errors abort the
 * transaction.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "../lib/array.h"
#include "../lib/crc32c.h"
#include "block_group.h"
#include "csum.h"
#include "ctree_write.h"
#include "extent_tree.h"
#include "free_space_tree.h"
#include "fs_info.h"
#include "qgroup.h"

#define EI ((u32)sizeof(struct d_extent_item))

/* Largest extent item that takes another inline ref (Linux's bound). */
static u32 max_inline(const struct fs_info *fs)
{
	return (leaf_capacity(fs->nodesize) >> 4) - (u32)sizeof(struct d_item);
}

/* btrfs's hash of an EXTENT_DATA_REF: crc32c of root, and of inode and
 * offset, combined. */
u64 extent_data_ref_hash(u64 root, u64 owner, u64 offset)
{
	u8 le[8];
	u32 high, low;

	put_le64(le, root);
	high = crc32c(~0u, le, 8);
	put_le64(le, owner);
	low = crc32c(~0u, le, 8);
	put_le64(le, offset);
	low = crc32c(low, le, 8);
	return ((u64)high << 31) ^ (u64)low;
}

/* Bytes of an inline ref of this type, 0 for an unknown type. */
u32 extent_inline_ref_size(u8 type)
{
	switch (type) {
	case BTRFS_TREE_BLOCK_REF_KEY:
	case BTRFS_SHARED_BLOCK_REF_KEY:
		return 9;
	case BTRFS_EXTENT_DATA_REF_KEY:
		return 1 + (u32)sizeof(struct d_extent_data_ref);
	case BTRFS_SHARED_DATA_REF_KEY:
		return 9 + (u32)sizeof(struct d_shared_data_ref);
	default:
		return 0;
	}
}

/* Sort value of a ref within its type. */
static u64 key_seq(const struct dref_key *k)
{
	switch (k->type) {
	case BTRFS_EXTENT_DATA_REF_KEY:
		return extent_data_ref_hash(k->root, k->owner, k->offset);
	case BTRFS_TREE_BLOCK_REF_KEY:
		return k->root;
	default:
		return k->parent;
	}
}

static u64 inline_seq(const u8 *r)
{
	const u8 *d = r + 1;

	if (r[0] == BTRFS_EXTENT_DATA_REF_KEY)
		return extent_data_ref_hash(
			D_GET64(struct d_extent_data_ref, d, root),
			D_GET64(struct d_extent_data_ref, d, objectid),
			D_GET64(struct d_extent_data_ref, d, offset));
	return get_le64(d);
}

static int inline_match(const u8 *r, const struct dref_key *k)
{
	const u8 *d = r + 1;

	if (r[0] != k->type)
		return 0;
	if (k->type == BTRFS_EXTENT_DATA_REF_KEY)
		return D_GET64(struct d_extent_data_ref, d, root) == k->root &&
		       D_GET64(struct d_extent_data_ref, d, objectid) ==
		       k->owner &&
		       D_GET64(struct d_extent_data_ref, d, offset) ==
		       k->offset;
	return get_le64(d) == key_seq(k);
}

/* Write the inline form of ref k with count at r. */
static void inline_fill(u8 *r, const struct dref_key *k, u32 count)
{
	u8 *d = r + 1;

	r[0] = k->type;
	if (k->type == BTRFS_EXTENT_DATA_REF_KEY) {
		D_SET64(struct d_extent_data_ref, d, root, k->root);
		D_SET64(struct d_extent_data_ref, d, objectid, k->owner);
		D_SET64(struct d_extent_data_ref, d, offset, k->offset);
		D_SET32(struct d_extent_data_ref, d, count, count);
		return;
	}
	put_le64(d, key_seq(k));
	if (k->type == BTRFS_SHARED_DATA_REF_KEY)
		put_le32(d + 8, count);
}

/* The count a ref carries (1 for tree block refs), and a setter. */
static u32 inline_count(const u8 *r)
{
	if (r[0] == BTRFS_EXTENT_DATA_REF_KEY)
		return D_GET32(struct d_extent_data_ref, r + 1, count);
	if (r[0] == BTRFS_SHARED_DATA_REF_KEY)
		return get_le32(r + 9);
	return 1;
}

static void inline_set_count(u8 *r, u32 c)
{
	if (r[0] == BTRFS_EXTENT_DATA_REF_KEY)
		D_SET32(struct d_extent_data_ref, r + 1, count, c);
	else
		put_le32(r + 9, c);
}

/* Offset of the first inline ref in an extent item with this key. */
static u32 refs_start(const struct key *ek, const u8 *item)
{
	u64 flags = D_GET64(struct d_extent_item, item, flags);

	if (ek->type == BTRFS_EXTENT_ITEM_KEY &&
	    (flags & BTRFS_EXTENT_FLAG_TREE_BLOCK))
		return EI + (u32)sizeof(struct d_tree_block_info);
	return EI;
}

/*
 * Find the extent item of the extent at bytenr in the extent tree root,
 * in either form a tree block's can take, whatever the feature bits say:
 * `btrfstune -x` turns skinny metadata on without rewriting the items, so
 * blocks written before keep (bytenr, EXTENT_ITEM, nodesize) beside new
 * ones' (bytenr, METADATA_ITEM, level) (Linux retries its lookup with the
 * other key). The search starts at the lowest key of bytenr, EXTENT_ITEM
 * sorting just before METADATA_ITEM. On 0 p points at the item and *ek
 * has its key; 1 when there is none, <0 on error. Caller releases p.
 */
int extent_item_search(const struct ctree_root *root, u64 bytenr,
		       struct ctree_path *p, struct key *ek)
{
	struct key k = { bytenr, BTRFS_EXTENT_ITEM_KEY, 0 };
	int ret = ctree_search_ge(root, &k, p);

	if (ret)
		return ret;
	ctree_item_key(p, ek);
	if (ek->objectid != bytenr || (ek->type != BTRFS_EXTENT_ITEM_KEY &&
				       ek->type != BTRFS_METADATA_ITEM_KEY))
		return 1;
	return 0;
}

/* The extent item key of bytenr, found with a read search. */
static int locate_extent(struct trans *t, u64 bytenr, struct key *ek)
{
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = extent_item_search(&t->fs->extent_root, bytenr, &p, ek);
	ctree_path_release(&p);
	if (ret == 1) {
		pr_err("extent tree: no extent item for %llu",
		       (unsigned long long)bytenr);
		ret = -EUCLEAN;
	}
	return ret;
}

/* Nonzero when bytenr has keyed back-references (then new refs are
 * keyed too, as Linux expects). */
static int has_keyed_refs(struct trans *t, u64 bytenr, int *out)
{
	struct key k = { bytenr, BTRFS_TREE_BLOCK_REF_KEY, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&t->fs->extent_root, &k, &p);
	*out = 0;
	if (ret == 0) {
		ctree_item_key(&p, &k);
		*out = k.objectid == bytenr &&
		       k.type <= BTRFS_SHARED_DATA_REF_KEY;
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/*
 * The extent item at the path lost its last reference: it goes after the
 * round (extent_flush_freed), with the neighbours that went too, in one
 * deletion. A drop frees extents that lie together, and deleting each at
 * once moved the rest of its leaf every time (a tenth of a 50-snapshot
 * drop's time in QEMU). Meanwhile no head of the round looks at it: each
 * extent has one head, and they run in bytenr order. The path is
 * released. Returns 0 or -ENOMEM.
 */
static int dead_add(struct trans *t, struct ctree_path *p)
{
	struct delayed_refs *d = &t->refs;
	int ret = array_grow((void **)&d->dead, &d->dead_cap, d->ndead,
			       sizeof(*d->dead));

	if (ret == 0)
		ctree_item_key(p, &d->dead[d->ndead++]);
	ctree_path_release(p);
	return ret;
}

/* Delete the extent items dead_add holds, each run of neighbours in a
 * leaf with one deletion. Returns 0 or <0. */
static int flush_dead(struct trans *t)
{
	struct delayed_refs *d = &t->refs;
	struct ctree_path p;
	struct key k;
	u32 i = 0, j, slot, nr;
	int ret = 0;

	while (i < d->ndead && ret == 0) {
		ctree_path_init(&p);
		ret = ctree_search_write(t, &t->fs->extent_root, &d->dead[i],
					 &p, CTREE_DEL_RUN);
		if (ret) {
			ctree_path_release(&p);
			ret = ret == 1 ? -EUCLEAN : ret;
			break;
		}
		slot = (u32)p.slots[0];
		nr = tb_nritems(p.nodes[0]);
		for (j = i + 1; j < d->ndead && slot + j - i < nr; j++) {
			tb_item_key(p.nodes[0], slot + j - i, &k);
			if (key_cmp(&k, &d->dead[j]))
				break;
		}
		ret = ctree_del_items(t, &t->fs->extent_root, &p, j - i);
		i = j;
	}
	d->ndead = 0;
	return ret;
}

/* Add mod to the extent item's refs; *refs gets the new count. At zero
 * the item goes (dead_add). */
static int update_refcount(struct trans *t, const struct key *ek,
			   long long mod, u64 *refs)
{
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->extent_root, ek, &p, 0);
	if (ret == 0) {
		item = ctree_item_ptr_w(&p, &size);
		*refs = D_GET64(struct d_extent_item, item, refs) + mod;
		if (*refs == 0)
			return dead_add(t, &p);
		D_SET64(struct d_extent_item, item, refs, *refs);
	}
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/*
 * Change the inline ref at item offset pos by mod (removing it at 0).
 * When that takes the extent's last reference the whole item goes
 * (dead_add), without shrinking it first; the path is then released
 * (releasing it again is harmless).
 */
static int inline_change(struct trans *t, struct ctree_path *p, u32 pos,
			 long long mod, u64 *refs)
{
	u32 size, isz;
	u8 *item = ctree_item_ptr_w(p, &size), *r = item + pos;
	long long c = (long long)inline_count(r) + mod;

	isz = extent_inline_ref_size(r[0]);
	if (c < 0 || ((r[0] == BTRFS_TREE_BLOCK_REF_KEY ||
		       r[0] == BTRFS_SHARED_BLOCK_REF_KEY) && c > 1))
		return -EUCLEAN;
	if (D_GET64(struct d_extent_item, item, refs) + mod == 0) {
		*refs = 0;
		return dead_add(t, p);
	}
	if (c == 0) {
		memmove(r, r + isz, size - pos - isz);
		ctree_truncate_item(p, size - isz);
		item = ctree_item_ptr_w(p, &size);
	} else {
		inline_set_count(r, (u32)c);
	}
	*refs = D_GET64(struct d_extent_item, item, refs) + mod;
	D_SET64(struct d_extent_item, item, refs, *refs);
	return 0;
}

/*
 * Apply mod to ref k inline in the extent item ek. Returns 0 when done,
 * 1 when the ref must be keyed instead (not inline, or no room), -ENOENT
 * (nothing changed) when there is no item ek, or <0.
 */
static int inline_apply(struct trans *t, const struct key *ek,
			const struct dref_key *k, long long mod,
			int may_insert, u64 *refs)
{
	u32 isz = extent_inline_ref_size(k->type), size, pos;
	u64 seq = key_seq(k);
	struct ctree_path p;
	u8 *item;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->extent_root, ek, &p,
				 mod > 0 ? (int)isz : 0);
	if (ret) {
		ret = ret == 1 ? -ENOENT : ret;	/* no item of key ek */
		goto out;
	}
	item = ctree_item_ptr_w(&p, &size);
	for (pos = refs_start(ek, item); pos < size;
	     pos += extent_inline_ref_size(item[pos])) {
		if (!extent_inline_ref_size(item[pos]) ||
		    pos + extent_inline_ref_size(item[pos]) > size) {
			ret = -EUCLEAN;
			goto out;
		}
		if (inline_match(item + pos, k)) {
			ret = inline_change(t, &p, pos, mod, refs);
			goto out;
		}
		if (item[pos] > k->type ||
		    (item[pos] == k->type && inline_seq(item + pos) < seq))
			break;
	}
	ret = 1;
	if (mod < 0 || !may_insert || size + isz >= max_inline(t->fs))
		goto out;
	ret = ctree_extend_item(t, &t->fs->extent_root, &p, isz);
	if (ret)
		goto out;
	item = ctree_item_ptr_w(&p, &size);
	memmove(item + pos + isz, item + pos, size - isz - pos);
	inline_fill(item + pos, k, (u32)mod);
	*refs = D_GET64(struct d_extent_item, item, refs) + (u64)mod;
	D_SET64(struct d_extent_item, item, refs, *refs);
out:
	ctree_path_release(&p);
	return ret;
}

/* Key of the keyed form of ref k. */
static void keyed_key(const struct dref_key *k, struct key *key)
{
	key->objectid = k->bytenr;
	key->type = k->type;
	key->offset = k->type == BTRFS_EXTENT_DATA_REF_KEY ?
		      extent_data_ref_hash(k->root, k->owner, k->offset) :
		      key_seq(k);
}

/* Find the keyed data ref for k (hash collisions take the next offsets).
 * Returns 0 found (path at it), 1 not found (key = a free slot), <0. */
static int find_keyed_data_ref(struct trans *t, const struct dref_key *k,
			       struct key *key, struct ctree_path *p)
{
	int ret, tries;

	keyed_key(k, key);
	for (tries = 0; tries < 1024; tries++, key->offset++) {
		const u8 *d;
		u32 size;

		ret = ctree_search_write(t, &t->fs->extent_root, key, p, 0);
		if (ret)
			return ret;
		d = ctree_item_ptr(p, &size);
		if (k->type != BTRFS_EXTENT_DATA_REF_KEY ||
		    (D_GET64(struct d_extent_data_ref, d, root) == k->root &&
		     D_GET64(struct d_extent_data_ref, d, objectid) ==
		     k->owner &&
		     D_GET64(struct d_extent_data_ref, d, offset) == k->offset))
			return 0;
		ctree_path_release(p);
	}
	return -EUCLEAN;
}

/* Insert keyed ref k with count c at key. */
static int keyed_insert(struct trans *t, const struct dref_key *k,
			const struct key *key, u32 c)
{
	u8 buf[1 + sizeof(struct d_extent_data_ref)], *body = buf + 1;
	u32 size = 0;

	if (k->type == BTRFS_EXTENT_DATA_REF_KEY) {
		size = sizeof(struct d_extent_data_ref);
		inline_fill(buf, k, c);
	} else if (k->type == BTRFS_SHARED_DATA_REF_KEY) {
		size = sizeof(struct d_shared_data_ref);
		put_le32(body, c);
	} else if (c != 1) {
		return -EUCLEAN;
	}
	return ctree_insert_item(t, &t->fs->extent_root, key, body, size);
}

/* Apply mod to the keyed form of ref k. */
static int keyed_apply(struct trans *t, const struct dref_key *k,
		       long long mod)
{
	struct ctree_path p;
	struct key key;
	long long c;
	u8 *d;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = find_keyed_data_ref(t, k, &key, &p);
	if (ret == 1) {
		ctree_path_release(&p);
		return mod > 0 && mod <= 0xffffffffLL ?
		       keyed_insert(t, k, &key, (u32)mod) : -EUCLEAN;
	}
	if (ret)
		return ret;
	d = ctree_item_ptr_w(&p, &size);
	if (k->type == BTRFS_EXTENT_DATA_REF_KEY)
		c = D_GET32(struct d_extent_data_ref, d, count) + mod;
	else if (k->type == BTRFS_SHARED_DATA_REF_KEY)
		c = get_le32(d) + mod;
	else
		c = 1 + mod;
	if (c < 0 || (size == 0 && c > 1)) {
		ctree_path_release(&p);
		return -EUCLEAN;
	}
	if (c == 0)
		return ctree_del_item(t, &t->fs->extent_root, &p);
	if (k->type == BTRFS_EXTENT_DATA_REF_KEY)
		D_SET32(struct d_extent_data_ref, d, count, (u32)c);
	else
		put_le32(d, (u32)c);
	ctree_path_release(&p);
	return 0;
}

/* Apply one merged ref change to an existing extent item ek. *keyed
 * says whether the extent has keyed refs (<0: not looked up yet; only
 * an added ref needs it). */
static int apply_ref(struct trans *t, const struct key *ek,
		     const struct dref *r, int *keyed, u64 *refs)
{
	int ret = 0;

	if (r->mod > 0 && *keyed < 0)
		ret = has_keyed_refs(t, ek->objectid, keyed);
	if (ret == 0)
		ret = inline_apply(t, ek, &r->key, r->mod, *keyed == 0, refs);
	if (ret != 1)
		return ret;
	ret = keyed_apply(t, &r->key, r->mod);
	if (ret == 0 && r->mod > 0)
		*keyed = 1;
	return ret ? ret : update_refcount(t, ek, r->mod, refs);
}

/*
 * Process the freed range [bytenr, +len) later, with the one r holds when
 * it continues it (and join: it may), else process r's with done first.
 * Heads run in bytenr order, so the extents a drop frees, which were
 * written one after another, make one range: the checksums and the
 * free-space tree change once for them, not once per extent (cutting a
 * file's checksums out of an item one by one moved the rest of the item
 * each time, and every free-space update searched four or five times).
 * Freed space stays pinned until the commit, and the allocator does not
 * read the free-space tree, so nothing needs them before the round ends
 * (extent_flush_freed). Returns 0 or <0.
 */
static int freed_add(struct trans *t, struct freed_range *r, u64 bytenr,
		     u64 len, int join,
		     int (*done)(struct trans *, u64, u64))
{
	int ret = 0;

	if (r->len && join && r->start + r->len == bytenr) {
		r->len += len;
		return 0;
	}
	if (r->len)
		ret = done(t, r->start, r->len);
	r->start = bytenr;
	r->len = len;
	return ret;
}

/* Process what dead_add and freed_add hold (delayed_refs_run, after
 * each round). Returns 0 or <0; the caller aborts. */
int extent_flush_freed(struct trans *t)
{
	struct delayed_refs *d = &t->refs;
	int ret = 0;

	if (d->ndead)
		ret = flush_dead(t);
	if (ret == 0 && d->csums.len)
		ret = csum_delete(t, d->csums.start, d->csums.len);
	if (ret == 0 && d->space.len)
		ret = fst_add_range(t, d->space.start, d->space.len);
	d->csums.len = d->space.len = 0;
	return ret;
}

/* The checksums of freed data [bytenr, +len) go (freed_add). */
static int free_csums(struct trans *t, u64 bytenr, u64 len)
{
	return freed_add(t, &t->refs.csums, bytenr, len, 1, csum_delete);
}

/* The extent lost its last reference (its item went with it): free its
 * space. The free-space tree takes ranges of one block group only. */
static int remove_extent(struct trans *t, struct dref_head *h)
{
	struct fs_info *fs = t->fs;
	int ret = bg_account_used(t, h->bytenr, h->num_bytes, 0);

	if (ret == 0 && fs->fst_root.bytenr)
		ret = freed_add(t, &t->refs.space, h->bytenr, h->num_bytes,
				bg_lookup(fs, h->bytenr)->start != h->bytenr,
				fst_add_range);
	if (ret == 0 && h->is_data)
		ret = free_csums(t, h->bytenr, h->num_bytes);
	return ret ? ret : trans_pin(t, h->bytenr, h->num_bytes);
}

/* Set extent flags on the item ek. */
static int set_flags(struct trans *t, const struct key *ek, u64 flags)
{
	struct ctree_path p;
	u8 *item;
	u32 size;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_write(t, &t->fs->extent_root, ek, &p, 0);
	if (ret == 0) {
		item = ctree_item_ptr_w(&p, &size);
		D_SET64(struct d_extent_item, item, flags,
			D_GET64(struct d_extent_item, item, flags) | flags);
	}
	ctree_path_release(&p);
	return ret == 1 ? -EUCLEAN : ret;
}

/*
 * The key of the extent item of head h's extent. A data extent's is
 * known. A tree block's takes one of two forms (extent_item_search); the
 * one the filesystem's features make is taken on trust, with the level
 * its refs name (*guess), which saves a search per block: the first
 * change finds out, before it changes anything, when the item has the
 * other form (a `btrfstune -x` image). Without refs, the item is found.
 */
static int head_key(struct trans *t, const struct dref_head *h,
		    struct key *ek, int *guess)
{
	const struct dref *r;

	*guess = 0;
	if (h->is_data) {
		*ek = (struct key){ h->bytenr, BTRFS_EXTENT_ITEM_KEY,
				    h->num_bytes };
		return 0;
	}
	if (list_empty(&h->refs))
		return locate_extent(t, h->bytenr, ek);
	r = list_entry(h->refs.next, struct dref, head_link);
	*guess = 1;
	if (t->fs->incompat & BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA)
		*ek = (struct key){ h->bytenr, BTRFS_METADATA_ITEM_KEY,
				    r->key.owner };
	else
		*ek = (struct key){ h->bytenr, BTRFS_EXTENT_ITEM_KEY,
				    h->num_bytes };
	return 0;
}

/* Apply a head to an extent that already has its item. */
static int update_extent(struct trans *t, struct dref_head *h)
{
	struct key ek;
	struct dref *r;
	u64 refs = 1;
	int keyed = -1, pass, ret, guess, first = 1;

	ret = head_key(t, h, &ek, &guess);
	for (pass = 0; pass < 2 && ret == 0; pass++) {
		list_for_each_entry(r, &h->refs, struct dref, head_link) {
			if ((r->mod > 0) != (pass == 0))
				continue;
			ret = apply_ref(t, &ek, r, &keyed, &refs);
			if (ret == -ENOENT && first && guess) {
				/* the other form: nothing changed yet */
				guess = 0;
				ret = locate_extent(t, h->bytenr, &ek);
				if (ret == 0)
					ret = apply_ref(t, &ek, r, &keyed,
							&refs);
			}
			first = 0;
			if (ret == -ENOENT)
				ret = -EUCLEAN;
			if (ret)
				break;
		}
	}
	if (ret == 0 && h->set_flags && refs)
		ret = set_flags(t, &ek, h->set_flags);
	if (ret == 0 && h->nrefs && refs == 0) {
		ret = remove_extent(t, h);
		qgroup_record_gone(t, h);
	}
	return ret;
}

/* Sort a head's refs by type, then descending seq (inline order). */
static void sort_refs(struct dref **v, u32 n)
{
	u32 i, j;

	for (i = 1; i < n; i++) {
		struct dref *x = v[i];

		for (j = i; j > 0; j--) {
			struct dref *y = v[j - 1];

			if (y->key.type < x->key.type ||
			    (y->key.type == x->key.type &&
			     key_seq(&y->key) >= key_seq(&x->key)))
				break;
			v[j] = y;
		}
		v[j] = x;
	}
}

/*
 * Fill the first-key field of new tree block bytenr's d_tree_block_info
 * at info (zeroed) with the block's first key as it is now. Linux records
 * the key a block was allocated with (the first key of the block it
 * copies or of the half it splits off) and leaves zero for one made
 * empty; ghee's caller gives no key at allocation, so the block, dirty in
 * the cache until this commit writes it, is read at its insertion. An
 * empty block, or one not in the cache, keeps zero.
 */
static void info_first_key(struct fs_info *fs, u64 bytenr, u8 *info)
{
	struct tree_block *b = tree_block_cached(fs, bytenr);
	struct key k;

	if (!b)
		return;
	/* The commit holds no path now, so this cannot wait on itself. */
	tb_lock(b, TB_READ);
	if (tb_nritems(b)) {
		tb_first_key(b, &k);
		key_to_disk(info + offsetof(struct d_tree_block_info, key),
			    &k);
	}
	tb_unlock(b, TB_READ);
	tree_block_put(b);
}

/*
 * The key of the new extent h's item, and its bytes before the inline refs
 * written at item (zeroed): the returned size. Data is (bytenr, EXTENT_ITEM,
 * length). A tree block is (bytenr, METADATA_ITEM, level) with skinny
 * metadata; without it (bytenr, EXTENT_ITEM, nodesize) followed by a
 * d_tree_block_info holding the block's first key and level.
 */
static u32 extent_item_key(struct fs_info *fs, const struct dref_head *h,
			   struct key *ek, u8 *item)
{
	ek->objectid = h->bytenr;
	if (h->is_data) {
		ek->type = BTRFS_EXTENT_ITEM_KEY;
		ek->offset = h->num_bytes;
		return EI;
	}
	if (fs->incompat & BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA) {
		ek->type = BTRFS_METADATA_ITEM_KEY;
		ek->offset = h->level;
		return EI;
	}
	ek->type = BTRFS_EXTENT_ITEM_KEY;
	ek->offset = h->num_bytes;
	D_SET8(struct d_tree_block_info, item + EI, level, h->level);
	info_first_key(fs, h->bytenr, item + EI);
	return EI + (u32)sizeof(struct d_tree_block_info);
}

/* Build and insert the extent item of a new extent with its refs. */
static int insert_extent(struct trans *t, struct dref_head *h)
{
	struct fs_info *fs = t->fs;
	u32 cap = max_inline(fs), size = EI, i = 0, n = 0;
	struct dref **v = kmalloc(h->nrefs * sizeof(*v) + 1), *r;
	u8 *item = kzalloc(cap + 64);
	struct key ek;
	u64 total = 0;
	int ret = 0;

	if (!v || !item) {
		ret = -ENOMEM;
		goto out;
	}
	size = extent_item_key(fs, h, &ek, item);
	list_for_each_entry(r, &h->refs, struct dref, head_link) {
		if (r->mod <= 0)
			ret = -EUCLEAN;
		total += (u64)r->mod;
		v[n++] = r;
	}
	if (ret)
		goto out;
	sort_refs(v, n);
	D_SET64(struct d_extent_item, item, refs, total);
	D_SET64(struct d_extent_item, item, generation,
		h->generation ? h->generation : t->transid);
	D_SET64(struct d_extent_item, item, flags, h->is_data ?
		BTRFS_EXTENT_FLAG_DATA :
		BTRFS_EXTENT_FLAG_TREE_BLOCK | h->set_flags);
	for (; i < n && size + extent_inline_ref_size(v[i]->key.type) < cap; i++) {
		inline_fill(item + size, &v[i]->key, (u32)v[i]->mod);
		size += extent_inline_ref_size(v[i]->key.type);
	}
	ret = ctree_insert_item(t, &fs->extent_root, &ek, item, size);
	for (; i < n && ret == 0; i++)
		ret = keyed_apply(t, &v[i]->key, v[i]->mod);
	if (ret == 0)
		ret = bg_account(t, h->bytenr, h->num_bytes, 1);
out:
	kfree(v);
	kfree(item);
	return ret;
}

/*
 * Apply one merged delayed-ref head to the extent tree. Returns 0 or <0
 * (the transaction is aborted here, at the failing step).
 */
int extent_run_head(struct trans *t, struct dref_head *h)
{
	int ret = qgroup_record_head(t, h);

	if (ret) {
		trans_abort(t, ret);
		return ret;
	}
	if (h->must_insert && h->nrefs == 0) {
		/* Allocated and freed in this transaction: never in the
		 * extent tree; its checksums (data) go too. */
		ret = h->is_data ? free_csums(t, h->bytenr, h->num_bytes) : 0;
		if (ret == 0)
			ret = trans_pin(t, h->bytenr, h->num_bytes);
	} else if (h->must_insert)
		ret = insert_extent(t, h);
	else if (h->nrefs || h->set_flags)
		ret = update_extent(t, h);
	else
		return 0;
	if (ret) {
		pr_err("extent %llu (%llu bytes): applying references failed: "
		       "%d", (unsigned long long)h->bytenr,
		       (unsigned long long)h->num_bytes, ret);
		trans_abort(t, ret);
	}
	return ret;
}
