/*
 * A regular file's data in the stream, extent by extent (its EXTENT_DATA
 * items in offset order, clipped to its size):
 *  - data (inline or regular extents): WRITE commands of at most 48 KiB
 *    in version 1 (Linux's read size) and up to 128 KiB in version 2, the
 *    bytes read through fs_read (checksums verified, as a reader of the
 *    read-only subvolume); with --no-data one UPDATE_EXTENT per extent;
 *  - holes: nothing (the receiver's file is sparse there);
 *  - preallocated ranges: version 2 sends FALLOCATE (KEEP_SIZE for the
 *    part past the file's size); version 1 has no such command and leaves
 *    a hole, as Linux does;
 *  - at the end, TRUNCATE when what was sent stops short of the size.
 */
#include <ghee/errno.h>

#include <ghee/log.h>

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

/* WRITE [off, end) of the current inode, read through fs_read. */
static int send_writes(struct send_ctx *c, u64 off, u64 end)
{
	struct fs_ino ino = { c->sv->root.objectid, c->in.ino };
	u32 most = c->out.proto >= SEND_VERSION_2 ? WRITE_V2 : WRITE_V1;

	while (off < end) {
		u32 room, len;
		size_t done = 0;
		int ret;

		send_begin(&c->out, SEND_C_WRITE);
		ret = send_put_str(&c->out, SEND_A_PATH, c->in.path);
		if (ret == 0)
			ret = send_put_u64(&c->out, SEND_A_FILE_OFFSET, off);
		if (ret)
			return ret;
		room = send_stream_data_room(&c->out);
		len = (u32)min_u64(end - off, min_u64(room, most));
		ret = fs_read(c->fs, ino, off, c->data, len, &done);
		if (ret == 0 && done != len) {
			pr_err("send: inode %llu: short read at %llu",
			       (unsigned long long)c->in.ino,
			       (unsigned long long)off);
			ret = -EIO;
		}
		if (ret == 0)
			ret = send_put_data(&c->out, c->data, len);
		if (ret == 0)
			ret = send_end(&c->out);
		if (ret)
			return ret;
		off += len;
	}
	return 0;
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
	if (c->flags & FS_SEND_NO_DATA)
		ret = send_range(c, SEND_C_UPDATE_EXTENT, 0, off, end - off);
	else
		ret = send_writes(c, off, end);
	if (ret == 0 && c->in.next_write < end)
		c->in.next_write = end;
	return ret;
}

/* TRUNCATE the current inode to its size unless the data reached it. */
int send_truncate_if_needed(struct send_ctx *c)
{
	struct send_stream *s = &c->out;
	int ret;

	if (c->in.next_write == c->in.size)
		return 0;
	send_begin(s, SEND_C_TRUNCATE);
	ret = send_put_str(s, SEND_A_PATH, c->in.path);
	if (ret == 0)
		ret = send_put_u64(s, SEND_A_SIZE, c->in.size);
	return ret ? ret : send_end(s);
}
