/*
 * Copy data to a new place as relocation and defrag move it: a chunk
 * (DATA_COPY_CHUNK) is gathered from one old range (relocation) or from
 * several (defrag: the items of a run), every sector that has a checksum
 * is checked against it (bad data is not moved: -EIO), then the chunk is
 * written to its new place in one delayed write (writeback.c) and the
 * checked checksums are inserted for it; sectors without one (prealloc,
 * nodatasum) get none. The old checksums stay until the old extent's
 * last reference goes. Caller is inside a transaction (the commit, for
 * both users).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "csum.h"
#include "data_copy.h"
#include "fs_info.h"
#include "transaction.h"
#include "volumes.h"
#include "writeback.h"

int data_copy_init(struct fs_info *fs, struct data_copy *c)
{
	u32 nsec = DATA_COPY_CHUNK / fs->sectorsize;

	c->buf = kmalloc(DATA_COPY_CHUNK);
	c->sums = kmalloc((u64)nsec * fs->csum_size);
	c->present = kmalloc(nsec);
	if (c->buf && c->sums && c->present)
		return 0;
	data_copy_free(c);
	return -ENOMEM;
}

void data_copy_free(struct data_copy *c)
{
	kfree(c->buf);
	kfree(c->sums);
	kfree(c->present);
	c->buf = c->sums = c->present = NULL;
}

/*
 * Start reading len bytes (whole sectors, at most what is left of the
 * chunk from at) of old data into the chunk at byte at, and look up their
 * checksums while the disk reads; the chunk remembers which sectors had
 * one. data_copy_read_end waits for the read and checks the data. One
 * read per copier at a time; the caller may start another copier's read
 * meanwhile (relocation keeps the disk busy so).
 */
int data_copy_read_start(struct fs_info *fs, struct data_copy *c, u64 old,
			 u32 at, u32 len)
{
	u32 ss = fs->sectorsize, s0 = at / ss;
	int ret = volumes_read_start(fs, old, 0, c->buf + at, len, &c->req);

	if (ret)
		return ret;
	c->old = old;
	c->at = at;
	c->len = len;
	c->lookup_err = csum_lookup(fs, old, len / ss,
				    c->sums + (u64)s0 * fs->csum_size,
				    c->present + s0);
	return 0;
}

/* Wait for the read data_copy_read_start started (always, even after an
 * error) and check its sectors against their checksums. */
int data_copy_read_end(struct fs_info *fs, struct data_copy *c)
{
	u32 ss = fs->sectorsize, cs = fs->csum_size, i, ns = c->len / ss;
	u32 s0 = c->at / ss;
	u8 one[BTRFS_CSUM_SIZE];
	int err = volumes_read_end(fs, &c->req), ret = c->lookup_err;

	if (ret == 0)
		ret = err;
	for (i = 0; i < ns && ret == 0; i++) {
		if (!c->present[s0 + i])
			continue;
		csum_data(fs, c->buf + c->at + (u64)i * ss, ss, one);
		if (memcmp(one, c->sums + (u64)(s0 + i) * cs, cs)) {
			pr_err("data at %llu fails its checksum; not moved",
			       (unsigned long long)(c->old + (u64)i * ss));
			ret = -EIO;
		}
	}
	return ret;
}

/* Both at once: read and check len bytes of old data at byte at. */
int data_copy_read(struct fs_info *fs, struct data_copy *c, u64 old,
		   u32 at, u32 len)
{
	int ret = data_copy_read_start(fs, c, old, at, len);

	return ret ? ret : data_copy_read_end(fs, c);
}

/*
 * Write the chunk's first len bytes at new_ and insert checksums for
 * each run of sectors that had them: the old sums, which data_copy_read
 * found equal to the data's. The write is a delayed one (writeback.c),
 * as a file's data is: the caller goes on to the next chunk while it is
 * on its way, and the commit waits for it before its superblock.
 */
int data_copy_write(struct trans *t, struct data_copy *c, u64 new_, u32 len)
{
	u32 ss = t->fs->sectorsize, cs = t->fs->csum_size, ns = len / ss;
	u32 i, run;
	int ret = writeback_submit(t->fs, WB_DATA, new_, c->buf, len);

	for (i = 0; i < ns && ret == 0; i += run) {
		for (run = 0; i + run < ns &&
		     c->present[i + run] == c->present[i]; run++)
			;
		if (c->present[i])
			ret = csum_insert_sums(t, new_ + (u64)i * ss,
					       c->sums + (u64)i * cs, run);
	}
	return ret;
}
