/*
 * fsck, extent side: read the committed extent tree (extent items, inline
 * and keyed back-references, block group items), then compare it with the
 * references found in the trees, the block group items and the free-space
 * tree. See check.c for the whole picture.
 *
 * Extent items come in key order, so c->exts is sorted by bytenr and
 * overlaps show up between neighbours; keyed back-references follow their
 * extent item and are counted towards it.
 *
 * Called by check_all(), reading the commit fs_check() reads.
 */
#include <ghee/errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "check.h"
#include "extent_tree.h"
#include "fs_info.h"

#define EI ((u32)sizeof(struct d_extent_item))

/* The extent item starting at bytenr, or NULL. */
const struct cext *check_find_extent(const struct check *c, u64 bytenr)
{
	return vec_find(&c->exts, bytenr, offsetof(struct cext, bytenr));
}

static int is_data_ref(u8 type)
{
	return type == BTRFS_EXTENT_DATA_REF_KEY ||
	       type == BTRFS_SHARED_DATA_REF_KEY;
}

/* Record back-reference r (type and bytenr set) for the last extent. */
static int add_recorded(struct check *c, struct cref *r)
{
	struct cext *e = c->exts.n ? vec_at(&c->exts, c->exts.n - 1) : NULL;
	struct cref *n;

	if (!e || e->bytenr != r->bytenr) {
		check_err(c, "extent tree: %s of %llu has no extent item",
			  check_ref_name(r->type),
			  (unsigned long long)r->bytenr);
		return 0;
	}
	if (is_data_ref(r->type) != !!(e->flags & BTRFS_EXTENT_FLAG_DATA)) {
		check_err(c, "extent %llu: %s on a %s extent",
			  (unsigned long long)e->bytenr,
			  check_ref_name(r->type),
			  (e->flags & BTRFS_EXTENT_FLAG_DATA) ? "data" :
								"tree block");
		return 0;
	}
	e->ref_sum += r->count;
	n = vec_push(&c->recorded);
	if (!n)
		return -ENOMEM;
	*n = *r;
	c->rep->backrefs++;
	return 0;
}

/* Decode the data-ref fields at d into r. */
static void data_ref_fields(struct cref *r, const u8 *d)
{
	r->root = D_GET64(struct d_extent_data_ref, d, root);
	r->owner = D_GET64(struct d_extent_data_ref, d, objectid);
	r->offset = D_GET64(struct d_extent_data_ref, d, offset);
	r->count = D_GET32(struct d_extent_data_ref, d, count);
}

/* Parse one inline ref at ir; its sort value goes to *seq. */
static void parse_inline(const u8 *ir, u64 bytenr, struct cref *r, u64 *seq)
{
	const u8 *d = ir + 1;

	memset(r, 0, sizeof(*r));
	r->bytenr = bytenr;
	r->type = ir[0];
	r->count = 1;
	switch (r->type) {
	case BTRFS_EXTENT_DATA_REF_KEY:
		data_ref_fields(r, d);
		*seq = extent_data_ref_hash(r->root, r->owner, r->offset);
		return;
	case BTRFS_TREE_BLOCK_REF_KEY:
		r->root = get_le64(d);
		break;
	case BTRFS_SHARED_DATA_REF_KEY:
		r->count = get_le32(d + 8);
		r->parent = get_le64(d);
		break;
	default:
		r->parent = get_le64(d);
	}
	*seq = get_le64(d);
}

/* The inline refs of extent e, from byte pos of its item. */
static int parse_inline_refs(struct check *c, const struct cext *e,
			     const u8 *item, u32 pos, u32 size)
{
	u8 last_type = 0;
	u64 last_seq = (u64)-1, seq;
	struct cref r;
	int ret;

	while (pos < size) {
		u32 sz = extent_inline_ref_size(item[pos]);

		if (!sz || pos + sz > size) {
			check_err(c, "extent %llu: bad inline ref type %u at "
				  "byte %u", (unsigned long long)e->bytenr,
				  item[pos], pos);
			return 0;
		}
		parse_inline(item + pos, e->bytenr, &r, &seq);
		if (r.type < last_type ||
		    (r.type == last_type && seq > last_seq))
			check_err(c, "extent %llu: inline refs out of order",
				  (unsigned long long)e->bytenr);
		last_type = r.type;
		last_seq = seq;
		ret = add_recorded(c, &r);
		if (ret)
			return ret;
		pos += sz;
	}
	return 0;
}

