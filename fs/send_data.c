/*
 * A regular file's data in the stream, extent by extent (its EXTENT_DATA
 * items in offset order, clipped to its size):
 *  - an extent the receiver has already (send_clone.c): CLONE;
 *  - data (inline or regular extents): WRITE commands of at most 48 KiB
 *    in version 1 (Linux's read size) and up to 128 KiB in version 2, the
 *    bytes read through fs_read (checksums verified, as a reader of the
 *    read-only subvolume) up to 1 MiB at a time, the next
 *    SEND_READ_AHEAD such buffers read by tasks of their own while one
 *    is sent (fs_read waits for its disk reads: alone, the disk would
 *    idle while send works); with --no-data one UPDATE_EXTENT per
 *    extent;
 *  - compressed extents under --compressed-data (version 2): one
 *    ENCODED_WRITE of the stored bytes (fs_read_encoded), when they are
 *    fewer than the range sent, as Linux decides; else WRITE;
 *  - holes: nothing (the receiver's file is sparse there);
 *  - preallocated ranges: version 2 sends FALLOCATE (KEEP_SIZE for the
 *    part past the file's size); version 1 has no such command and leaves
 *    a hole, as Linux does;
 *  - at the end, TRUNCATE when what was sent stops short of the size.
 * An incremental send (send_data_diff) sends only the extent items that
 * differ from the parent's, and makes holes where the parent had data
 * and the sent subvolume has none: FALLOCATE PUNCH_HOLE in version 2,
 * zeros written in version 1.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>
#include <ghee/task.h>

#include "fs.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"
#include "write_common.h"

#define WRITE_V1 (48 * 1024)	/* Linux's BTRFS_SEND_READ_SIZE */
#define WRITE_V2 (128 * 1024)

static u64 min_u64(u64 a, u64 b)
{
	return a < b ? a : b;
}

/* Read [off, off + len) of the current inode into buf (or zeros), the
 * CRCs of the sectors it verified into crcs. */
static int read_data(struct send_ctx *c, u64 off, u8 *buf,
		     struct fs_read_crcs *crcs, u32 len, int zeros)
{
	struct fs_ino ino = { c->sv->root.objectid, c->in.ino };
	size_t done = len;
	int ret = 0;

	if (zeros) {
		memset(buf, 0, len);
		memset(crcs->have, 0, crcs->n);
	} else {
		ret = fs_read_crcs(c->fs, ino, off, buf, len, &done, crcs);
	}
	if (ret == 0 && done != len) {
		pr_err("send: inode %llu: short read at %llu",
		       (unsigned long long)c->in.ino, (unsigned long long)off);
		ret = -EIO;
	}
	return ret;
}

/*
 * The reads of the next buffers of data, each by a task of its own,
 * while the current one is sent. A read waits for the disk, then verifies
 * the checksums of what came; with one read ahead the disk idled while it
 * verified (the read-ahead task was the one send waited for, alone and
 * more so beside a balance reading the same disk), so SEND_READ_AHEAD
 * reads run at once, each into its own c->ahead buffer. A read only reads
 * c (the inode and subvolume) and fills its buffer; send_writes joins it
 * before using either.
 */
struct read_ahead {
	struct send_ctx *c;
	struct task *task;	/* NULL when none runs */
	u64 off;
	u32 len;
	int slot;		/* reads into c->ahead[slot] */
};

/* Reads ahead in file order, a ring over c->ahead's slots. */
struct read_queue {
	struct read_ahead r[SEND_READ_AHEAD];
	u32 head, n;		/* the oldest read's slot, reads queued */
	u64 next;		/* where the next read ahead starts */
};

static int read_ahead_run(void *arg)
{
	struct read_ahead *ra = arg;
	struct send_ctx *c = ra->c;

	return read_data(c, ra->off, c->ahead[ra->slot],
			 &c->ahead_crcs[ra->slot], ra->len, 0);
}

/* Start reading [q->next, + len) ahead. 0, or -ENOMEM when no task can
 * be made (the read is then done in turn). */
static int read_ahead_start(struct send_ctx *c, struct read_queue *q,
			    u32 len)
{
	u32 slot = (q->head + q->n) % SEND_READ_AHEAD;
	struct read_ahead *ra = &q->r[slot];

	*ra = (struct read_ahead){ c, NULL, q->next, len, (int)slot };
	ra->task = task_create("send-read", read_ahead_run, ra,
			       task_prio(task_current()));
	if (!ra->task)
		return -ENOMEM;
	q->n++;
	q->next += len;
	task_yield();	/* let it start its disk read */
	return 0;
}

