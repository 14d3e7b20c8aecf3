/*
 * Unlocked forms of the public read calls, for use inside fs/ with
 * fs->ns_lock already held (the public wrappers in fs.h take it for read;
 * taking a writer-fair rwsem twice could deadlock against a waiting
 * writer).
 */
#ifndef FS_INTERNAL_H
#define FS_INTERNAL_H

#include "fs.h"

int inode_stat(struct fs_info *fs, struct fs_ino ino, struct fs_stat *st);
int inode_lookup(struct fs_info *fs, const char *path, unsigned flags,
		 struct fs_ino *out);
int file_read(struct fs_info *fs, struct fs_ino ino, uint64_t off, void *buf,
	      size_t len, size_t *done);
int file_read_crcs(struct fs_info *fs, struct fs_ino ino, uint64_t off,
		   void *buf, size_t len, size_t *done,
		   struct fs_read_crcs *out);
int file_read_stored(struct fs_info *fs, struct fs_ino ino, int datasum,
		     uint64_t logical, uint64_t len, uint8_t *dst,
		     uint64_t file_off);
int file_readlink(struct fs_info *fs, struct fs_ino ino, char *buf,
		  size_t len, size_t *done);
struct rwsem *inode_lock(struct fs_info *fs, struct fs_ino ino);
struct rwsem *lookup_lock(struct fs_info *fs, struct fs_ino dir);
void lookup_unlock(struct rwsem *l);
int dir_step(struct fs_info *fs, struct fs_ino dir, const char *name,
	     size_t len, struct fs_ino *out, u8 *type);
void ns_write_lock(struct fs_info *fs);
void ns_write_unlock(struct fs_info *fs);
void fs_uuid_generate(unsigned char *uuid);

#endif