/* An extent was allocated no later than the transaction after the commit
 * checked (btrfs check's bound). */
static void check_extent_gen(struct check *c, u64 bytenr, const u8 *item)
{
	u64 gen = D_GET64(struct d_extent_item, item, generation);

	if (gen > c->cr.generation + 1)
		check_err(c, "extent %llu has generation %llu, past the last "
			  "commit %llu", (unsigned long long)bytenr,
			  (unsigned long long)gen,
			  (unsigned long long)c->cr.generation);
}

/* An EXTENT_ITEM or METADATA_ITEM. */
static int parse_extent(struct check *c, const struct key *k,
			const u8 *item, u32 size)
{
	struct cext *prev = c->exts.n ? vec_at(&c->exts, c->exts.n - 1) : NULL;
	struct cext *e;
	u32 pos = EI;

	if (size < EI) {
		check_err(c, "extent %llu: item of %u bytes",
			  (unsigned long long)k->objectid, size);
		return 0;
	}
	if (prev && prev->bytenr + prev->len > k->objectid)
		check_err(c, "extent %llu+%llu overlaps extent %llu+%llu",
			  (unsigned long long)k->objectid,
			  (unsigned long long)k->offset,
			  (unsigned long long)prev->bytenr,
			  (unsigned long long)prev->len);
	e = vec_push(&c->exts);
	if (!e)
		return -ENOMEM;
	e->bytenr = k->objectid;
	e->refs = D_GET64(struct d_extent_item, item, refs);
	e->flags = D_GET64(struct d_extent_item, item, flags);
	e->len = k->offset;
	check_extent_gen(c, e->bytenr, item);
	if (k->type == BTRFS_METADATA_ITEM_KEY) {
		e->len = c->fs->nodesize;
		e->level = (u8)k->offset;
		if (k->offset >= BTRFS_MAX_LEVEL)
			check_err(c, "tree block %llu: level %llu in its "
				  "extent item", (unsigned long long)e->bytenr,
				  (unsigned long long)k->offset);
		/* Linux's tree checker refuses the leaf */
		if (!(c->fs->incompat & BTRFS_FEATURE_INCOMPAT_SKINNY_METADATA))
			check_err(c, "tree block %llu: METADATA_ITEM without "
				  "the skinny-metadata feature",
				  (unsigned long long)e->bytenr);
	} else if (e->flags & BTRFS_EXTENT_FLAG_TREE_BLOCK) {
		pos += (u32)sizeof(struct d_tree_block_info);
		if (k->offset != c->fs->nodesize)
			check_err(c, "tree block %llu: EXTENT_ITEM length %llu, "
				  "not the node size",
				  (unsigned long long)e->bytenr,
				  (unsigned long long)k->offset);
		if (size >= pos)
			e->level = D_GET8(struct d_tree_block_info, item + EI,
					  level);
	}
	if (!(e->flags & (BTRFS_EXTENT_FLAG_DATA |
			  BTRFS_EXTENT_FLAG_TREE_BLOCK)) ||
	    (k->type == BTRFS_METADATA_ITEM_KEY &&
	     !(e->flags & BTRFS_EXTENT_FLAG_TREE_BLOCK)))
		check_err(c, "extent %llu: flags 0x%llx do not match its key",
			  (unsigned long long)e->bytenr,
			  (unsigned long long)e->flags);
	c->rep->extents++;
	return parse_inline_refs(c, e, item, pos, size);
}

/* A keyed back-reference item. */
static int parse_keyed(struct check *c, const struct key *k,
		       const u8 *item, u32 size)
{
	struct cref r;
	u32 want = 0;

	memset(&r, 0, sizeof(r));
	r.bytenr = k->objectid;
	r.type = k->type;
	r.count = 1;
	if (k->type == BTRFS_EXTENT_DATA_REF_KEY)
		want = (u32)sizeof(struct d_extent_data_ref);
	else if (k->type == BTRFS_SHARED_DATA_REF_KEY)
		want = (u32)sizeof(struct d_shared_data_ref);
	if (size != want) {
		check_err(c, "extent %llu: %s item of %u bytes, want %u",
			  (unsigned long long)k->objectid,
			  check_ref_name(k->type), size, want);
		return 0;
	}
	if (k->type == BTRFS_TREE_BLOCK_REF_KEY) {
		r.root = k->offset;
	} else if (k->type == BTRFS_EXTENT_DATA_REF_KEY) {
		data_ref_fields(&r, item);
		if (extent_data_ref_hash(r.root, r.owner, r.offset) !=
		    k->offset)
			check_err(c, "extent %llu: extent data ref key offset "
				  "is not its hash",
				  (unsigned long long)k->objectid);
	} else {
		r.parent = k->offset;
		if (k->type == BTRFS_SHARED_DATA_REF_KEY)
			r.count = get_le32(item);
	}
	return add_recorded(c, &r);
}