/* Wait for the oldest read ahead; its result. */
static int read_ahead_pop(struct read_queue *q)
{
	int ret = task_join(q->r[q->head].task);

	q->r[q->head].task = NULL;
	q->head = (q->head + 1) % SEND_READ_AHEAD;
	q->n--;
	return ret;
}

/* Wait for every read ahead; the first error. */
static int read_ahead_end(struct read_queue *q)
{
	int ret = 0, r;

	while (q->n) {
		r = read_ahead_pop(q);
		if (ret == 0)
			ret = r;
	}
	return ret;
}

/*
 * Make c->data hold the data of [off, off + len) of the current inode:
 * the oldest read ahead's buffer when it read just that, else read now;
 * then keep SEND_READ_AHEAD reads of what follows, up to end, going.
 */
static int fill_data(struct send_ctx *c, struct read_queue *q, u64 off,
		     u32 len, u64 end, int zeros)
{
	struct read_ahead *h = &q->r[q->head];
	int ret;

	if (q->n && h->off == off && h->len == len) {
		u8 *t = c->data;
		struct fs_read_crcs tc = c->data_crcs;
		int slot = h->slot;

		ret = read_ahead_pop(q);
		c->data = c->ahead[slot];
		c->ahead[slot] = t;
		c->data_crcs = c->ahead_crcs[slot];
		c->ahead_crcs[slot] = tc;
	} else {
		read_ahead_end(q);	/* other ranges' reads: not these */
		ret = read_data(c, off, c->data, &c->data_crcs, len, zeros);
		q->next = off + len;
	}
	while (ret == 0 && !zeros && q->n < SEND_READ_AHEAD &&
	       q->next < end &&
	       read_ahead_start(c, q, (u32)min_u64(end - q->next, len)) == 0)
		;
	return ret;
}

/*
 * WRITE [off, end) of the current inode, read through fs_read (or
 * zeros) a buffer at a time, so that a WRITE's worth is not a disk read
 * of its own; the next buffers are read ahead while one is sent. A buffer
 * holds a whole number of WRITEs, so none straddles two.
 */
static int send_writes(struct send_ctx *c, u64 off, u64 end, int zeros)
{
	u32 most = c->out.proto >= SEND_VERSION_2 ? WRITE_V2 : WRITE_V1;
	u64 buf_off = off, buf_end = off;
	struct read_queue q = { .n = 0 };
	int ret = 0, ret2;

	while (off < end && ret == 0) {
		u32 step, len;

		send_begin(&c->out, SEND_C_WRITE);
		ret = send_put_str(&c->out, SEND_A_PATH, c->in.path);
		if (ret == 0)
			ret = send_put_u64(&c->out, SEND_A_FILE_OFFSET, off);
		if (ret)
			break;
		step = (u32)min_u64(send_stream_data_room(&c->out), most);
		len = (u32)min_u64(end - off, step);
		if (off + len > buf_end) {
			buf_off = off;
			buf_end = off + min_u64(end - off, SEND_DATA_BUF -
						SEND_DATA_BUF % step);
			ret = fill_data(c, &q, off, (u32)(buf_end - off),
					end, zeros);
		}
		if (ret == 0 && (off - buf_off) % 4096 == 0)
			ret = send_put_data_crcs(&c->out,
				c->data + (off - buf_off), len,
				c->data_crcs.crc + (off - buf_off) / 4096,
				c->data_crcs.have + (off - buf_off) / 4096);
		else if (ret == 0)
			ret = send_put_data(&c->out, c->data + (off - buf_off),
					    len);
		if (ret == 0)
			ret = send_end(&c->out);
		off += len;
	}
	ret2 = read_ahead_end(&q);	/* c->ahead is in use till then */
	return ret ? ret : ret2;
}

/* A command of a path, an offset and a size (UPDATE_EXTENT,
 * FALLOCATE with mode). */
static int send_range(struct send_ctx *c, enum send_cmd cmd, u32 mode,
		      u64 off, u64 len)
{
	struct send_stream *s = &c->out;
	u8 m[4];
	int ret;

	send_begin(s, cmd);
	ret = send_put_str(s, SEND_A_PATH, c->in.path);
	if (ret == 0 && cmd == SEND_C_FALLOCATE) {
		put_le32(m, mode);
		ret = send_put(s, SEND_A_FALLOCATE_MODE, m, sizeof(m));
	}
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_FILE_OFFSET, off);
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_SIZE, len);
	return ret ? ret : send_end(s);
}

