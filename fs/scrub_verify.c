/*
 * Scrub's checks of one copy (scrub.c walks the copies): a tree block,
 * or a piece of data of up to SCRUB_PIECE bytes, read from the copy
 * being scrubbed (s->copy) and verified; a bad one is repaired from
 * another copy of the same chunk (DUP) that verifies.
 *
 * What is checked, in Linux's order and with its counts (every count of
 * errors is in sectors, as Linux keeps them, so a bad 16 KiB tree block
 * with 4 KiB sectors is 4 errors):
 *  - a tree block: header bytenr, fsid, chunk tree UUID, the checksum,
 *    the generation against the one its extent item records, then the
 *    tree checker; any of them wrong is a verify error (Linux counts a
 *    tree block's bad checksum there too, csum_errors being data's);
 *  - data: each sector that has a checksum in the commit's csum tree
 *    (csum_errors); sectors without one are counted (no_csum) and only a
 *    read error counts against them;
 *  - a failed read: read_errors.
 * A bad block or sector is repaired when another copy verifies: that
 * copy is written over the bad one and read back and verified again
 * (corrected_errors); otherwise, or when the rewrite does not read back
 * right, it is uncorrectable (uncorrectable_errors). With -r (read-only)
 * nothing is written, and an error another copy could repair counts as
 * corrected, as Linux counts it.
 *
 * Why a rewrite is safe beside writers: the caller holds a commit reader
 * (commit_root.c) while it scrubs a chunk's copy, and only scrubs extents
 * of that commit. A committed block never changes (DESIGN.md invariant
 * 2), and while a reader is registered the space a later commit frees is
 * held, not reused, and an emptied chunk is not forgotten (relocation.c),
 * so the bytes at these addresses stay those of the commit read: writing
 * the good copy over a bad one can never overwrite newer data. Only data
 * with checksums is rewritten; such data is never written in place
 * (nodatasum goes with nodatacow).
 *
 * Errors are logged as Linux's dmesg lines, with the logical and physical
 * address; for data, the files using it (every subvolume, read-only
 * snapshots too) through the back-reference walker at the commit roots.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/log.h>

#include "backref.h"
#include "csum.h"
#include "csum_type.h"
#include "fs_info.h"
#include "scrub_int.h"
#include "tree_check.h"

/* What is wrong with a copy. */
enum scrub_err {
	SCRUB_OK = 0,
	SCRUB_EREAD,		/* the device failed the read */
	SCRUB_ECSUM,		/* data checksum mismatch */
	SCRUB_EVERIFY,		/* tree block: checksum, header or tree
				 * checker */
};

/* Count n sectors of error kind e. */
static void count_err(struct scrub *s, enum scrub_err e, u64 n)
{
	if (e == SCRUB_EREAD)
		scrub_count(&s->p->read_errors, n);
	else if (e == SCRUB_ECSUM)
		scrub_count(&s->p->csum_errors, n);
	else
		scrub_count(&s->p->verify_errors, n);
}

/* Read len bytes of logical from copy `copy` into buf. */
static int read_copy(struct scrub *s, int copy, u64 logical, void *buf,
		     u32 len)
{
	return blk_read(s->fs->dev, scrub_phys(s, copy, logical), buf, len);
}

