/*
 * The tree checker: every tree block is verified when it is read. See
 * tree_check.c.
 */
#ifndef FS_TREE_CHECK_H
#define FS_TREE_CHECK_H

#include <stddef.h>

#include "format.h"
#include "tree_block.h"

struct fs_info;

int tree_check_block(const struct fs_info *fs, const u8 *buf, u64 bytenr,
		     char *why, size_t whylen);
int tree_check_expect(const struct fs_info *fs, const u8 *buf,
		      const struct tb_expect *exp, char *why, size_t whylen);
int tree_check_is_subvol_tree(u64 objectid);

#endif