/* A preallocated range [off, end) of the current inode. */
static int send_prealloc(struct send_ctx *c, u64 off, u64 end)
{
	u64 size = c->in.size, in_size = min_u64(end, size);
	int ret = 0;

	if (c->out.proto < SEND_VERSION_2)
		return 0;
	if (off < in_size) {
		ret = send_range(c, SEND_C_FALLOCATE, 0, off, in_size - off);
		if (c->in.next_write < in_size)
			c->in.next_write = in_size;
	}
	if (ret == 0 && end > size)
		ret = send_range(c, SEND_C_FALLOCATE, SEND_FALLOC_KEEP_SIZE,
				 off > size ? off : size,
				 end - (off > size ? off : size));
	return ret;
}

/* ENCODED_WRITE's COMPRESSION value of compression type comp. */
static u32 encoded_compression(const struct fs_info *fs, u8 comp)
{
	u32 bits = 0;

	if (comp == BTRFS_COMPRESS_ZLIB)
		return SEND_ENC_ZLIB;
	if (comp == BTRFS_COMPRESS_ZSTD)
		return SEND_ENC_ZSTD;
	while ((4096u << bits) < fs->sectorsize)
		bits++;
	return SEND_ENC_LZO_4K + bits;
}

/*
 * Send [off, end) of the current inode, which extent item k (fe, size
 * bytes) holds, as its stored bytes (ENCODED_WRITE), as Linux does under
 * --compressed-data: when the extent is compressed and its stored bytes
 * are fewer than the range's. 1 when sent, 0 when the range is to go as
 * WRITE, <0.
 */
static int send_encoded(struct send_ctx *c, const struct key *k,
			const u8 *fe, u32 size, u64 off, u64 end)
{
	struct fs_ino ino = { c->sv->root.objectid, c->in.ino };
	int inl = FE8(fe, type) == BTRFS_FILE_EXTENT_INLINE;
	u64 stored = inl ? size - BTRFS_FILE_EXTENT_INLINE_DATA_START :
		     FE64(fe, disk_num_bytes);
	u64 ext_end = k->offset + (inl ? FE64(fe, ram_bytes) :
				   FE64(fe, num_bytes));
	u8 v[4];
	size_t got;
	int ret;

	if (!(c->flags & FS_SEND_COMPRESSED) || !FE8(fe, compression) ||
	    FE8(fe, encryption) ||
	    D_GET16(struct d_file_extent_item, fe, other_encoding) ||
	    stored > end - off || stored > SEND_DATA_BUF)
		return 0;
	send_begin(&c->out, SEND_C_ENCODED_WRITE);
	ret = send_put_str(&c->out, SEND_A_PATH, c->in.path);
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_FILE_OFFSET, off);
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_UNENCODED_FILE_LEN,
				   min_u64(ext_end, end) - off);
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_UNENCODED_LEN,
				   FE64(fe, ram_bytes));
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_UNENCODED_OFFSET,
				   off - k->offset +
				   (inl ? 0 : FE64(fe, offset)));
	put_le32(v, encoded_compression(c->fs, FE8(fe, compression)));
	if (ret == 0)
		ret = send_put(&c->out, SEND_A_COMPRESSION, v, sizeof(v));
	put_le32(v, 0);
	if (ret == 0 && !inl)	/* Linux leaves it out of inline ones */
		ret = send_put(&c->out, SEND_A_ENCRYPTION, v, sizeof(v));
	if (ret)
		return ret;
	if (stored > send_stream_data_room(&c->out))
		return 0;
	ret = fs_read_encoded(c->fs, ino, k->offset, c->data, SEND_DATA_BUF,
			      &got);
	if (ret == 0 && got != stored)
		ret = -EUCLEAN;
	if (ret == 0)
		ret = send_put_data(&c->out, c->data, (u32)got);
	if (ret == 0)
		ret = send_end(&c->out);
	return ret ? ret : 1;
}