/* Check a tree block read into buf; why says what is wrong. */
static enum scrub_err check_block(struct scrub *s, const u8 *buf, u64 bytenr,
				  u64 gen, char *why, size_t whylen)
{
	struct fs_info *fs = s->fs;
	u64 hgen = D_GET64(struct d_header, buf, generation);
	u8 got[BTRFS_CSUM_SIZE];
	int bad;

	if (D_GET64(struct d_header, buf, bytenr) != bytenr) {
		snprintf(why, whylen, "bad bytenr, has %llu want %llu",
			 (unsigned long long)D_GET64(struct d_header, buf,
						     bytenr),
			 (unsigned long long)bytenr);
		return SCRUB_EVERIFY;
	}
	if (memcmp(D_PTR(struct d_header, buf, fsid), fs->meta_fsid,
		   BTRFS_FSID_SIZE)) {
		snprintf(why, whylen, "bad fsid");
		return SCRUB_EVERIFY;
	}
	if (memcmp(D_PTR(struct d_header, buf, chunk_tree_uuid),
		   fs->chunk_tree_uuid, BTRFS_UUID_SIZE)) {
		snprintf(why, whylen, "bad chunk tree uuid");
		return SCRUB_EVERIFY;
	}
	if (!csum_header_match(fs->csum_type, buf, fs->nodesize, got)) {
		snprintf(why, whylen, "bad csum");
		return SCRUB_EVERIFY;
	}
	if (gen && hgen != gen) {
		snprintf(why, whylen, "bad generation, has %llu want %llu",
			 (unsigned long long)hgen, (unsigned long long)gen);
		return SCRUB_EVERIFY;
	}
	/* The checker bounds generations by fs->generation, which a commit
	 * changes under commit_root_sem (scrub runs beside commits). */
	down_read(&fs->commit_root_sem);
	bad = tree_check_block(fs, buf, bytenr, why, whylen);
	up_read(&fs->commit_root_sem);
	return bad ? SCRUB_EVERIFY : SCRUB_OK;
}

/* Read copy `copy` of the tree block into buf and check it. */
static enum scrub_err read_block(struct scrub *s, int copy, u64 bytenr,
				 u64 gen, u8 *buf, char *why, size_t whylen)
{
	int ret = read_copy(s, copy, bytenr, buf, s->fs->nodesize);

	if (ret) {
		snprintf(why, whylen, "read error %d", ret);
		return SCRUB_EREAD;
	}
	return check_block(s, buf, bytenr, gen, why, whylen);
}

/* Another copy than s->copy whose block verifies, read into s->good;
 * -1 when none does. */
static int good_block_copy(struct scrub *s, u64 bytenr, u64 gen)
{
	char why[256];
	u32 c;

	for (c = 0; c < s->m.num_stripes; c++)
		if ((int)c != s->copy &&
		    read_block(s, (int)c, bytenr, gen, s->good, why,
			       sizeof(why)) == SCRUB_OK)
			return (int)c;
	return -1;
}

/*
 * Write the good copy (s->good, len bytes) over copy s->copy at logical
 * and read it back into back. 0 when the copy now reads back as the
 * good one, else the error (logged).
 */
static int rewrite(struct scrub *s, u64 logical, u32 len, u8 *back)
{
	u64 phys = scrub_phys(s, s->copy, logical);
	int ret = blk_write(s->fs->dev, phys, s->good, len);

	if (ret == 0)
		ret = blk_flush(s->fs->dev);
	if (ret == 0)
		ret = blk_read(s->fs->dev, phys, back, len);
	if (ret == 0 && memcmp(back, s->good, len))
		ret = -EIO;
	if (ret)
		pr_err("scrub: rewrite of logical %llu on %s physical %llu "
		       "failed: %d", (unsigned long long)logical,
		       s->fs->dev->name, (unsigned long long)phys, ret);
	return ret;
}

/* Count and log the outcome for an error at logical in s->copy: good is
 * whether another copy verified, fixed whether the rewrite worked. */
static void outcome(struct scrub *s, u64 logical, u64 sectors, int good,
		    int fixed)
{
	unsigned long long phys = scrub_phys(s, s->copy, logical);

	if (good && (fixed || s->a->readonly)) {
		scrub_count(&s->p->corrected_errors, sectors);
		pr_info("scrub: fixed up error at logical %llu on dev %s "
			"physical %llu%s", (unsigned long long)logical,
			s->fs->dev->name, phys,
			s->a->readonly ? " (read-only: not rewritten)" : "");
		return;
	}
	scrub_count(&s->p->uncorrectable_errors, sectors);
	pr_err("scrub: unable to fixup (regular) error at logical %llu on "
	       "dev %s physical %llu", (unsigned long long)logical,
	       s->fs->dev->name, phys);
}

/*
 * Scrub the tree block at bytenr (extent item generation gen) in copy
 * s->copy. Returns 0: errors are counted and logged, not returned.
 */
