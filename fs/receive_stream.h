/* Reading a send stream command by command. See receive_stream.c. */
#ifndef FS_RECEIVE_STREAM_H
#define FS_RECEIVE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "send_format.h"

/*
 * Where the bytes come from: read up to len bytes into buf; how many
 * (fewer only at the end), 0 at the end, or a negative errno.
 */
typedef long (*receive_read_fn)(void *ctx, void *buf, size_t len);

/* One attribute of the command being read. */
struct receive_attr {
	const uint8_t *data;	/* its value in the command buffer; NULL:
				 * absent */
	uint32_t len;		/* bytes of value */
};

/* One parsed command; valid until the next receive_stream_next. */
struct receive_cmd {
	uint16_t cmd;		/* SEND_C_* */
	uint64_t offset;	/* byte of the stream its header starts at */
	struct receive_attr attr[SEND_A_MAX_V2 + 1];	/* by SEND_A_* */
};

/* A stream being read. */
struct receive_stream {
	receive_read_fn read;	/* the source [I] */
	void *ctx;		/* its argument [I] */
	uint32_t version;	/* of the current stream's header */
	uint64_t pos;		/* bytes consumed so far */
	uint8_t *buf;		/* the current command, header included */
	size_t cap;		/* bytes buf holds */
	struct receive_cmd cur;	/* the command last read */
	char err[200];		/* what the last error was, with its offset */
};

void receive_stream_init(struct receive_stream *rs, receive_read_fn read,
			 void *ctx);
void receive_stream_free(struct receive_stream *rs);
int receive_stream_begin(struct receive_stream *rs);
int receive_stream_next(struct receive_stream *rs,
			const struct receive_cmd **out);
int receive_stream_error(struct receive_stream *rs, uint64_t offset, int ret,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
const char *receive_cmd_name(unsigned cmd);

/* Typed attribute values; the reader checked presence and size. */
uint64_t receive_attr_u64(const struct receive_cmd *c, unsigned attr);
uint32_t receive_attr_u32(const struct receive_cmd *c, unsigned attr);
const uint8_t *receive_attr_uuid(const struct receive_cmd *c, unsigned attr);
void receive_attr_time(const struct receive_cmd *c, unsigned attr,
		       int64_t *sec, uint32_t *nsec);
int receive_attr_str(const struct receive_cmd *c, unsigned attr, char *buf,
		     size_t cap);

#endif
