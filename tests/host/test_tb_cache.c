/*
 * The tree-block cache (fs/tree_block.c): its limit applies to the
 * unreferenced blocks on its LRU list only. Blocks that holders still
 * reference (a transaction's dirty blocks, paths) may exceed it without
 * pushing out what was just put: a transaction with more dirty bytes than
 * the limit must not empty the cache on every put.
 */
#include <string.h>

#include "../../fs/fs_info.h"
#include "../../fs/tree_block.h"
#include "test.h"

#define NODESIZE 4096u
#define LIMIT_BLOCKS 4u
#define HELD_BLOCKS 16u

TEST(tb_cache, limit_counts_unreferenced_blocks_only)
{
	static struct fs_info fs;
	struct tree_block *b[HELD_BLOCKS];
	u32 i;

	memset(&fs, 0, sizeof(fs));
	fs.nodesize = NODESIZE;
	CHECK_OK(tb_cache_init(&fs.cache, LIMIT_BLOCKS * NODESIZE));
	for (i = 0; i < HELD_BLOCKS; i++)
		CHECK_OK(tree_block_new(&fs, (1ull << 20) + i * NODESIZE,
					&b[i]));
	/* Referenced blocks four times the limit; two are put. */
	tree_block_put(b[0]);
	tree_block_put(b[1]);
	CHECK_EQ(fs.cache.bytes, HELD_BLOCKS * NODESIZE);
	CHECK_EQ(fs.cache.lru_bytes, 2 * NODESIZE);
	/* Put them all: the LRU keeps the limit's worth, newest last. */
	for (i = 2; i < HELD_BLOCKS; i++)
		tree_block_put(b[i]);
	CHECK_EQ(fs.cache.bytes, LIMIT_BLOCKS * NODESIZE);
	CHECK_EQ(fs.cache.lru_bytes, LIMIT_BLOCKS * NODESIZE);
	tb_cache_destroy(&fs.cache);
}