/* Send one EXTENT_DATA item k (fe, size bytes) of the current inode. */
int send_extent(struct send_ctx *c, const struct key *k, const u8 *fe,
		u32 size)
{
	u64 off = k->offset, end;
	u8 type;
	int ret;

	if (!SEND_IS(c->in.mode, S_IFREG_))
		return 0;
	if (size < BTRFS_FILE_EXTENT_INLINE_DATA_START)
		return -EUCLEAN;
	type = D_GET8(struct d_file_extent_item, fe, type);
	if (type == BTRFS_FILE_EXTENT_INLINE) {
		end = off + D_GET64(struct d_file_extent_item, fe, ram_bytes);
	} else {
		if (size < sizeof(struct d_file_extent_item))
			return -EUCLEAN;
		end = off + D_GET64(struct d_file_extent_item, fe, num_bytes);
		if (type == BTRFS_FILE_EXTENT_PREALLOC)
			return send_prealloc(c, off, end);
		if (!D_GET64(struct d_file_extent_item, fe, disk_bytenr))
			return 0;	/* a hole */
	}
	end = min_u64(end, c->in.size);
	if (off >= end)
		return 0;
	if (c->flags & FS_SEND_NO_DATA) {
		ret = send_range(c, SEND_C_UPDATE_EXTENT, 0, off, end - off);
	} else {
		int64_t cloned = type == BTRFS_FILE_EXTENT_REG ?
			     send_try_clone(c, off, end, fe) : 0;

		ret = cloned < 0 ? (int)cloned : 0;
		if (ret == 0 && off + (u64)cloned < end)
			ret = send_encoded(c, k, fe, size, off + (u64)cloned,
					   end);
		if (ret == 0 && off + (u64)cloned < end)
			ret = send_writes(c, off + (u64)cloned, end, 0);
		ret = ret == 1 ? 0 : ret;
	}
	if (ret == 0 && c->in.next_write < end)
		c->in.next_write = end;
	if (c->in.recv_size < c->in.next_write)
		c->in.recv_size = c->in.next_write;
	return ret;
}

/* TRUNCATE the current inode to size. */
int send_truncate(struct send_ctx *c, u64 size)
{
	struct send_stream *s = &c->out;
	int ret;

	send_begin(s, SEND_C_TRUNCATE);
	ret = send_put_str(s, SEND_A_PATH, c->in.path);
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_SIZE, size);
	return ret ? ret : send_end(s);
}

/* The file range [*start, *end) item fe (size bytes) covers with data or
 * preallocation; 0 for a hole. */
static int extent_range(u64 off, const u8 *fe, u32 size, u64 *end)
{
	if (size < BTRFS_FILE_EXTENT_INLINE_DATA_START)
		return 0;
	if (D_GET8(struct d_file_extent_item, fe, type) ==
	    BTRFS_FILE_EXTENT_INLINE) {
		*end = off + D_GET64(struct d_file_extent_item, fe, ram_bytes);
		return 1;
	}
	if (size < sizeof(struct d_file_extent_item) ||
	    !D_GET64(struct d_file_extent_item, fe, disk_bytenr))
		return 0;
	*end = off + D_GET64(struct d_file_extent_item, fe, num_bytes);
	return 1;
}

/* The EXTENT_DATA items of one version of the inode. */
struct extent_list {
	struct { u64 off; u32 size, at; } *v;
	u32 n, cap;
	u8 *bytes;		/* the items, one after another */
	u32 len, bytes_cap;
};

static int extents_add(struct extent_list *l, u64 off, const u8 *p,
		       u32 size)
{
	if (l->n == l->cap) {
		u32 cap = l->cap * 2 + 16;
		void *v = kmalloc(cap * sizeof(*l->v));

		if (!v)
			return -ENOMEM;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof(*l->v));
		kfree(l->v);
		l->v = v;
		l->cap = cap;
	}
	if (l->len + size > l->bytes_cap) {
		u32 cap = (l->len + size) * 2;
		u8 *b = kmalloc(cap);

		if (!b)
			return -ENOMEM;
		if (l->len)
			memcpy(b, l->bytes, l->len);
		kfree(l->bytes);
		l->bytes = b;
		l->bytes_cap = cap;
	}
	l->v[l->n].off = off;
	l->v[l->n].size = size;
	l->v[l->n].at = l->len;
	memcpy(l->bytes + l->len, p, size);
	l->len += size;
	l->n++;
	return 0;
}

static void list_free(struct extent_list *l)
{
	kfree(l->v);
	kfree(l->bytes);
}

/* The inode's EXTENT_DATA items in tree root. */
static int extents_of(struct send_ctx *c, const struct ctree_root *root,
		      struct extent_list *l)
{
	struct key k = { c->in.ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct send_cursor cur = { 0 };
	int ret = send_search_in(c, root, &k, &cur);