int scrub_tree_block(struct scrub *s, u64 bytenr, u64 gen)
{
	struct fs_info *fs = s->fs;
	u64 sectors = fs->nodesize / fs->sectorsize;
	enum scrub_err e;
	char why[256];
	int good, fixed = 0;

	scrub_count(&s->p->tree_bytes_scrubbed, fs->nodesize);
	e = read_block(s, s->copy, bytenr, gen, s->buf, why, sizeof(why));
	if (e == SCRUB_OK)
		return 0;
	count_err(s, e, sectors);
	pr_warn("scrub: tree block %llu mirror %d has %s",
		(unsigned long long)bytenr, s->copy + 1, why);
	pr_warn("scrub: checksum/header error at logical %llu on dev %s, "
		"physical %llu: metadata (level %u) in tree %llu (as the "
		"bad copy says)",
		(unsigned long long)bytenr, fs->dev->name,
		(unsigned long long)scrub_phys(s, s->copy, bytenr),
		D_GET8(struct d_header, s->buf, level),
		(unsigned long long)D_GET64(struct d_header, s->buf, owner));
	good = good_block_copy(s, bytenr, gen) >= 0;
	if (good && !s->a->readonly)
		fixed = rewrite(s, bytenr, fs->nodesize, s->buf) == 0 &&
			check_block(s, s->buf, bytenr, gen, why,
				    sizeof(why)) == SCRUB_OK;
	outcome(s, bytenr, sectors, good, fixed);
	return 0;
}

/*
 * Fill s->sums and s->present for nsec sectors from start, from the csum
 * tree of the commit read. An item may begin before start: the search
 * begins as far back as one item can reach (a leaf of checksums).
 */
static int lookup_sums(struct scrub *s, u64 start, u32 nsec)
{
	struct fs_info *fs = s->fs;
	u64 span = (u64)(fs->nodesize / fs->csum_size) * fs->sectorsize;
	u64 end = start + (u64)nsec * fs->sectorsize;
	struct key k = { BTRFS_EXTENT_CSUM_OBJECTID, BTRFS_EXTENT_CSUM_KEY,
			 start > span ? start - span : 0 };
	struct commit_cursor c = { 0 };
	int ret;

	memset(s->present, 0, nsec);
	if (!s->csum_tree.bytenr)
		return 0;
	ret = commit_cursor_search(&c, &s->r, &s->csum_tree, &k);
	for (; ret == 0; ret = commit_cursor_next(&c)) {
		const u8 *item;
		u32 size, i;
		u64 n;

		commit_cursor_key(&c, &k);
		if (k.objectid != BTRFS_EXTENT_CSUM_OBJECTID ||
		    k.type != BTRFS_EXTENT_CSUM_KEY || k.offset >= end)
			break;
		item = commit_cursor_item(&c, &size);
		n = size / fs->csum_size;
		for (i = 0; i < nsec; i++) {
			u64 at = start + (u64)i * fs->sectorsize, idx;

			if (at < k.offset)
				continue;
			idx = (at - k.offset) / fs->sectorsize;
			if (idx >= n)
				break;
			memcpy(s->sums + (u64)i * fs->csum_size,
			       item + idx * fs->csum_size, fs->csum_size);
			s->present[i] = 1;
		}
	}
	commit_cursor_release(&c);
	return ret < 0 ? ret : 0;
}

/* Whether sector i of a piece, in buf, matches its checksum (or has
 * none). */
static int sector_ok(struct scrub *s, u32 i, const u8 *buf)
{
	u8 got[BTRFS_CSUM_SIZE];

	if (!s->present[i])
		return 1;
	csum_data(s->fs, buf, s->fs->sectorsize, got);
	return !memcmp(got, s->sums + (u64)i * s->fs->csum_size,
		       s->fs->csum_size);
}

/* What a file-path report needs. */
struct path_report {
	struct scrub *s;
	u64 logical;
	const struct backref_hit *hit;
	int found;
};

static int report_one_path(void *ctx, const char *path)
{
	struct path_report *r = ctx;
	char sv[512] = "";
	int ret = fs_subvol_path(r->s->fs, r->hit->root, sv, sizeof(sv));

	r->found = 1;
	pr_warn("scrub: checksum error at logical %llu on dev %s, physical "
		"%llu, root %llu, inode %llu, offset %llu, length %u "
		"(path: %s%s%s)", (unsigned long long)r->logical,
		r->s->fs->dev->name,
		(unsigned long long)scrub_phys(r->s, r->s->copy, r->logical),
		(unsigned long long)r->hit->root,
		(unsigned long long)r->hit->ino,
		(unsigned long long)r->hit->offset, r->s->fs->sectorsize,
		ret == 0 ? sv : "", ret == 0 && sv[0] ? "/" : "", path);
	return 0;
}

