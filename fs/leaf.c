/*
 * Item primitives on one tree block, used by ctree_write.c. A leaf holds
 * item headers growing up from the block header and item data growing down
 * from the end; item i's data lies just below item i-1's, so the data of
 * items slot..n-1 is one contiguous run from the lowest offset up. Every
 * function here keeps that layout (the tree checker insists on it), works on
 * a dirty block the caller may change, and cannot fail: the caller made sure
 * there is room.
 */
#include "ctree_write.h"
#include "fs_info.h"

#define HDR ((u32)sizeof(struct d_header))
#define ITEM ((u32)sizeof(struct d_item))
#define PTR ((u32)sizeof(struct d_key_ptr))

/* Offset (from the end of the header) where item data begins. */
static u32 data_start(const struct tree_block *b)
{
	u32 n = tb_nritems(b);

	return n ? tb_item_offset(b, n - 1) : leaf_capacity(b->len);
}

/* Where the data of items slot.. ends (the top of item slot's data). */
static u32 data_end_at(const struct tree_block *b, u32 slot)
{
	return slot ? tb_item_offset(b, slot - 1) : leaf_capacity(b->len);
}

static void set_item(struct tree_block *b, u32 i, u32 off, u32 size)
{
	D_SET32(struct d_item, tb_item_desc_w(b, i), offset, off);
	D_SET32(struct d_item, tb_item_desc_w(b, i), size, size);
}

/* Bytes free between the item headers and the item data. */
u32 leaf_free_space(const struct tree_block *b)
{
	return data_start(b) - tb_nritems(b) * ITEM;
}

/* Shift the data of items [slot, n) by delta bytes (negative: down). */
static void shift_data(struct tree_block *b, u32 slot, long delta)
{
	u32 n = tb_nritems(b), lo = data_start(b), hi = data_end_at(b, slot);
	u8 *base = b->data + HDR;
	u32 i;

	if (slot >= n)
		return;
	memmove(base + (long)lo + delta, base + lo, hi - lo);
	for (i = slot; i < n; i++)
		D_SET32(struct d_item, tb_item_desc_w(b, i), offset,
			(u32)((long)tb_item_offset(b, i) + delta));
}

/* Make an item of size bytes (contents zero) at slot with key k. */
void leaf_insert_item(struct tree_block *b, u32 slot, const struct key *k,
		      u32 size)
{
	u32 n = tb_nritems(b), top = data_end_at(b, slot);

	shift_data(b, slot, -(long)size);
	memmove(tb_item_desc_w(b, slot + 1), tb_item_desc_w(b, slot),
		(n - slot) * ITEM);
	key_to_disk(tb_item_desc_w(b, slot), k);
	set_item(b, slot, top - size, size);
	memset(b->data + HDR + top - size, 0, size);
	tb_set_nritems(b, n + 1);
}

/* Remove items [slot, slot + nr). */
void leaf_del_items(struct tree_block *b, u32 slot, u32 nr)
{
	u32 n = tb_nritems(b), bytes = 0, i;

	for (i = slot; i < slot + nr; i++)
		bytes += tb_item_size(b, i);
	if (slot + nr < n) {
		u32 lo = data_start(b), hi = data_end_at(b, slot + nr);
		u8 *base = b->data + HDR;

		memmove(base + lo + bytes, base + lo, hi - lo);
		for (i = slot + nr; i < n; i++)
			D_SET32(struct d_item, tb_item_desc_w(b, i), offset,
				tb_item_offset(b, i) + bytes);
		memmove(tb_item_desc_w(b, slot), tb_item_desc_w(b, slot + nr),
			(n - slot - nr) * ITEM);
	}
	tb_set_nritems(b, n - nr);
}

/* Grow item slot by extra zero bytes at its end. */
void leaf_extend_item(struct tree_block *b, u32 slot, u32 extra)
{
	u32 size = tb_item_size(b, slot), off;

	/* Moving the data of items slot.. down by extra (item slot's own
	 * included) frees exactly the extra bytes at the end of item slot. */
	shift_data(b, slot, -(long)extra);
	off = tb_item_offset(b, slot);
	memset(b->data + HDR + off + size, 0, extra);
	D_SET32(struct d_item, tb_item_desc_w(b, slot), size, size + extra);
}

/* Shrink item slot to new_size bytes, cutting its end. */
void leaf_truncate_item(struct tree_block *b, u32 slot, u32 new_size)
{
	u32 size = tb_item_size(b, slot), cut = size - new_size;
	u32 off = tb_item_offset(b, slot), lo = data_start(b), i;
	u8 *base = b->data + HDR;

	memmove(base + lo + cut, base + lo, off + new_size - lo);
	for (i = slot; i < tb_nritems(b); i++)
		D_SET32(struct d_item, tb_item_desc_w(b, i), offset,
			tb_item_offset(b, i) + cut);
	D_SET32(struct d_item, tb_item_desc_w(b, slot), size, new_size);
}

/*
 * Copy nr items from src (starting at from) into dst at dst_slot, in one
 * pass: the data of dst's items from dst_slot on moves down once by all
 * the bytes, and the items' data, one run in src, is copied in one piece.
 */
void leaf_move_items(struct tree_block *dst, u32 dst_slot,
		     const struct tree_block *src, u32 from, u32 nr)
{
	u32 n = tb_nritems(dst), top = data_end_at(dst, dst_slot), i;
	u32 src_lo, bytes;

	if (nr == 0)
		return;
	src_lo = tb_item_offset(src, from + nr - 1);
	bytes = data_end_at(src, from) - src_lo;
	shift_data(dst, dst_slot, -(long)bytes);
	memmove(tb_item_desc_w(dst, dst_slot + nr), tb_item_desc_w(dst, dst_slot),
		(n - dst_slot) * ITEM);
	memcpy(dst->data + HDR + top - bytes, src->data + HDR + src_lo, bytes);
	for (i = 0; i < nr; i++) {
		memcpy(tb_item_desc_w(dst, dst_slot + i),
		       tb_item_desc(src, from + i), ITEM);
		D_SET32(struct d_item, tb_item_desc_w(dst, dst_slot + i),
			offset, tb_item_offset(src, from + i) - src_lo + top -
			bytes);
	}
	tb_set_nritems(dst, n + nr);
}

/* Change the key of item slot (the caller keeps the order). */
void leaf_set_key(struct tree_block *b, u32 slot, const struct key *k)
{
	key_to_disk(tb_item_desc_w(b, slot), k);
}

/* Set node pointer slot. */
void node_set_ptr(struct tree_block *b, u32 slot, const struct key *k,
		  u64 bytenr, u64 gen)
{
	u8 *d = tb_ptr_desc_w(b, slot);

	key_to_disk(d, k);
	D_SET64(struct d_key_ptr, d, blockptr, bytenr);
	D_SET64(struct d_key_ptr, d, generation, gen);
}

/* Insert a node pointer at slot. */
void node_insert_ptr(struct tree_block *b, u32 slot, const struct key *k,
		     u64 bytenr, u64 gen)
{
	u32 n = tb_nritems(b);

	memmove(tb_ptr_desc_w(b, slot + 1), tb_ptr_desc_w(b, slot),
		(n - slot) * PTR);
	tb_set_nritems(b, n + 1);
	node_set_ptr(b, slot, k, bytenr, gen);
}

/* Remove node pointer slot. */
void node_del_ptr(struct tree_block *b, u32 slot)
{
	u32 n = tb_nritems(b);

	memmove(tb_ptr_desc_w(b, slot), tb_ptr_desc_w(b, slot + 1),
		(n - slot - 1) * PTR);
	tb_set_nritems(b, n - 1);
}
