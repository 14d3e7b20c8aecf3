/*
 * The file extents of a subvolume written since a transaction
 * (`btrfs subvolume find-new`): every file extent item whose generation
 * is at least the one asked for, in key order (inode, file offset).
 *
 * Linux's version is a tree search that skips every block older than
 * the generation; an item of a newer generation only ever sits in a
 * newer block, so reading every item and testing its own generation
 * finds the same set, at the cost of reading the old leaves too.
 *
 * Locks: items are read in batches under ns_lock for read (it keeps the
 * subvolume from going away), the path released before the caller's
 * callback runs, which may then look up names.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "fs_info.h"
#include "internal.h"
#include "subvol.h"

#define FIND_NEW_BATCH 64	/* items found per search */
#define FIND_NEW_VISIT 1024	/* items read per search at most */

/* The smallest key after k. */
static struct key key_after(struct key k)
{
	if (++k.offset == 0 && ++k.type == 0)
		k.objectid++;
	return k;
}

/* Read up to FIND_NEW_BATCH new items of subvolume root from key *k on
 * into v (*n of them); *k moves past the last item read, *end is set
 * when the tree has no more. */
static int read_batch(struct fs_info *fs, u64 root, u64 gen, struct key *k,
		      struct fs_new_extent *v, int *n, int *end)
{
	const struct subvol_root *sv;
	struct ctree_path p;
	struct key cur;
	int ret, seen = 0;

	*n = 0;
	*end = 1;
	ctree_path_init(&p);
	down_read(&fs->ns_lock);
	ret = subvol_get(fs, root, &sv);
	for (ret = ret ? ret : ctree_search_ge(&sv->root, k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		struct fs_new_extent *e = &v[*n];
		const u8 *d;
		u32 size;

		if (seen++ == FIND_NEW_VISIT || *n == FIND_NEW_BATCH) {
			*end = 0;	/* go on from *k in a new search */
			break;
		}
		ctree_item_key(&p, &cur);
		*k = key_after(cur);
		if (cur.type != BTRFS_EXTENT_DATA_KEY)
			continue;
		d = ctree_item_ptr(&p, &size);
		if (size < BTRFS_FILE_EXTENT_INLINE_DATA_START) {
			ret = -EUCLEAN;
			break;
		}
		e->gen = D_GET64(struct d_file_extent_item, d, generation);
		if (e->gen < gen)
			continue;
		e->ino = cur.objectid;
		e->offset = cur.offset;
		e->type = D_GET8(struct d_file_extent_item, d, type);
		e->compression = D_GET8(struct d_file_extent_item, d,
					compression);
		e->disk_start = e->disk_offset = 0;
		e->len = D_GET64(struct d_file_extent_item, d, ram_bytes);
		if (e->type != BTRFS_FILE_EXTENT_INLINE) {
			if (size < sizeof(struct d_file_extent_item)) {
				ret = -EUCLEAN;
				break;
			}
			e->disk_start = D_GET64(struct d_file_extent_item, d,
						disk_bytenr);
			e->disk_offset = D_GET64(struct d_file_extent_item, d,
						 offset);
			e->len = D_GET64(struct d_file_extent_item, d,
					 num_bytes);
		}
		(*n)++;
	}
	ctree_path_release(&p);
	up_read(&fs->ns_lock);
	return ret < 0 ? ret : 0;
}

int fs_find_new(struct fs_info *fs, uint64_t root, uint64_t gen,
		fs_new_extent_fn fn, void *ctx)
{
	struct fs_new_extent *v = kmalloc(FIND_NEW_BATCH * sizeof(*v));
	struct key k = { 0, 0, 0 };
	int ret, n, end, i;

	if (!v)
		return -ENOMEM;
	do {
		ret = read_batch(fs, root, gen, &k, v, &n, &end);
		for (i = 0; ret == 0 && i < n; i++)
			ret = fn(ctx, &v[i]);
	} while (ret == 0 && !end);
	kfree(v);
	return ret == 1 ? 0 : ret;
}