/* A BLOCK_GROUP_ITEM. */
static int parse_bg(struct check *c, const struct key *k, const u8 *item,
		    u32 size)
{
	struct cbg *g;

	if (size != sizeof(struct d_block_group_item)) {
		check_err(c, "block group %llu: item of %u bytes",
			  (unsigned long long)k->objectid, size);
		return 0;
	}
	g = vec_push(&c->bgs);
	if (!g)
		return -ENOMEM;
	g->start = k->objectid;
	g->len = k->offset;
	g->used = D_GET64(struct d_block_group_item, item, used);
	g->flags = D_GET64(struct d_block_group_item, item, flags);
	c->rep->block_groups++;
	return 0;
}

/* One item of the extent tree or the block group tree; ctx says whether
 * block group items are expected in this tree. */
static int parse_item(struct check *c, void *ctx, const struct key *k,
		      const u8 *item, u32 size)
{
	int bgs_here = ctx != NULL;

	switch (k->type) {
	case BTRFS_EXTENT_ITEM_KEY:
	case BTRFS_METADATA_ITEM_KEY:
		return parse_extent(c, k, item, size);
	case BTRFS_TREE_BLOCK_REF_KEY:
	case BTRFS_SHARED_BLOCK_REF_KEY:
	case BTRFS_EXTENT_DATA_REF_KEY:
	case BTRFS_SHARED_DATA_REF_KEY:
		return parse_keyed(c, k, item, size);
	case BTRFS_BLOCK_GROUP_ITEM_KEY:
		return bgs_here ? parse_bg(c, k, item, size) : 0;
	default:
		check_err(c, "extent tree: unexpected item (%llu %u %llu)",
			  (unsigned long long)k->objectid, k->type,
			  (unsigned long long)k->offset);
		return 0;
	}
}

/*
 * Read the extent tree (and the block group tree when there is one):
 * extents, back-references and block groups into c. Each extent's count
 * must equal the sum of its back-references.
 */
int check_extent_tree(struct check *c)
{
	const struct commit_tree *et, *bt;
	u64 i;
	int ret;

	et = check_find_tree(c, BTRFS_EXTENT_TREE_OBJECTID);
	bt = check_find_tree(c, BTRFS_BLOCK_GROUP_TREE_OBJECTID);
	if (!et) {
		check_err(c, "no extent tree root item");
		return 0;
	}
	ret = check_read_items(c, et, parse_item, bt ? NULL : c);
	if (ret == 0 && bt)
		ret = check_read_items(c, bt, parse_item, c);
	for (i = 0; ret == 0 && i < c->exts.n; i++) {
		const struct cext *e = vec_at(&c->exts, i);

		if (e->refs != e->ref_sum || e->refs == 0)
			check_err(c, "extent %llu: reference count %llu, its "
				  "back-references count %llu",
				  (unsigned long long)e->bytenr,
				  (unsigned long long)e->refs,
				  (unsigned long long)e->ref_sum);
	}
	return ret;
}

/* Order of struct cref for comparing. */
static int cref_cmp(const void *a, const void *b)
{
	const struct cref *x = a, *y = b;
	const u64 kx[] = { x->bytenr, x->type, x->root, x->parent, x->owner,
			   x->offset };
	const u64 ky[] = { y->bytenr, y->type, y->root, y->parent, y->owner,
			   y->offset };
	int i;

	for (i = 0; i < 6; i++)
		if (kx[i] != ky[i])
			return kx[i] < ky[i] ? -1 : 1;
	return 0;
}

/*
 * Turn a found reference into the back-reference it must have: shared
 * when the referring block has FULL_BACKREF, else normal. Checks the
 * extent it points at. Returns 0 to keep it, 1 to drop it (reported).
 */
