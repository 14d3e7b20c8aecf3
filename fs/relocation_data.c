/*
 * Relocation, step 2 (see relocation.c): copying the data extents of the
 * group being relocated to new extents outside it. Each extent is read,
 * every sector that has a checksum is checked against it (bad data is
 * not moved: -EIO), written to its new place, and the checksums are
 * inserted for the new place; sectors without one (prealloc, nodatasum)
 * get none. Runs inside the relocation commit.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "csum.h"
#include "ctree.h"
#include "fs_info.h"
#include "relocation_int.h"
#include "transaction.h"

/* Bytes of data copied per read and write. */
#define COPY_CHUNK (1024u * 1024)

/*
 * Copy len bytes of data from old to new, checking the old checksums,
 * and insert checksums at new for each run of sectors that had them
 * (prealloc and nodatasum data has none).
 */
static int copy_data(struct reloc *r, u64 old, u64 new_, u64 len, u8 *buf,
		     u8 *sums, u8 *present)
{
	struct fs_info *fs = r->fs;
	u32 ss = fs->sectorsize, cs = fs->csum_size;
	u64 off;
	int ret = 0;

	for (off = 0; off < len && ret == 0; off += COPY_CHUNK) {
		u32 n = len - off < COPY_CHUNK ? (u32)(len - off) : COPY_CHUNK;
		u32 ns = n / ss, i, run;
		u8 one[BTRFS_CSUM_SIZE];

		ret = volumes_read(fs, old + off, 0, buf, n);
		if (ret == 0)
			ret = csum_lookup(fs, old + off, ns, sums, present);
		for (i = 0; i < ns && ret == 0; i++) {
			if (!present[i])
				continue;
			csum_data(fs, buf + (u64)i * ss, ss, one);
			if (memcmp(one, sums + (u64)i * cs, cs)) {
				pr_err("relocation: data at %llu fails its "
				       "checksum; not moved",
				       (unsigned long long)(old + off +
							    (u64)i * ss));
				ret = -EIO;
			}
		}
		if (ret == 0)
			ret = volumes_write(fs, new_ + off, buf, n);
		for (i = 0; i < ns && ret == 0; i += run) {
			for (run = 0; i + run < ns &&
			     present[i + run] == present[i]; run++)
				;
			if (present[i])
				ret = csum_insert(r->t, new_ + off +
						  (u64)i * ss,
						  buf + (u64)i * ss,
						  (u64)run * ss);
		}
	}
	return ret;
}

/* The data extents of the group, in address order. */
static int collect_data(struct reloc *r)
{
	struct key k = { r->start, 0, 0 };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_search_ge(&r->fs->extent_root, &k, &p);
	while (ret == 0) {
		u32 size;
		const u8 *item = ctree_item_ptr(&p, &size);

		ctree_item_key(&p, &k);
		if (k.objectid >= r->end)
			break;
		if (k.type == BTRFS_EXTENT_ITEM_KEY &&
		    (D_GET64(struct d_extent_item, item, flags) &
		     BTRFS_EXTENT_FLAG_DATA)) {
			struct moved m = { k.objectid, 0, k.offset, 0, 1, 0 };

			ret = reloc_moved_add(&r->data_moves, &m);
			if (ret)
				break;
		}
		ret = ctree_next_item(&p);
	}
	ctree_path_release(&p);
	return ret < 0 ? ret : 0;
}

/* Step 2: copy every data extent of the group to a new place. */
int reloc_move_data(struct reloc *r)
{
	struct fs_info *fs = r->fs;
	u32 nsec = COPY_CHUNK / fs->sectorsize;
	u8 *buf = kmalloc(COPY_CHUNK);
	u8 *sums = kmalloc((u64)nsec * fs->csum_size);
	u8 *present = kmalloc(nsec);
	u32 i;
	int ret = buf && sums && present ? collect_data(r) : -ENOMEM;

	for (i = 0; i < r->data_moves.n && ret == 0; i++) {
		struct moved *m = &r->data_moves.v[i];
		u64 got;

		ret = bg_alloc(r->t, BTRFS_BLOCK_GROUP_DATA, m->len, m->len,
			       &m->new_, &got);
		if (ret == 0)
			ret = copy_data(r, m->old, m->new_, m->len, buf, sums,
					present);
		if (ret == 0)
			ret = reloc_remap_put(&r->data, m->old, m->new_);
		r->st->data_extents++;
		r->st->data_bytes += m->len;
	}
	kfree(buf);
	kfree(sums);
	kfree(present);
	return ret;
}
