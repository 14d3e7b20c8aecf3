/*
 * A file's extents as Linux's FIEMAP reports them on btrfs: file offset,
 * disk address, length and flags (inline, preallocated, compressed,
 * shared). `btrfs filesystem du` is built on it, as btrfs-progs' is.
 *
 * Shared: as Linux decides it for FIEMAP_EXTENT_SHARED, an extent is
 * shared when anything besides this one file extent item refers to it:
 * another file, another offset of this file (a reflink inside it), or
 * another subvolume reaching the item through a shared tree block (a
 * snapshot). The back-reference walker answers it on the current trees
 * and the running transaction's pending references, so a clone made a
 * moment ago counts.
 *
 * Locks: the items are read in batches, each under ns_lock for read (it
 * keeps the subvolume from going away, as for dedupe scan), with the
 * path released before any walk or callback; so nothing of the
 * filesystem is held while the walker gathers (it takes trans_sem for
 * write) or while the caller's callback runs. A file that changes
 * meanwhile is reported partly before and partly after the change, as
 * Linux's FIEMAP may.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "backref.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"

#define FIEMAP_BATCH 64		/* items read per search */

/* One item of a batch: what is reported, and its disk extent. */
struct fiemap_item {
	struct fs_fiemap_extent e;
	u64 extent;		/* the disk extent's start; 0: none (inline) */
};

/* A reference seen by the walker, and how many distinct ones so far. */
struct share_count {
	struct backref_hit first;
	int n;
};

static int count_ref(void *ctx, const struct backref_hit *h)
{
	struct share_count *c = ctx;

	if (c->n == 0) {
		c->first = *h;
		c->n = 1;
		return 0;
	}
	if (h->root == c->first.root && h->ino == c->first.ino &&
	    h->offset == c->first.offset)
		return 0;
	c->n = 2;
	return 1;		/* a second referrer: shared, stop */
}

/* Whether more than one file extent item (of any root) refers to the
 * disk extent starting at extent. */
static int extent_shared(struct fs_info *fs, u64 extent, int *shared)
{
	struct share_count c = { .n = 0 };
	int ret = backref_data(fs, extent, BACKREF_CURRENT,
			       BACKREF_IGNORE_OFFSET, count_ref, &c, NULL);

	*shared = c.n > 1;
	return ret;
}

/* Fill v[] from the item d (size bytes) at file offset off. 1 when the
 * item reports nothing (a hole), else 0 or -EUCLEAN. */
static int item_extent(const u8 *d, u32 size, u64 off, struct fiemap_item *v)
{
	u8 type, comp;

	if (size < BTRFS_FILE_EXTENT_INLINE_DATA_START)
		return -EUCLEAN;
	type = D_GET8(struct d_file_extent_item, d, type);
	comp = D_GET8(struct d_file_extent_item, d, compression);
	v->e.logical = off;
	v->e.flags = comp ? FS_FIEMAP_ENCODED : 0;
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		v->e.physical = 0;
		v->e.length = D_GET64(struct d_file_extent_item, d, ram_bytes);
		v->e.flags |= FS_FIEMAP_INLINE;
		v->extent = 0;
		return 0;
	}
	if (size < sizeof(struct d_file_extent_item))
		return -EUCLEAN;
	v->extent = D_GET64(struct d_file_extent_item, d, disk_bytenr);
	if (!v->extent)
		return 1;
	/* A compressed extent has no disk address for an offset inside
	 * it: Linux reports its start. */
	v->e.physical = v->extent +
		(comp ? 0 : D_GET64(struct d_file_extent_item, d, offset));
	v->e.length = D_GET64(struct d_file_extent_item, d, num_bytes);
	if (type == BTRFS_FILE_EXTENT_PREALLOC)
		v->e.flags |= FS_FIEMAP_UNWRITTEN;
	return 0;
}

/* Read up to FIEMAP_BATCH extents of ino from file offset *pos on into
 * v; *n of them, *pos past the last item read, *end set when the file
 * has no more items. */
static int read_batch(struct fs_info *fs, struct fs_ino ino, u64 *pos,
		      struct fiemap_item *v, int *n, int *end)
{
	struct key k = { ino.ino, BTRFS_EXTENT_DATA_KEY, *pos };
	const struct subvol_root *sv;
	struct ctree_path p;
	int ret;

	*n = 0;
	*end = 1;
	ctree_path_init(&p);
	down_read(&fs->ns_lock);
	ret = subvol_get(fs, ino.root, &sv);
	for (ret = ret ? ret : ctree_search_ge(&sv->root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		const u8 *d;
		u32 size;

		ctree_item_key(&p, &k);
		if (k.objectid != ino.ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		if (*n == FIEMAP_BATCH) {
			*end = 0;
			break;
		}
		*pos = k.offset + 1;
		d = ctree_item_ptr(&p, &size);
		ret = item_extent(d, size, k.offset, &v[*n]);
		if (ret < 0)
			break;
		if (ret == 0)
			(*n)++;
	}
	ctree_path_release(&p);
	up_read(&fs->ns_lock);
	return ret < 0 ? ret : 0;
}

int fs_fiemap(struct fs_info *fs, struct fs_ino ino, fs_fiemap_fn fn,
	      void *ctx)
{
	struct fiemap_item *v = kmalloc(FIEMAP_BATCH * sizeof(*v));
	u64 pos = 0;
	int ret, n, end, i, shared;

	if (!v)
		return -ENOMEM;
	do {
		ret = read_batch(fs, ino, &pos, v, &n, &end);
		for (i = 0; ret == 0 && i < n; i++) {
			if (v[i].extent) {
				ret = extent_shared(fs, v[i].extent, &shared);
				if (ret)
					break;
				if (shared)
					v[i].e.flags |= FS_FIEMAP_SHARED;
			}
			ret = fn(ctx, &v[i].e);
		}
	} while (ret == 0 && !end);
	kfree(v);
	return ret == 1 ? 0 : ret;
}
