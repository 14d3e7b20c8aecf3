/*
 * Reading a send stream (format in send_format.h) one command at a time,
 * for receive and receive --dump.
 *
 * receive_stream_begin reads a stream header (a source may hold several
 * streams one after another, as `btrfs send A B` writes them);
 * receive_stream_next reads the next command whole into one buffer,
 * checks its crc32c, splits its TLVs into cur.attr by type, and checks
 * that the command has every attribute it needs, each of its type's size.
 * So a caller gets only well-formed commands and reads their values with
 * the receive_attr_* helpers without further checks.
 *
 * Every error says what was wrong and at which byte of the source
 * (counting from the first stream's first byte) the damaged part starts,
 * in rs->err, and returns -EBADMSG (damaged or unknown content), -EIO (the
 * source ends inside a command or header) or the source's own error.
 *
 * A command is bounded by its version's buffer size (Linux's send never
 * writes more), so hostile lengths cannot make the reader allocate much.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "../lib/crc32c.h"
#include "format.h"
#include "receive_stream.h"

/* A required attribute set: bit n is SEND_A_n. */
#define A(x) (1ull << SEND_A_##x)

/* Name and required attributes of each command. */
static const struct {
	const char *name;
	uint64_t need;
} cmd_info[SEND_C_MAX_V2 + 1] = {
	[SEND_C_SUBVOL] = { "subvol", A(PATH) | A(UUID) | A(CTRANSID) },
	[SEND_C_SNAPSHOT] = { "snapshot", A(PATH) | A(UUID) | A(CTRANSID) |
			      A(CLONE_UUID) | A(CLONE_CTRANSID) },
	[SEND_C_MKFILE] = { "mkfile", A(PATH) | A(INO) },
	[SEND_C_MKDIR] = { "mkdir", A(PATH) | A(INO) },
	[SEND_C_MKNOD] = { "mknod", A(PATH) | A(INO) | A(MODE) | A(RDEV) },
	[SEND_C_MKFIFO] = { "mkfifo", A(PATH) | A(INO) },
	[SEND_C_MKSOCK] = { "mksock", A(PATH) | A(INO) },
	[SEND_C_SYMLINK] = { "symlink", A(PATH) | A(INO) | A(PATH_LINK) },
	[SEND_C_RENAME] = { "rename", A(PATH) | A(PATH_TO) },
	[SEND_C_LINK] = { "link", A(PATH) | A(PATH_LINK) },
	[SEND_C_UNLINK] = { "unlink", A(PATH) },
	[SEND_C_RMDIR] = { "rmdir", A(PATH) },
	[SEND_C_SET_XATTR] = { "set_xattr", A(PATH) | A(XATTR_NAME) |
			       A(XATTR_DATA) },
	[SEND_C_REMOVE_XATTR] = { "remove_xattr", A(PATH) | A(XATTR_NAME) },
	[SEND_C_WRITE] = { "write", A(PATH) | A(FILE_OFFSET) | A(DATA) },
	[SEND_C_CLONE] = { "clone", A(PATH) | A(FILE_OFFSET) | A(CLONE_LEN) |
			   A(CLONE_UUID) | A(CLONE_CTRANSID) |
			   A(CLONE_PATH) | A(CLONE_OFFSET) },
	[SEND_C_TRUNCATE] = { "truncate", A(PATH) | A(SIZE) },
	[SEND_C_CHMOD] = { "chmod", A(PATH) | A(MODE) },
	[SEND_C_CHOWN] = { "chown", A(PATH) | A(UID) | A(GID) },
	[SEND_C_UTIMES] = { "utimes", A(PATH) | A(ATIME) | A(MTIME) |
			    A(CTIME) },
	[SEND_C_END] = { "end", 0 },
	[SEND_C_UPDATE_EXTENT] = { "update_extent", A(PATH) |
				   A(FILE_OFFSET) | A(SIZE) },
	[SEND_C_FALLOCATE] = { "fallocate", A(PATH) | A(FALLOCATE_MODE) |
			       A(FILE_OFFSET) | A(SIZE) },
	[SEND_C_FILEATTR] = { "fileattr", A(PATH) | A(FILEATTR) },
	[SEND_C_ENCODED_WRITE] = { "encoded_write", A(PATH) |
				   A(FILE_OFFSET) | A(UNENCODED_FILE_LEN) |
				   A(UNENCODED_LEN) | A(UNENCODED_OFFSET) |
				   A(DATA) },
};

/* Size of each fixed-size attribute type; 0: any length. */
static const uint8_t attr_size[SEND_A_MAX_V2 + 1] = {
	[SEND_A_UUID] = 16, [SEND_A_CLONE_UUID] = 16,
	[SEND_A_CTRANSID] = 8, [SEND_A_INO] = 8, [SEND_A_SIZE] = 8,
	[SEND_A_MODE] = 8, [SEND_A_UID] = 8, [SEND_A_GID] = 8,
	[SEND_A_RDEV] = 8, [SEND_A_FILE_OFFSET] = 8,
	[SEND_A_CLONE_CTRANSID] = 8, [SEND_A_CLONE_OFFSET] = 8,
	[SEND_A_CLONE_LEN] = 8, [SEND_A_FILEATTR] = 8,
	[SEND_A_UNENCODED_FILE_LEN] = 8, [SEND_A_UNENCODED_LEN] = 8,
	[SEND_A_UNENCODED_OFFSET] = 8,
	[SEND_A_CTIME] = 12, [SEND_A_MTIME] = 12, [SEND_A_ATIME] = 12,
	[SEND_A_OTIME] = 12,
	[SEND_A_FALLOCATE_MODE] = 4, [SEND_A_COMPRESSION] = 4,
	[SEND_A_ENCRYPTION] = 4,
};

