/*
 * Relocation, step 2 (see relocation.c): copying the data extents of the
 * group being relocated to new extents outside it, checksums checked and
 * moved with them (data_copy.c). Runs inside the relocation commit.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "ctree.h"
#include "data_copy.h"
#include "fs_info.h"
#include "relocation_int.h"
#include "transaction.h"

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

/*
 * Step 2: copy every data extent of the group to a new place. Asked to
 * stop (r->stop) before an extent, it keeps only the extents copied so
 * far as moves (the commit fixes their references as usual; the group
 * keeps the rest) and sets r->stopped.
 */
int reloc_move_data(struct reloc *r)
{
	struct data_copy c;
	u32 i;
	int ret = data_copy_init(r->fs, &c);

	if (ret == 0)
		ret = collect_data(r);
	for (i = 0; i < r->data_moves.n && ret == 0; i++) {
		struct moved *m = &r->data_moves.v[i];
		u64 got;

		if (r->stop && r->stop(r->stop_arg)) {
			r->data_moves.n = i;
			r->stopped = 1;
			break;
		}

		ret = bg_alloc(r->t, BTRFS_BLOCK_GROUP_DATA, m->len, m->len,
			       &m->new_, &got);
		if (ret == 0)
			ret = data_copy_checked(r->t, &c, m->old, m->new_,
						m->len);
		if (ret == 0)
			ret = u64map_put(&r->data, m->old, &m->new_);
		r->st->data_extents++;
		r->st->data_bytes += m->len;
	}
	data_copy_free(&c);
	return ret;
}
