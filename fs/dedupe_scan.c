/*
 * Dedupe scan: find equal ranges across a set of files (of any
 * subvolumes) and share them, as duperemove does from outside.
 *
 * Design:
 *  1. Hash: for each file, its regular, uncompressed file extent items are
 *     read (one search walk under ns_lock for read, then released), and
 *     for each data block the checksum the csum tree already holds is
 *     looked up (csum_lookup, no path of the fs tree held meanwhile): no
 *     data is read to find candidates. Each block gives a record (the
 *     first 8 bytes of its checksum, its disk address, file and offset).
 *     Blocks without a checksum (NODATASUM) and inline extents are left.
 *  2. Match: the records are sorted by checksum; in a group of equal
 *     checksums the first block (by disk address, then file and offset)
 *     is the source of every other one not already at its disk address.
 *     The pairs are sorted by destination. A group can hold blocks of
 *     different bytes whose checksums collide (crc32c's 32 bits collide
 *     about twice in a GiB of distinct blocks), and its first block is
 *     then the wrong source for some: so a destination block whose
 *     previous block's source is followed, in its file, by a block with
 *     the same checksum takes that block as its source instead,
 *     continuing the run. Runs of consecutive destination blocks whose
 *     sources are consecutive blocks of one file are joined into ranges;
 *     ranges shorter than min are left. (A collision on a run's first
 *     block still costs that block.)
 *  3. Share: each range goes through fs_dedupe_range, which compares the
 *     bytes under the locks that keep writers out, so a block that a
 *     writer changed since it was hashed (or a checksum collision) only
 *     makes that range "differ"; nothing wrong is ever shared.
 * Progress: phase "hashing" counts files, "deduping" counts ranges; both
 * are cancellation points, and a cancelled scan leaves every range it
 * finished shared and the rest as it was.
 * Memory: 32 bytes per block hashed, 40 per candidate block.
 */
#include <stdlib.h>

#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/progress.h>

#include "csum.h"
#include "fs_info.h"
#include "internal.h"
#include "subvol.h"
#include "write_common.h"

/* One hashed data block. */
struct blk {
	u64 hash;		/* first bytes of its checksum */
	u64 logical;		/* its disk address */
	u32 file;		/* index into the files scanned */
	u64 off;		/* file offset */
};

/* One block to share: destination and source. */
struct pair {
	u32 dfile, sfile;	/* indexes into the files scanned */
	u64 doff, soff;		/* file offsets */
	u64 hash;		/* both blocks' checksum (struct blk's) */
	u64 dlogical;		/* the destination's disk address */
};

/* A growing array. */
struct vec {
	void *v;
	u64 n, cap;
	u32 size;		/* bytes per element */
};

static int vec_push(struct vec *a, const void *e)
{
	if (a->n == a->cap) {
		u64 cap = a->cap ? a->cap * 2 : 1024;
		void *v = kmalloc(cap * a->size);

		if (!v)
			return -ENOMEM;
		if (a->n)
			memcpy(v, a->v, a->n * a->size);
		kfree(a->v);
		a->v = v;
		a->cap = cap;
	}
	memcpy((u8 *)a->v + a->n * a->size, e, a->size);
	a->n++;
	return 0;
}

/* One regular extent of a file: where its bytes sit. */
struct ext {
	u64 off;		/* file offset */
	u64 logical;		/* disk address of its first byte */
	u64 len;		/* bytes */
};

/* Gather the uncompressed regular extents of file ino into exts. */
static int file_extents(struct fs_info *fs, struct fs_ino ino,
			struct vec *exts)
{
	struct key k = { ino.ino, BTRFS_EXTENT_DATA_KEY, 0 };
	const struct subvol_root *sv;
	struct ctree_path p;
	int ret = subvol_get(fs, ino.root, &sv);

