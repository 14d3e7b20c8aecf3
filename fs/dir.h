/*
 * Directory entries: name lookup and readdir. See dir.c.
 */
#ifndef FS_DIR_H
#define FS_DIR_H

#include "ctree.h"
#include "format.h"
#include "fs.h"

u32 dir_name_hash(const char *name, size_t len);
u8 dir_ftype_of_mode(u32 mode);
int dir_lookup(const struct ctree_root *root, u64 dir, const char *name,
	       size_t len, struct key *location, u8 *type);

struct fs_info;
struct fs_ino;
int dir_lookup_ino(struct fs_info *fs, struct fs_ino dir, const char *name,
		   size_t len, struct fs_ino *out, u8 *type);

#endif
