/*
 * The tree checker's owner rule (fs/tree_check.c, tree_check_expect): a
 * block reached from a subvolume tree, or from a relocation tree (a
 * snapshot of one that balance makes), may be owned by any tree that
 * sharing can put there, as Linux's shapes in btrfs-progs' test images
 * show (fsck-tests/020 shared_block_ref_only: a block of the top level
 * below the relocation tree); every other tree owns its blocks outright.
 */
#include <string.h>

#include "../../fs/format.h"
#include "../../fs/tree_block.h"
#include "../../fs/tree_check.h"
#include "test.h"

/* Whether a leaf of generation 1 owned by owner passes under tree. */
static int owner_passes(u64 owner, u64 tree)
{
	static u8 buf[4096];
	struct tb_expect exp = { tree, 1, 0, 0, { 0, 0, 0 } };
	char why[128];

	memset(buf, 0, sizeof(buf));
	D_SET64(struct d_header, buf, generation, 1);
	D_SET64(struct d_header, buf, owner, owner);
	return tree_check_expect(NULL, buf, &exp, why, sizeof(why)) == 0;
}

TEST(tree_check, owner_shared_into_subvolume)
{
	CHECK(owner_passes(BTRFS_FS_TREE_OBJECTID, 256));
	CHECK(owner_passes(257, BTRFS_FS_TREE_OBJECTID));
	CHECK(!owner_passes(BTRFS_EXTENT_TREE_OBJECTID, 256));
}

TEST(tree_check, owner_shared_into_reloc_tree)
{
	CHECK(owner_passes(BTRFS_FS_TREE_OBJECTID, BTRFS_TREE_RELOC_OBJECTID));
	CHECK(owner_passes(258, BTRFS_TREE_RELOC_OBJECTID));
	CHECK(owner_passes(BTRFS_DATA_RELOC_TREE_OBJECTID,
			   BTRFS_TREE_RELOC_OBJECTID));
	CHECK(owner_passes(BTRFS_TREE_RELOC_OBJECTID,
			   BTRFS_TREE_RELOC_OBJECTID));
	CHECK(!owner_passes(BTRFS_CSUM_TREE_OBJECTID,
			    BTRFS_TREE_RELOC_OBJECTID));
}

TEST(tree_check, owner_outright_elsewhere)
{
	CHECK(owner_passes(BTRFS_EXTENT_TREE_OBJECTID,
			   BTRFS_EXTENT_TREE_OBJECTID));
	CHECK(!owner_passes(BTRFS_FS_TREE_OBJECTID,
			    BTRFS_EXTENT_TREE_OBJECTID));
	CHECK(!owner_passes(BTRFS_FS_TREE_OBJECTID,
			    BTRFS_DATA_RELOC_TREE_OBJECTID));
}