	if (ret)
		return ret;
	ctree_path_init(&p);
	down_read(&fs->ns_lock);
	for (ret = ctree_search_ge(&sv->root, &k, &p); ret == 0;
	     ret = ctree_next_item(&p)) {
		struct ext e;
		const u8 *d;
		u32 size;

		ctree_item_key(&p, &k);
		if (k.objectid != ino.ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		d = ctree_item_ptr(&p, &size);
		if (size < sizeof(struct d_file_extent_item) ||
		    D_GET8(struct d_file_extent_item, d, type) !=
		    BTRFS_FILE_EXTENT_REG ||
		    D_GET8(struct d_file_extent_item, d, compression) ||
		    !D_GET64(struct d_file_extent_item, d, disk_bytenr))
			continue;
		e.off = k.offset;
		e.logical = D_GET64(struct d_file_extent_item, d, disk_bytenr) +
			    D_GET64(struct d_file_extent_item, d, offset);
		e.len = D_GET64(struct d_file_extent_item, d, num_bytes);
		ret = vec_push(exts, &e);
		if (ret)
			break;
	}
	ctree_path_release(&p);
	up_read(&fs->ns_lock);
	return ret < 0 ? ret : 0;
}

/* Hash the blocks of extent e of file f into blks. */
static int hash_extent(struct fs_info *fs, u32 f, const struct ext *e,
		       struct vec *blks, u64 *bytes)
{
	u32 ss = fs->sectorsize, n = (u32)(e->len / ss), i, cs = fs->csum_size;
	u8 *sums = kmalloc((u64)n * cs + n), *present = sums + (u64)n * cs;
	int ret;

