/*
 * The send stream's writer: one command at a time is built in a buffer
 * (its header, then TLV attributes) and handed to the sink whole, with
 * its crc32c (seed 0, no final inversion, over the header with a zero crc
 * field and the payload), as btrfs-progs' Documentation/dev/
 * dev-send-stream.rst describes; fs/send_format.h has the constants.
 *
 * Limits: a version 1 command is at most SEND_BUF_V1 bytes and every
 * attribute is a full TLV; version 2 allows SEND_BUF_V2 bytes and DATA,
 * always the command's last attribute, has a header of its type only and
 * runs to the command's end, so a write may pass 64 KiB. An attribute
 * that does not fit is -ENAMETOOLONG (paths) or -EOVERFLOW: the caller
 * sizes its writes with send_stream_data_room().
 *
 * A send_stream belongs to one send; the sink is called with no lock held.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>

#include "../lib/crc32c.h"
#include "format.h"
#include "send_int.h"

/* Set up s for a stream of version proto written to write(ctx, ...). */
int send_stream_init(struct send_stream *s, u32 proto, fs_send_write_t write,
		     void *ctx)
{
	s->proto = proto;
	s->cap = proto >= SEND_VERSION_2 ? SEND_BUF_V2 : SEND_BUF_V1;
	s->buf = kmalloc(s->cap);
	if (!s->buf)
		return -ENOMEM;
	s->len = 0;
	s->write = write;
	s->ctx = ctx;
	s->bytes = 0;
	return 0;
}

void send_stream_free(struct send_stream *s)
{
	kfree(s->buf);
	s->buf = NULL;
}

static int emit(struct send_stream *s, const void *buf, u32 len)
{
	int ret = s->write(s->ctx, buf, len);

	if (ret == 0)
		s->bytes += len;
	return ret;
}

/* Write the stream header: magic and version. */
int send_stream_header(struct send_stream *s)
{
	u8 h[SEND_STREAM_HEADER_LEN];

	memcpy(h, SEND_MAGIC, SEND_MAGIC_LEN);
	put_le32(h + SEND_MAGIC_LEN, s->proto);
	return emit(s, h, sizeof(h));
}

/* Start command cmd; attributes follow with send_put_*(). */
void send_begin(struct send_stream *s, enum send_cmd cmd)
{
	memset(s->buf, 0, SEND_CMD_HEADER_LEN);
	put_le16(s->buf + 4, (u16)cmd);
	s->len = SEND_CMD_HEADER_LEN;
	s->known_n = 0;
}

/* Add attribute type with len bytes of value. */
int send_put(struct send_stream *s, enum send_attr type, const void *v,
	     u32 len)
{
	if (len > 0xffff || s->len + SEND_TLV_HEADER_LEN + len > s->cap)
		return type == SEND_A_PATH || type == SEND_A_PATH_TO ||
		       type == SEND_A_PATH_LINK ? -ENAMETOOLONG : -EOVERFLOW;
	put_le16(s->buf + s->len, (u16)type);
	put_le16(s->buf + s->len + 2, (u16)len);
	memcpy(s->buf + s->len + SEND_TLV_HEADER_LEN, v, len);
	s->len += SEND_TLV_HEADER_LEN + len;
	return 0;
}

int send_put_u64(struct send_stream *s, enum send_attr type, u64 v)
{
	u8 b[8];

	put_le64(b, v);
	return send_put(s, type, b, sizeof(b));
}

int send_put_str(struct send_stream *s, enum send_attr type, const char *str)
{
	return send_put(s, type, str, (u32)strlen(str));
}

/* A time as the inode item stores it (struct d_timespec, 12 bytes). */
int send_put_time(struct send_stream *s, enum send_attr type, const u8 *ts)
{
	return send_put(s, type, ts, sizeof(struct d_timespec));
}

/* Bytes of DATA the command begun so far can still take. */
u32 send_stream_data_room(const struct send_stream *s)
{
	u32 hdr = s->proto >= SEND_VERSION_2 ? 2 : SEND_TLV_HEADER_LEN;
	u32 room = s->cap - s->len - hdr;

	return room > 0xffff && s->proto < SEND_VERSION_2 ? 0xffff : room;
}

/* Add DATA, the command's last attribute. */
int send_put_data(struct send_stream *s, const void *v, u32 len)
{
	if (s->proto < SEND_VERSION_2)
		return send_put(s, SEND_A_DATA, v, len);
	if (len > send_stream_data_room(s))
		return -EOVERFLOW;
	put_le16(s->buf + s->len, SEND_A_DATA);
	memcpy(s->buf + s->len + 2, v, len);
	s->len += 2 + len;
	return 0;
}

/* DATA of len bytes at v, whose 4 KiB sectors' CRCs (standard CRC-32C,
 * as a crc32c data checksum) are crc[k] where have[k]: send_end does not
 * read those sectors again for the command's CRC. */
int send_put_data_crcs(struct send_stream *s, const void *v, u32 len,
		       const u32 *crc, const u8 *have)
{
	int ret = send_put_data(s, v, len);

	if (ret == 0) {
		s->data_at = s->len - len;
		s->known_n = len / 4096;
		s->known_crc = crc;
		s->known_have = have;
	}
	return ret;
}

/* The command's CRC (seed 0, no final inversion, its crc field zero):
 * over its bytes, continued over a sector of known CRC without reading
 * it (crc32c_4k_known). */
static u32 cmd_crc(const struct send_stream *s)
{
	u32 crc, k, at = s->data_at;

	if (s->known_n == 0)
		return crc32c(0, s->buf, s->len);
	crc = crc32c(0, s->buf, at);
	for (k = 0; k < s->known_n; k++, at += 4096)
		crc = s->known_have[k] ?
		      crc32c_4k_known(crc, s->known_crc[k]) :
		      crc32c(crc, s->buf + at, 4096);
	return crc32c(crc, s->buf + at, s->len - at);
}

/* Finish the command begun: fill its length and crc, write it. */
int send_end(struct send_stream *s)
{
	put_le32(s->buf, s->len - SEND_CMD_HEADER_LEN);
	put_le32(s->buf + 6, cmd_crc(s));
	s->known_n = 0;
	return emit(s, s->buf, s->len);
}