	while (ret == 0) {
		tb_item_key(cur.leaf, cur.slot, &k);
		if (k.objectid != c->in.ino || k.type != BTRFS_EXTENT_DATA_KEY)
			break;
		ret = extents_add(l, k.offset, tb_item_data(cur.leaf, cur.slot),
			       tb_item_size(cur.leaf, cur.slot));
		if (ret == 0)
			ret = send_next(c, root, &cur);
	}
	send_cursor_release(&cur);
	return ret < 0 ? ret : 0;
}

/* Make [off, end) a hole: the parent had data there. */
static int punch(struct send_ctx *c, u64 off, u64 end)
{
	if (c->out.proto >= SEND_VERSION_2)
		return send_range(c, SEND_C_FALLOCATE, SEND_FALLOC_PUNCH_HOLE |
				  SEND_FALLOC_KEEP_SIZE, off, end - off);
	return send_writes(c, off, end, 1);
}

/* Punch what of [a, b) the new items n do not cover. */
static int punch_uncovered(struct send_ctx *c, const struct extent_list *n,
			   u64 a, u64 b)
{
	u32 i;

	for (i = 0; i < n->n && a < b; i++) {
		u64 s = n->v[i].off, e;

		if (!extent_range(s, n->bytes + n->v[i].at, n->v[i].size, &e) ||
		    e <= a)
			continue;
		if (s >= b)
			break;
		if (s > a) {
			int ret = punch(c, a, s);

			if (ret)
				return ret;
		}
		a = e;
	}
	return a < b ? punch(c, a, b) : 0;
}


/*
 * Whether new item p (size bytes) at file offset off says what the parent
 * already has: the same bytes at the same offset, or a regular extent
 * whose range one parent item covers with the same disk extent at the
 * same place (a write elsewhere in the extent split the parent's item).
 */
static int unchanged(const struct extent_list *o, u64 off, const u8 *p,
		     u32 size)
{
	u32 i;

	for (i = 0; i < o->n && o->v[i].off <= off; i++) {
		const u8 *q = o->bytes + o->v[i].at;

		if (o->v[i].off == off && o->v[i].size == size &&
		    !memcmp(q, p, size))
			return 1;
		if (size < sizeof(struct d_file_extent_item) ||
		    o->v[i].size < sizeof(struct d_file_extent_item) ||
		    FE8(p, type) != BTRFS_FILE_EXTENT_REG ||
		    FE8(q, type) != BTRFS_FILE_EXTENT_REG ||
		    !FE64(p, disk_bytenr) ||
		    FE64(p, disk_bytenr) != FE64(q, disk_bytenr) ||
		    FE8(p, compression) != FE8(q, compression))
			continue;
		if (o->v[i].off - FE64(q, offset) == off - FE64(p, offset) &&
		    o->v[i].off + FE64(q, num_bytes) >=
		    off + FE64(p, num_bytes))
			return 1;
	}
	return 0;
}

/*
 * Send how the current inode's data changed since the parent: the items
 * that differ, and holes where the parent had data.
 */
int send_data_diff(struct send_ctx *c)
{
	struct extent_list o = { 0 }, n = { 0 };
	u8 old_ii[sizeof(struct d_inode_item)];
	u64 limit;
	u32 i;
	int ret = send_read_inode_in(c, &c->parent->root, c->in.ino, old_ii);

	if (ret == 0) {
		c->in.recv_size = D_GET64(struct d_inode_item, old_ii, size);
		ret = extents_of(c, &c->parent->root, &o);
	}
	if (ret == 0)
		ret = extents_of(c, &c->sv->root, &n);
	for (i = 0; i < n.n && ret == 0; i++) {
		struct key k = { c->in.ino, BTRFS_EXTENT_DATA_KEY, n.v[i].off };
		const u8 *p = n.bytes + n.v[i].at;

		if (!unchanged(&o, k.offset, p, n.v[i].size))
			ret = send_extent(c, &k, p, n.v[i].size);
	}
	limit = min_u64(D_GET64(struct d_inode_item, old_ii, size),
			c->in.size);
	for (i = 0; i < o.n && ret == 0; i++) {
		u64 s = o.v[i].off, e;

		if (s < limit && extent_range(s, o.bytes + o.v[i].at,
					      o.v[i].size, &e))
			ret = punch_uncovered(c, &n, s, min_u64(e, limit));
	}
	list_free(&o);
	list_free(&n);
	return ret;
}