	if (!sums)
		return -ENOMEM;
	ret = n ? csum_lookup(fs, e->logical, n, sums, present) : 0;
	for (i = 0; ret == 0 && i < n; i++) {
		struct blk b = { 0, e->logical + (u64)i * ss, f,
				 e->off + (u64)i * ss };

		if (!present[i])
			continue;
		memcpy(&b.hash, sums + (u64)i * cs, cs < 8 ? cs : 8);
		ret = vec_push(blks, &b);
		*bytes += ss;
	}
	kfree(sums);
	return ret;
}

static int blk_cmp(const void *x, const void *y)
{
	const struct blk *a = x, *b = y;

	if (a->hash != b->hash)
		return a->hash < b->hash ? -1 : 1;
	if (a->logical != b->logical)
		return a->logical < b->logical ? -1 : 1;
	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

/* Order by place: file, then offset. */
static int blk_place_cmp(const void *x, const void *y)
{
	const struct blk *a = x, *b = y;

	if (a->file != b->file)
		return a->file < b->file ? -1 : 1;
	return a->off < b->off ? -1 : a->off > b->off;
}

static int pair_cmp(const void *x, const void *y)
{
	const struct pair *a = x, *b = y;

	if (a->dfile != b->dfile)
		return a->dfile < b->dfile ? -1 : 1;
	return a->doff < b->doff ? -1 : a->doff > b->doff;
}

/* Step 1: hash every file's blocks into blks. */
static int hash_files(struct fs_info *fs, const struct fs_ino *files,
		      u32 nfiles, struct vec *blks,
		      struct fs_dedupe_scan_report *rep)
{
	struct vec exts = { NULL, 0, 0, sizeof(struct ext) };
	u32 f;
	u64 i;
	int ret = 0;

	progress_phase("hashing", nfiles, "files");
	for (f = 0; f < nfiles && ret == 0; f++) {
		exts.n = 0;
		ret = file_extents(fs, files[f], &exts);
		for (i = 0; i < exts.n && ret == 0; i++)
			ret = hash_extent(fs, f, (struct ext *)exts.v + i, blks,
					  &rep->bytes);
		rep->files++;
		if (ret == 0)
			ret = progress_add(1);
	}
	kfree(exts.v);
	return ret;
}

/* Let each pair whose destination follows the previous pair's take the
 * block after that pair's source when it has the same checksum (and is
 * not the destination's own disk block): the run goes on across a
 * checksum collision. Not within one file: there the run would overlap
 * itself (a file of equal blocks), which dedupe refuses, where block by
 * block from the group's first it is shared. blks is sorted by place,
 * pairs by destination. */
static void follow_runs(const struct vec *blks, struct vec *pairs, u32 ss)
{
	struct pair *p = pairs->v;
	u64 i;

	for (i = 1; i < pairs->n; i++) {
		struct blk key = { 0, 0, p[i - 1].sfile, p[i - 1].soff + ss };
		const struct blk *next;

		if (p[i].dfile != p[i - 1].dfile ||
		    p[i].doff != p[i - 1].doff + ss ||
		    key.file == p[i].dfile ||
		    (p[i].sfile == key.file && p[i].soff == key.off))
			continue;
		next = bsearch(&key, blks->v, blks->n, sizeof(struct blk),
			       blk_place_cmp);
		if (next && next->hash == p[i].hash &&
		    next->logical != p[i].dlogical) {
			p[i].sfile = next->file;
			p[i].soff = next->off;
		}
	}
}

/* Step 2: pairs (destination block, source block), by destination; blks
 * is left sorted by place. */
static int match(const struct vec *blks, struct vec *pairs, u32 ss)
{
	const struct blk *b = blks->v;
	u64 i, g;
	int ret = 0;

	if (blks->n)
		qsort(blks->v, blks->n, sizeof(struct blk), blk_cmp);
	for (g = 0; g < blks->n && ret == 0; g = i) {
		for (i = g + 1; i < blks->n && b[i].hash == b[g].hash; i++) {
			struct pair p = { b[i].file, b[g].file, b[i].off,
					  b[g].off, b[i].hash, b[i].logical };

			if (b[i].logical == b[g].logical)
				continue;	/* already shared */
			ret = vec_push(pairs, &p);
			if (ret)
				break;
		}
	}
	if (ret || !pairs->n)
		return ret;
	qsort(pairs->v, pairs->n, sizeof(struct pair), pair_cmp);
	qsort(blks->v, blks->n, sizeof(struct blk), blk_place_cmp);
	follow_runs(blks, pairs, ss);
	return 0;
}

/* Dedupe the range of n blocks starting at pair p, cut to the files'
 * ends (both at EOF: the partial last block goes too). */
static int share_range(struct fs_info *fs, const struct fs_ino *files,
		       const struct pair *p, u64 len,
		       struct fs_dedupe_scan_report *rep)
{
	struct fs_stat ss, ds;
	u64 ls, ld;
	int ret = fs_stat(fs, files[p->sfile], &ss);

	if (ret == 0)
		ret = fs_stat(fs, files[p->dfile], &ds);
	if (ret)
		return ret == -ENOENT ? 0 : ret;	/* gone meanwhile */
	if (p->soff >= ss.size || p->doff >= ds.size)
		return 0;
	ls = ss.size - p->soff < len ? ss.size - p->soff : len;
	ld = ds.size - p->doff < len ? ds.size - p->doff : len;
	len = ls < ld ? ls : ld;
	ret = fs_dedupe_range(fs, files[p->sfile], p->soff, len,
			      files[p->dfile], p->doff);
	if (ret == 0) {
		rep->ranges++;
		rep->deduped += len;
	} else if (ret == -EBADE || ret == -EINVAL) {
		rep->differed++;	/* changed, collided, or overlaps */
		ret = 0;
	}
	return ret;
}

/* Step 3: join pairs into ranges and share those of min bytes or more. */
static int share_all(struct fs_info *fs, const struct fs_ino *files,
		     const struct vec *pairs, u64 min,
		     struct fs_dedupe_scan_report *rep)
{
	const struct pair *p = pairs->v;
	u64 ss = fs->sectorsize, i, j;
	int ret = 0;

	progress_phase("deduping", pairs->n, "blocks");
	for (i = 0; i < pairs->n && ret == 0; i = j) {
		for (j = i + 1; j < pairs->n; j++)
			if (p[j].dfile != p[i].dfile ||
			    p[j].sfile != p[i].sfile ||
			    p[j].doff != p[i].doff + (j - i) * ss ||
			    p[j].soff != p[i].soff + (j - i) * ss)
				break;
		if ((j - i) * ss >= min)
			ret = share_range(fs, files, &p[i], (j - i) * ss, rep);
		if (ret == 0)
			ret = progress_add(j - i);
	}
	return ret;
}

/* See fs.h. */
int fs_dedupe_scan(struct fs_info *fs, const struct fs_ino *files,
		   uint32_t nfiles, uint64_t min,
		   struct fs_dedupe_scan_report *rep)
{
	struct vec blks = { NULL, 0, 0, sizeof(struct blk) };
	struct vec pairs = { NULL, 0, 0, sizeof(struct pair) };
	int ret;

	memset(rep, 0, sizeof(*rep));
	if (min < fs->sectorsize)
		min = fs->sectorsize;
	ret = hash_files(fs, files, nfiles, &blks, rep);
	if (ret == 0)
		ret = match(&blks, &pairs, fs->sectorsize);
	kfree(blks.v);
	if (ret == 0)
		ret = share_all(fs, files, &pairs, min, rep);
	kfree(pairs.v);
	progress_end();
	return ret;
}
