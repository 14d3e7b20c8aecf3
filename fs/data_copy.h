/*
 * Copying data extents to a new place with their checksums: shared by
 * relocation (relocation_data.c) and defrag (defrag.c). See data_copy.c.
 */
#ifndef FS_DATA_COPY_H
#define FS_DATA_COPY_H

#include "format.h"
#include "volumes.h"

struct fs_info;
struct trans;

/* Bytes of data copied per read and write. */
#define DATA_COPY_CHUNK (1024u * 1024)

/* Buffers of one copier (data_copy_init): a chunk of data gathered by
 * data_copy_read, written out by data_copy_write. */
struct data_copy {
	u8 *buf;		/* DATA_COPY_CHUNK bytes of data */
	u8 *sums;		/* their checksums */
	u8 *present;		/* per sector: 1 when it has a checksum */
	struct volumes_read_req req;	/* the read in flight */
	u64 old;		/* its first byte, */
	u32 at, len;		/* where in buf and how long */
	int lookup_err;		/* its checksums' look-up */
};

int data_copy_init(struct fs_info *fs, struct data_copy *c);
void data_copy_free(struct data_copy *c);
int data_copy_read_start(struct fs_info *fs, struct data_copy *c, u64 old,
			 u32 at, u32 len);
int data_copy_read_end(struct fs_info *fs, struct data_copy *c);
int data_copy_read(struct fs_info *fs, struct data_copy *c, u64 old,
		   u32 at, u32 len);
int data_copy_write(struct trans *t, struct data_copy *c, u64 new_, u32 len);

#endif
