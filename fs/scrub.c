/*
 * Scrub: read every copy of everything the filesystem holds, verify it,
 * and rewrite a bad copy from a good one (fs_scrub, fs.h).
 *
 * Order and unit of work, as Linux's scrub has them: the superblock
 * copies first, then each chunk copy (a device extent: DUP chunks have
 * two on the device) in device order. For one chunk copy, the extent
 * tree says what is allocated in the chunk; every tree block and every
 * data extent there is read from that copy and checked, 64 KiB of data
 * at a time (scrub_verify.c: checks, repair, counts, messages). So each
 * copy is read once, and a repair reads the other copies only for what
 * is bad. last_physical is where the copy being scrubbed has got to;
 * a resumed scrub (fs_scrub_args.start) skips what lies before it.
 *
 * A consistent view beside writers: for each chunk copy the scrub
 * registers as a reader of the last commit (commit_root.c) and walks
 * that commit's extent and csum trees, holding commit_root_sem for read
 * for one search at a time and a private copy of the leaf otherwise; no
 * lock is held across its reads of the device. While it is registered,
 * space later commits free is held from reuse and emptied chunks are
 * kept (relocation.c), so what it reads and rewrites stays the bytes of
 * the commit it walks (the rule for a safe repair: scrub_verify.c). It
 * registers per chunk copy, never for the whole run: space freed meanwhile
 * is reusable after the copy is done and the next commit.
 *
 * Rate limit and cancel: after each tree block or data piece the scrub
 * counts its bytes in its progress (ghee/progress.h; progress_add is the
 * cancellation point) and, with a limit, sleeps until its average rate
 * is back under it (a stop cuts the sleep short).
 */
#include <ghee/errno.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/progress.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "csum_type.h"
#include "fs_info.h"
#include "scrub_int.h"
#include "super.h"

/* One superblock copy: is it a good copy of the last commit's? */
static int super_copy_ok(struct fs_info *fs, const struct d_super_block *sb,
			 u64 off, u64 gen)
{
	u8 got[BTRFS_CSUM_SIZE];

	return get_le64(&sb->magic) == BTRFS_MAGIC &&
	       csum_header_match(fs->csum_type, (const u8 *)sb,
				 BTRFS_SUPER_INFO_SIZE, got) &&
	       get_le64(&sb->bytenr) == off &&
	       !memcmp(sb->fsid, fs->super->fsid, BTRFS_FSID_SIZE) &&
	       get_le64(&sb->generation) == gen;
}

/* Check every superblock copy the device holds (super_errors). They are
 * read with trans_sem held for read, so no commit rewrites them
 * meanwhile. Linux does not repair them either: the next commit
 * writes every copy. */
static int scrub_supers(struct scrub *s)
{
	struct fs_info *fs = s->fs;
	struct d_super_block *sb = kmalloc(sizeof(*sb));
	int i, ret = 0;

	if (!sb)
		return -ENOMEM;
	down_read(&fs->trans_sem);
	for (i = 0; i < BTRFS_SUPER_MIRROR_MAX; i++) {
		u64 off = super_offset(i);

		if (off + BTRFS_SUPER_INFO_SIZE > fs->dev->size)
			break;
		ret = blk_read(fs->dev, off, sb, sizeof(*sb));
		if (ret == 0 && super_copy_ok(fs, sb, off, fs->generation))
			continue;
		scrub_count(&s->p->super_errors, 1);
		pr_err("scrub: super block at physical %llu on dev %s is bad "
		       "(%s)", (unsigned long long)off, fs->dev->name,
		       ret ? "read error" : "checksum, address or generation");
		ret = 0;
	}
	up_read(&fs->trans_sem);
	kfree(sb);
	return ret;
}

/* The root of tree id in the commit s->r reads, into *t (bytenr 0 when
 * that commit has no such tree). */
static int find_tree(struct scrub *s, u64 id, struct commit_tree *t)
{
	const struct d_super_block *sb = s->r.super;
	struct commit_tree root = { BTRFS_ROOT_TREE_OBJECTID,
				    get_le64(&sb->root),
				    get_le64(&sb->generation),
				    sb->root_level };
	struct key k = { id, BTRFS_ROOT_ITEM_KEY, 0 };
	struct commit_cursor c = { 0 };
	int ret = commit_cursor_search(&c, &s->r, &root, &k);

	memset(t, 0, sizeof(*t));
	t->id = id;
	if (ret == 0) {
		const u8 *ri;
		u32 size;

		commit_cursor_key(&c, &k);
		ri = commit_cursor_item(&c, &size);
		if (k.objectid == id && k.type == BTRFS_ROOT_ITEM_KEY &&
		    size >= BTRFS_ROOT_ITEM_V1_SIZE) {
			t->bytenr = D_GET64(struct d_root_item, ri, bytenr);
			t->generation = D_GET64(struct d_root_item, ri,
						generation);
			t->level = D_GET8(struct d_root_item, ri, level);
		}
	}
	commit_cursor_release(&c);
	return ret < 0 ? ret : 0;
}