static int report_hit(void *ctx, const struct backref_hit *hit)
{
	struct path_report *r = ctx;
	struct fs_ino ino = { hit->root, hit->ino };
	int ret;

	r->hit = hit;
	ret = fs_inode_paths(r->s->fs, ino, report_one_path, r);
	if (ret)
		pr_warn("scrub: logical %llu is used by root %llu inode %llu "
			"offset %llu (no path: %d)",
			(unsigned long long)r->logical,
			(unsigned long long)hit->root,
			(unsigned long long)hit->ino,
			(unsigned long long)hit->offset, ret);
	return 0;
}

/* Log the files that use the bad data sector at logical. */
static void report_paths(struct scrub *s, u64 logical)
{
	struct path_report r = { s, logical, NULL, 0 };
	int ret = backref_data(s->fs, logical, BACKREF_COMMIT, 0, report_hit,
			       &r, NULL);

	if (ret || !r.found)
		pr_warn("scrub: checksum error at logical %llu on dev %s, "
			"physical %llu: no file found using it (%d)",
			(unsigned long long)logical, s->fs->dev->name,
			(unsigned long long)scrub_phys(s, s->copy, logical),
			ret);
}

/* Another copy whose sector i (at logical) reads and verifies, into
 * s->good; -1 when none does. */
static int good_sector_copy(struct scrub *s, u32 i, u64 logical)
{
	u32 c;

	for (c = 0; c < s->m.num_stripes; c++)
		if ((int)c != s->copy &&
		    read_copy(s, (int)c, logical, s->good,
			      s->fs->sectorsize) == 0 &&
		    sector_ok(s, i, s->good))
			return (int)c;
	return -1;
}

/* Sector i of the piece at start is bad (e): count, report, repair. */
static void bad_sector(struct scrub *s, u64 start, u32 i, enum scrub_err e)
{
	u32 ss = s->fs->sectorsize;
	u64 logical = start + (u64)i * ss;
	int good, fixed = 0;

	count_err(s, e, 1);
	if (e == SCRUB_ECSUM)
		report_paths(s, logical);
	else
		pr_warn("scrub: i/o error at logical %llu on dev %s, physical "
			"%llu", (unsigned long long)logical, s->fs->dev->name,
			(unsigned long long)scrub_phys(s, s->copy, logical));
	good = good_sector_copy(s, i, logical) >= 0;
	/* read back behind the good sector: s->buf still holds the
	 * piece's later sectors */
	if (good && !s->a->readonly)
		fixed = rewrite(s, logical, ss, s->good + ss) == 0 &&
			sector_ok(s, i, s->good + ss);
	outcome(s, logical, 1, good, fixed);
}

/*
 * Scrub len bytes of data from start (sector aligned, at most
 * SCRUB_PIECE, inside the chunk) in copy s->copy. Returns 0 (errors are
 * counted, not returned) or the error of the checksum lookup.
 */
int scrub_data(struct scrub *s, u64 start, u32 len)
{
	u32 ss = s->fs->sectorsize, nsec = len / ss, i, sums = 0;
	int ret = lookup_sums(s, start, nsec), rd;

	if (ret)
		return ret;
	for (i = 0; i < nsec; i++)
		sums += s->present[i];
	scrub_count(&s->p->data_bytes_scrubbed, len);
	scrub_count(&s->p->no_csum, nsec - sums);
	rd = read_copy(s, s->copy, start, s->buf, len);
	for (i = 0; i < nsec; i++) {
		u8 *sec = s->buf + (u64)i * ss;
		enum scrub_err e = SCRUB_OK;

		if (rd && read_copy(s, s->copy, start + (u64)i * ss, sec, ss))
			e = SCRUB_EREAD;
		else if (!sector_ok(s, i, sec))
			e = SCRUB_ECSUM;
		if (e != SCRUB_OK)
			bad_sector(s, start, i, e);
	}
	return 0;
}
