/*
 * Copy data to a new place as relocation and defrag move it: a chunk
 * (DATA_COPY_CHUNK) is gathered from one old range (relocation) or from
 * several (defrag: the items of a run), every sector that has a checksum
 * is checked against it (bad data is not moved: -EIO), then the chunk is
 * written to its new place in one write and the checksums are inserted
 * for it; sectors without one (prealloc, nodatasum) get none. The old
 * checksums stay until the old extent's last reference goes. Caller is
 * inside a transaction (the commit, for both users).
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "csum.h"
#include "data_copy.h"
#include "fs_info.h"
#include "transaction.h"
#include "volumes.h"

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
 * Read len bytes (whole sectors, at most what is left of the chunk from
 * at) of old data into the chunk at byte at, checking them against their
 * checksums; the chunk remembers which sectors had one.
 */
int data_copy_read(struct fs_info *fs, struct data_copy *c, u64 old,
		   u32 at, u32 len)
{
	u32 ss = fs->sectorsize, cs = fs->csum_size, i, ns = len / ss;
	u32 s0 = at / ss;
	u8 one[BTRFS_CSUM_SIZE];
	int ret = volumes_read(fs, old, 0, c->buf + at, len);

	if (ret == 0)
		ret = csum_lookup(fs, old, ns, c->sums + (u64)s0 * cs,
				  c->present + s0);
	for (i = 0; i < ns && ret == 0; i++) {
		if (!c->present[s0 + i])
			continue;
		csum_data(fs, c->buf + at + (u64)i * ss, ss, one);
		if (memcmp(one, c->sums + (u64)(s0 + i) * cs, cs)) {
			pr_err("data at %llu fails its checksum; not moved",
			       (unsigned long long)(old + (u64)i * ss));
			ret = -EIO;
		}
	}
	return ret;
}

/* Write the chunk's first len bytes at new_ and insert checksums for
 * each run of sectors that had them. */
int data_copy_write(struct trans *t, struct data_copy *c, u64 new_, u32 len)
{
	u32 ss = t->fs->sectorsize, ns = len / ss, i, run;
	int ret = volumes_write(t->fs, new_, c->buf, len);

	for (i = 0; i < ns && ret == 0; i += run) {
		for (run = 0; i + run < ns &&
		     c->present[i + run] == c->present[i]; run++)
			;
		if (c->present[i])
			ret = csum_insert(t, new_ + (u64)i * ss,
					  c->buf + (u64)i * ss, (u64)run * ss);
	}
	return ret;
}

/*
 * Copy len bytes (whole sectors) of data from old to new_, checking the
 * old checksums, and insert checksums at new_ for each run of sectors
 * that had them.
 */
int data_copy_checked(struct trans *t, struct data_copy *c, u64 old,
		      u64 new_, u64 len)
{
	u64 off;
	int ret = 0;

	for (off = 0; off < len && ret == 0; off += DATA_COPY_CHUNK) {
		u32 n = len - off < DATA_COPY_CHUNK ? (u32)(len - off)
						    : DATA_COPY_CHUNK;

		ret = data_copy_read(t->fs, c, old + off, 0, n);
		if (ret == 0)
			ret = data_copy_write(t, c, new_ + off, n);
	}
	return ret;
}