/* The command's name as btrfs receive --dump prints it, or NULL. */
const char *receive_cmd_name(unsigned cmd)
{
	return cmd <= SEND_C_MAX_V2 ? cmd_info[cmd].name : NULL;
}

void receive_stream_init(struct receive_stream *rs, receive_read_fn read,
			 void *ctx)
{
	memset(rs, 0, sizeof(*rs));
	rs->read = read;
	rs->ctx = ctx;
}

void receive_stream_free(struct receive_stream *rs)
{
	kfree(rs->buf);
	rs->buf = NULL;
	rs->cap = 0;
}

/*
 * Record an error about the byte at offset: "at byte OFFSET of the
 * stream: MESSAGE" in rs->err. Returns ret, for `return
 * receive_stream_error(...)`.
 */
int receive_stream_error(struct receive_stream *rs, uint64_t offset, int ret,
			 const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(rs->err, sizeof(rs->err), "at byte %llu of the stream: ",
		     (unsigned long long)offset);
	va_start(ap, fmt);
	if (n > 0 && (size_t)n < sizeof(rs->err))
		vsnprintf(rs->err + n, sizeof(rs->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * Read exactly len bytes, part of what starts at byte at. 0 when read,
 * 1 when the source ended before the first byte, -EIO (with rs->err
 * naming what and at) when it ended after some, or the source's error.
 */
static int read_full(struct receive_stream *rs, uint8_t *buf, size_t len,
		     uint64_t at, const char *what)
{
	size_t got = 0;
	long n;

	while (got < len) {
		n = rs->read(rs->ctx, buf + got, len - got);
		if (n < 0)
			return receive_stream_error(rs, rs->pos + got, (int)n,
						    "read failed (%d)",
						    (int)n);
		if (n == 0)
			break;
		got += (size_t)n;
	}
	if (got == len || got == 0) {
		rs->pos += got;
		return got == len ? 0 : 1;
	}
	return receive_stream_error(rs, at, -EIO,
				    "truncated: %s of %zu bytes has %zu",
				    what, len, got);
}

/*
 * Read a stream header. 0 when one was read (rs->version set), 1 when
 * the source ended right here (no further stream), or a negative errno:
 * a truncated header, a bad magic, a version ghee does not read.
 */
int receive_stream_begin(struct receive_stream *rs)
{
	uint8_t hdr[SEND_STREAM_HEADER_LEN];
	uint64_t at = rs->pos;
	int ret;

	ret = read_full(rs, hdr, sizeof(hdr), at, "stream header");
	if (ret)
		return ret;
	if (memcmp(hdr, SEND_MAGIC, SEND_MAGIC_LEN))
		return receive_stream_error(rs, at, -EBADMSG,
					    "bad magic: not a send stream");
	rs->version = get_le32(hdr + SEND_MAGIC_LEN);
	if (rs->version > SEND_VERSION_2)
		return receive_stream_error(rs, at + SEND_MAGIC_LEN, -EBADMSG,
					    "stream version %u not supported",
					    rs->version);
	return 0;
}

/* Split the payload of the command in rs->buf into its attributes. */
static int parse_tlvs(struct receive_stream *rs, uint32_t len)
{
	struct receive_cmd *c = &rs->cur;
	const uint8_t *p = rs->buf + SEND_CMD_HEADER_LEN;
	uint64_t base = c->offset + SEND_CMD_HEADER_LEN;
	uint32_t pos = 0, vlen;
	uint16_t type;

	while (pos < len) {
		if (len - pos < 2)
			return receive_stream_error(rs, base + pos, -EBADMSG,
						    "truncated attribute");
		type = get_le16(p + pos);
		if (type == 0 || type > SEND_A_MAX_V2)
			return receive_stream_error(rs, base + pos, -EBADMSG,
						    "unknown attribute %u",
						    type);
		if (rs->version >= 2 && type == SEND_A_DATA) {
			/* v2: DATA has no length; it runs to the end */
			pos += 2;
			vlen = len - pos;
		} else {
			if (len - pos < SEND_TLV_HEADER_LEN)
				return receive_stream_error(
					rs, base + pos, -EBADMSG,
					"truncated attribute %u", type);
			vlen = get_le16(p + pos + 2);
			pos += SEND_TLV_HEADER_LEN;
			if (len - pos < vlen)
				return receive_stream_error(
					rs, base + pos - SEND_TLV_HEADER_LEN,
					-EBADMSG,
					"attribute %u of %u bytes runs past "
					"its command", type, vlen);
		}
		if (attr_size[type] && vlen != attr_size[type])
			return receive_stream_error(
				rs, base + pos - SEND_TLV_HEADER_LEN, -EBADMSG,
				"attribute %u has %u bytes, not %u", type,
				vlen, attr_size[type]);
		c->attr[type].data = p + pos;
		c->attr[type].len = vlen;
		pos += vlen;
	}
	return 0;
}

/* Check that the command is known and has every attribute it needs. */
static int check_cmd(struct receive_stream *rs)
{
	struct receive_cmd *c = &rs->cur;
	unsigned a;

	if (c->cmd == 0 || c->cmd > SEND_C_MAX_V2)
		return receive_stream_error(rs, c->offset, -EBADMSG,
					    "unknown command %u", c->cmd);
	for (a = 1; a <= SEND_A_MAX_V2; a++)
		if ((cmd_info[c->cmd].need >> a & 1) && !c->attr[a].data)
			return receive_stream_error(
				rs, c->offset, -EBADMSG,
				"%s command without attribute %u",
				cmd_info[c->cmd].name, a);
	return 0;
}

/* Grow the command buffer to hold need bytes. */
static int reserve(struct receive_stream *rs, size_t need)
{
	uint8_t *b;

	if (need <= rs->cap)
		return 0;
	b = kmalloc(need);
	if (!b)
		return -ENOMEM;
	if (rs->buf)
		memcpy(b, rs->buf, SEND_CMD_HEADER_LEN);
	kfree(rs->buf);
	rs->buf = b;
	rs->cap = need;
	return 0;
}

/*
 * Read the next command into *out (valid until the next call). 0, or a
 * negative errno with rs->err saying what and where: the source ends
 * (a stream must end with END), a command too long, a bad crc, an
 * unknown command or attribute, an attribute missing or of a wrong size.
 */
int receive_stream_next(struct receive_stream *rs,
			const struct receive_cmd **out)
{
	struct receive_cmd *c = &rs->cur;
	size_t limit = rs->version >= 2 ? SEND_BUF_V2 : SEND_BUF_V1;
	uint32_t len, crc;
	int ret;

	memset(c, 0, sizeof(*c));
	c->offset = rs->pos;
	ret = reserve(rs, SEND_CMD_HEADER_LEN);
	if (ret == 0)
		ret = read_full(rs, rs->buf, SEND_CMD_HEADER_LEN, c->offset,
				"command header");
	if (ret == 1)
		return receive_stream_error(rs, c->offset, -EIO,
					    "truncated: the stream ends "
					    "without an end command");
	if (ret)
		return ret;
	len = get_le32(rs->buf);
	c->cmd = get_le16(rs->buf + 4);
	if ((uint64_t)len + SEND_CMD_HEADER_LEN > limit)
		return receive_stream_error(rs, c->offset, -EBADMSG,
					    "command of %u bytes is longer "
					    "than a version %u stream allows",
					    len, rs->version);
	ret = reserve(rs, SEND_CMD_HEADER_LEN + len);
	if (ret == 0)
		ret = read_full(rs, rs->buf + SEND_CMD_HEADER_LEN, len,
				c->offset, "command body");
	if (ret == 1)
		ret = receive_stream_error(rs, c->offset, -EIO,
					   "truncated: command body of %u "
					   "bytes has none", len);
	if (ret)
		return ret;
	crc = get_le32(rs->buf + 6);
	memset(rs->buf + 6, 0, 4);
	if (crc32c(0, rs->buf, SEND_CMD_HEADER_LEN + len) != crc)
		return receive_stream_error(rs, c->offset, -EBADMSG,
					    "bad crc32c in command %u",
					    c->cmd);
	ret = parse_tlvs(rs, len);
	if (ret == 0)
		ret = check_cmd(rs);
	if (ret == 0)
		*out = c;
	return ret;
}

uint64_t receive_attr_u64(const struct receive_cmd *c, unsigned attr)
{
	return get_le64(c->attr[attr].data);
}

uint32_t receive_attr_u32(const struct receive_cmd *c, unsigned attr)
{
	return get_le32(c->attr[attr].data);
}

const uint8_t *receive_attr_uuid(const struct receive_cmd *c, unsigned attr)
{
	return c->attr[attr].data;
}

void receive_attr_time(const struct receive_cmd *c, unsigned attr,
		       int64_t *sec, uint32_t *nsec)
{
	*sec = (int64_t)get_le64(c->attr[attr].data);
	*nsec = get_le32(c->attr[attr].data + 8);
}

/*
 * Copy a string attribute (a path, a name) into buf with a NUL. 0,
 * -ENAMETOOLONG when it does not fit cap, -EBADMSG when it holds a NUL.
 */
int receive_attr_str(const struct receive_cmd *c, unsigned attr, char *buf,
		     size_t cap)
{
	const struct receive_attr *a = &c->attr[attr];

	if (a->len >= cap)
		return -ENAMETOOLONG;
	if (memchr(a->data, 0, a->len))
		return -EBADMSG;
	memcpy(buf, a->data, a->len);
	buf[a->len] = 0;
	return 0;
}