/* Count n bytes done: progress (the cancellation point), the position,
 * and the rate limit. 0 or -ECANCELED. */
static int account(struct scrub *s, u64 n, u64 logical_end)
{
	u64 limit = __atomic_load_n(&s->a->limit, __ATOMIC_RELAXED);
	int ret = progress_add(n);

	__atomic_store_n(&s->p->last_physical,
			 scrub_phys(s, s->copy, logical_end),
			 __ATOMIC_RELAXED);
	if (ret || !limit)
		return ret;
	s->limit_bytes += n;
	for (;;) {
		u64 due = s->limit_start_ns +
			  s->limit_bytes * 1000000000ull / limit;
		u64 now = time_ns();

		if (now >= due)
			return 0;
		if (task_sleep_ns(due - now))
			return -ECANCELED;
	}
}

/* Count extents the way Linux does: once per 64 KiB stripe of the chunk
 * that [start, end) lies in. */
static u64 stripes_touched(const struct scrub *s, u64 start, u64 end)
{
	return (end - 1 - s->m.logical) / SCRUB_PIECE -
	       (start - s->m.logical) / SCRUB_PIECE + 1;
}

/* Scrub data extent [start, end) of the chunk, from `from` on. */
static int scrub_extent_data(struct scrub *s, u64 start, u64 end, u64 from)
{
	u64 at = start > from ? start : from;
	int ret = 0;

	if (at >= end)
		return 0;
	scrub_count(&s->p->data_extents_scrubbed,
		    stripes_touched(s, at, end));
	while (at < end && ret == 0) {
		/* pieces end on the chunk's 64 KiB stripes, as Linux's */
		u64 stripe_end = s->m.logical +
				 ((at - s->m.logical) / SCRUB_PIECE + 1) *
				 SCRUB_PIECE;
		u64 piece_end = end < stripe_end ? end : stripe_end;
		u32 len = (u32)(piece_end - at);

		ret = scrub_data(s, at, len);
		if (ret == 0)
			ret = account(s, len, piece_end);
		at = piece_end;
	}
	return ret;
}

/* One EXTENT_ITEM or METADATA_ITEM of the commit's extent tree. */
static int scrub_item(struct scrub *s, const struct key *k, const u8 *item,
		      u32 size, u64 from)
{
	struct fs_info *fs = s->fs;
	u64 flags, gen, end;
	int ret;

	if (size < sizeof(struct d_extent_item)) {
		pr_err("scrub: extent item %llu is %u bytes",
		       (unsigned long long)k->objectid, size);
		return -EUCLEAN;
	}
	flags = D_GET64(struct d_extent_item, item, flags);
	gen = D_GET64(struct d_extent_item, item, generation);
	end = k->objectid + (k->type == BTRFS_METADATA_ITEM_KEY ?
			     fs->nodesize : k->offset);
	if (k->objectid < s->m.logical || end > s->m.logical + s->m.length) {
		pr_err("scrub: extent %llu+%llu is not inside its chunk %llu",
		       (unsigned long long)k->objectid,
		       (unsigned long long)(end - k->objectid),
		       (unsigned long long)s->m.logical);
		return -EUCLEAN;
	}
	if (!(flags & BTRFS_EXTENT_FLAG_TREE_BLOCK))
		return scrub_extent_data(s, k->objectid, end, from);
	if (k->objectid < from)
		return 0;
	scrub_count(&s->p->tree_extents_scrubbed, 1);
	ret = scrub_tree_block(s, k->objectid, gen);
	return ret ? ret : account(s, fs->nodesize, end);
}

/* Whether chunk s->m is still mapped as it was when the scrub began.
 * Once a reader is registered it stays so while the reader runs: an
 * emptied chunk is forgotten only with no reader (relocation.c). */
static int chunk_unchanged(struct scrub *s)
{
	const struct chunk_mapping *m;
	int same;
	u32 i;

	spin_lock(&s->fs->chunks.lock);
	m = volumes_lookup(s->fs, s->m.logical, 1);
	same = m && m->logical == s->m.logical &&
	       m->length == s->m.length && m->num_stripes == s->m.num_stripes;
	for (i = 0; same && i < m->num_stripes; i++)
		same = m->physical[i] == s->m.physical[i];
	spin_unlock(&s->fs->chunks.lock);
	return same;
}

/* Scrub copy s->copy of chunk s->m from logical `from` on, reading the
 * last commit. A chunk removed since the scrub began is skipped. */
