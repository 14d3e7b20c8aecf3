/*
 * Copy data to a new place as relocation and defrag move it: each chunk
 * is read, every sector that has a checksum is checked against it (bad
 * data is not moved: -EIO), written to its new place, and the checksums
 * are inserted for the new place; sectors without one (prealloc,
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

/* Check the sectors of one chunk that have checksums. */
static int check_chunk(struct fs_info *fs, struct data_copy *c, u64 at,
		       u32 ns)
{
	u32 ss = fs->sectorsize, cs = fs->csum_size, i;
	u8 one[BTRFS_CSUM_SIZE];

	for (i = 0; i < ns; i++) {
		if (!c->present[i])
			continue;
		csum_data(fs, c->buf + (u64)i * ss, ss, one);
		if (memcmp(one, c->sums + (u64)i * cs, cs)) {
			pr_err("data at %llu fails its checksum; not moved",
			       (unsigned long long)(at + (u64)i * ss));
			return -EIO;
		}
	}
	return 0;
}

/*
 * Copy len bytes (whole sectors) of data from old to new_, checking the
 * old checksums, and insert checksums at new_ for each run of sectors
 * that had them.
 */
int data_copy_checked(struct trans *t, struct data_copy *c, u64 old,
		      u64 new_, u64 len)
{
	struct fs_info *fs = t->fs;
	u32 ss = fs->sectorsize;
	u64 off;
	int ret = 0;

	for (off = 0; off < len && ret == 0; off += DATA_COPY_CHUNK) {
		u32 n = len - off < DATA_COPY_CHUNK ? (u32)(len - off)
						    : DATA_COPY_CHUNK;
		u32 ns = n / ss, i, run;

		ret = volumes_read(fs, old + off, 0, c->buf, n);
		if (ret == 0)
			ret = csum_lookup(fs, old + off, ns, c->sums,
					  c->present);
		if (ret == 0)
			ret = check_chunk(fs, c, old + off, ns);
		if (ret == 0)
			ret = volumes_write(fs, new_ + off, c->buf, n);
		for (i = 0; i < ns && ret == 0; i += run) {
			for (run = 0; i + run < ns &&
			     c->present[i + run] == c->present[i]; run++)
				;
			if (c->present[i])
				ret = csum_insert(t, new_ + off + (u64)i * ss,
						  c->buf + (u64)i * ss,
						  (u64)run * ss);
		}
	}
	return ret;
}