static int resolve(struct check *c, struct cref *f)
{
	const struct cext *e = check_find_extent(c, f->bytenr);
	const struct cext *pe = f->parent ? check_find_extent(c, f->parent) :
					    NULL;
	int data = f->type == BTRFS_EXTENT_DATA_REF_KEY;

	if (!e) {
		check_err(c, "%s %llu (tree %llu, from %llu) has no extent "
			  "item", data ? "data extent" : "tree block",
			  (unsigned long long)f->bytenr,
			  (unsigned long long)f->root,
			  (unsigned long long)f->parent);
		return 1;
	}
	if (data && (!(e->flags & BTRFS_EXTENT_FLAG_DATA) ||
		     e->len != f->num_bytes))
		check_err(c, "file extent (tree %llu ino %llu) points at "
			  "%llu+%llu, the extent item is %llu+%llu",
			  (unsigned long long)f->root,
			  (unsigned long long)f->owner,
			  (unsigned long long)f->bytenr,
			  (unsigned long long)f->num_bytes,
			  (unsigned long long)e->bytenr,
			  (unsigned long long)e->len);
	if (!data && (!(e->flags & BTRFS_EXTENT_FLAG_TREE_BLOCK) ||
		      e->level != f->level))
		check_err(c, "tree block %llu (level %u) has extent item "
			  "flags 0x%llx level %u", (unsigned long long)f->bytenr,
			  f->level, (unsigned long long)e->flags, e->level);
	if (pe && (pe->flags & BTRFS_BLOCK_FLAG_FULL_BACKREF)) {
		f->type = data ? BTRFS_SHARED_DATA_REF_KEY :
				 BTRFS_SHARED_BLOCK_REF_KEY;
		f->root = f->owner = f->offset = 0;
	} else {
		f->parent = 0;
	}
	return 0;
}

/* Resolve, sort and merge the found references (same key: counts add). */
static void prepare_found(struct check *c)
{
	struct vec *v = &c->found;
	u64 i, n = 0;

	for (i = 0; i < v->n; i++) {
		struct cref *f = vec_at(v, i);

		if (resolve(c, f) == 0)
			*(struct cref *)vec_at(v, n++) = *f;
	}
	v->n = n;
	if (v->n)
		qsort(v->v, v->n, sizeof(struct cref), cref_cmp);
	for (i = 0, n = 0; i < v->n; i++) {
		struct cref *f = vec_at(v, i);
		struct cref *last = n ? vec_at(v, n - 1) : NULL;

		if (last && cref_cmp(last, f) == 0)
			last->count += f->count;
		else
			*(struct cref *)vec_at(v, n++) = *f;
	}
	v->n = n;
}

static void report_ref(struct check *c, const struct cref *r,
		       const char *what, u32 have, u32 want)
{
	check_err(c, "extent %llu: %s (root %llu parent %llu ino %llu offset "
		  "%llu) %s (count %u, references %u)",
		  (unsigned long long)r->bytenr, check_ref_name(r->type),
		  (unsigned long long)r->root, (unsigned long long)r->parent,
		  (unsigned long long)r->owner, (unsigned long long)r->offset,
		  what, have, want);
}

/*
 * Compare every back-reference with the references found: each must
 * match with the same count, and every reference must have one.
 */
int check_refs(struct check *c)
{
	struct vec *rec = &c->recorded, *fnd = &c->found;
	u64 i = 0, j = 0;

	prepare_found(c);
	if (rec->n)
		qsort(rec->v, rec->n, sizeof(struct cref), cref_cmp);
	while (i < rec->n || j < fnd->n) {
		const struct cref *r = i < rec->n ? vec_at(rec, i) : NULL;
		const struct cref *f = j < fnd->n ? vec_at(fnd, j) : NULL;
		int cmp = !r ? 1 : !f ? -1 : cref_cmp(r, f);

		if (cmp < 0) {
			report_ref(c, r, "matches no reference", r->count, 0);
			i++;
		} else if (cmp > 0) {
			report_ref(c, f, "is missing", 0, f->count);
			j++;
		} else {
			if (r->count != f->count)
				report_ref(c, r, "has the wrong count",
					   r->count, f->count);
			if (i + 1 < rec->n &&
			    cref_cmp(r, vec_at(rec, i + 1)) == 0)
				report_ref(c, r, "is recorded twice",
					   r->count, f->count);
			i++;
			j++;
		}
	}
	return 0;
}