static int scrub_chunk_copy(struct scrub *s, u64 from)
{
	struct key k = { from, 0, 0 };
	struct commit_cursor c = { 0 };
	u64 end = s->m.logical + s->m.length;
	int ret = commit_reader_begin(s->fs, &s->r);

	if (ret)
		return ret;
	if (!chunk_unchanged(s)) {
		commit_reader_end(&s->r);
		return 0;
	}
	ret = find_tree(s, BTRFS_EXTENT_TREE_OBJECTID, &s->extent_tree);
	if (ret == 0)
		ret = find_tree(s, BTRFS_CSUM_TREE_OBJECTID, &s->csum_tree);
	/* an extent that begins before from may reach past it */
	k.objectid = from > s->m.logical + BTRFS_MAX_EXTENT_SIZE ?
		     from - BTRFS_MAX_EXTENT_SIZE :
		     s->m.logical;
	if (ret == 0 && s->extent_tree.bytenr)
		ret = commit_cursor_search(&c, &s->r, &s->extent_tree, &k);
	else if (ret == 0)
		ret = -EUCLEAN;
	for (; ret == 0; ret = commit_cursor_next(&c)) {
		const u8 *item;
		u32 size;

		commit_cursor_key(&c, &k);
		if (k.objectid >= end)
			break;
		if (k.type != BTRFS_EXTENT_ITEM_KEY &&
		    k.type != BTRFS_METADATA_ITEM_KEY)
			continue;
		item = commit_cursor_item(&c, &size);
		ret = scrub_item(s, &k, item, size, from);
		if (ret)
			break;
	}
	commit_cursor_release(&c);
	commit_reader_end(&s->r);
	return ret < 0 ? ret : 0;
}

/* A chunk copy, for ordering them by device address. */
struct chunk_copy {
	u32 chunk;		/* index in the map's copy */
	int copy;		/* stripe */
	u64 phys;		/* where it starts on the device */
};

static int copy_cmp(const void *a, const void *b)
{
	const struct chunk_copy *x = a, *y = b;

	return x->phys < y->phys ? -1 : x->phys > y->phys;
}

/* Bytes to read in all: used bytes of every group times its copies. */
static u64 total_bytes(struct fs_info *fs)
{
	struct fs_df df;
	u64 total = 0;
	u32 i;

	if (fs_df(fs, &df))
		return 0;
	for (i = 0; i < df.nspace; i++)
		total += df.space[i].used *
			 (df.space[i].type & BTRFS_BLOCK_GROUP_DUP ? 2 : 1);
	return total;
}

/* Scrub every chunk copy, in device order, from s->a->start on. */
static int scrub_chunks(struct scrub *s)
{
	struct chunk_mapping *map;
	struct chunk_copy *v;
	u32 n, nv = 0, i;
	int ret = volumes_copy_all(s->fs, &map, &n);

	if (ret)
		return ret;
	v = kmalloc(n * CHUNK_MAX_STRIPES * sizeof(*v) + 1);
	if (!v) {
		kfree(map);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		u32 c;

		for (c = 0; c < map[i].num_stripes; c++)
			v[nv++] = (struct chunk_copy){ i, (int)c,
						       map[i].physical[c] };
	}
	qsort(v, nv, sizeof(*v), copy_cmp);
	for (i = 0; i < nv && ret == 0; i++) {
		const struct chunk_mapping *m = &map[v[i].chunk];
		u64 from = m->logical;

		if (v[i].phys + m->length <= s->a->start)
			continue;
		if (v[i].phys < s->a->start)
			from += s->a->start - v[i].phys;
		s->m = *m;
		s->copy = v[i].copy;
		ret = scrub_chunk_copy(s, from);
		if (ret == 0)
			__atomic_store_n(&s->p->last_physical,
					 v[i].phys + m->length,
					 __ATOMIC_RELAXED);
	}
	kfree(v);
	kfree(map);
	return ret;
}

/* See fs.h. */
int fs_scrub(struct fs_info *fs, const struct fs_scrub_args *a,
	     struct fs_scrub_progress *p)
{
	struct scrub s = { .fs = fs, .a = a, .p = p };
	u32 sectors = SCRUB_PIECE / fs->sectorsize;
	int ret = -ENOMEM;

	s.buf = kmalloc(SCRUB_PIECE);
	s.good = kmalloc(SCRUB_PIECE);
	s.sums = kmalloc((u64)sectors * fs->csum_size);
	s.present = kmalloc(sectors);
	if (s.buf && s.good && s.sums && s.present) {
		progress_phase("scrubbing", total_bytes(fs), "bytes");
		s.limit_start_ns = time_ns();
		ret = a->start ? 0 : scrub_supers(&s);
		if (ret == 0)
			ret = scrub_chunks(&s);
	}
	kfree(s.buf);
	kfree(s.good);
	kfree(s.sums);
	kfree(s.present);
	return ret;
}
