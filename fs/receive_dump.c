/*
 * receive --dump: print a send stream's commands, one line each, in the
 * layout of btrfs-progs 6.2's `btrfs receive --dump`, so both can be
 * compared byte for byte:
 *
 *   TITLE (padded to 16) PATH (escaped) then, when the command has more,
 *   spaces up to column 48 (at least one) and its fields.
 *
 * Paths print joined to "./SUBVOL" (the subvolume's own line to "."),
 * with spaces, backslashes and control characters escaped C-style and
 * other unprintable bytes as \ooo. A time prints as the local time with
 * %FT%T%z: ghee's clock is UTC, so "+0000" (compare with TZ=UTC).
 * As btrfs-progs, only the first stream of the source is dumped.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "fs.h"
#include "../lib/uuid.h"
#include "receive_stream.h"

#define DUMP_PATH_MAX 4096
#define DUMP_LINE_MAX (6 * DUMP_PATH_MAX)	/* escaped path and fields */

/* A dump in progress. */
struct dump {
	const struct fs_receive_args *a;
	const struct receive_cmd *c;	/* the command printed */
	char subvol[DUMP_PATH_MAX];	/* "./NAME" of the stream */
	char path[DUMP_PATH_MAX];	/* a path attribute, joined */
	char line[DUMP_LINE_MAX];	/* the line being made */
	size_t len;			/* bytes of line */
};

/* Append to the line, cutting at its end. */
static void add(struct dump *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add(struct dump *d, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (d->len >= sizeof(d->line) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(d->line + d->len, sizeof(d->line) - d->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		d->len += (size_t)n < sizeof(d->line) - d->len ?
			  (size_t)n : sizeof(d->line) - d->len - 1;
}

/* Append path escaped; returns how many characters that took. */
static size_t add_escaped(struct dump *d, const char *path)
{
	static const char from[] = "\a\b\033\f\n\r\t\v \\";
	static const char to[] = "abefnrtv \\";
	size_t start = d->len;
	const char *e;
	unsigned char ch;

	for (; *path; path++) {
		ch = (unsigned char)*path;
		e = strchr(from, ch);
		if (e)
			add(d, "\\%c", to[e - from]);
		else if (ch < 0x20 || ch > 0x7e)
			add(d, "\\%o%o%o", ch >> 6, (ch >> 3) & 7, ch & 7);
		else
			add(d, "%c", ch);
	}
	return d->len - start;
}

/* base and p joined with one '/', each without one trailing '/' (as
 * btrfs-progs' path_cat_out); -ENAMETOOLONG past its limit. */
static int cat(char *out, const char *base, const char *p)
{
	size_t b = strlen(base), n = strlen(p);

	if (b + n + 2 >= DUMP_PATH_MAX)
		return -ENAMETOOLONG;
	if (b && base[b - 1] == '/')
		b--;
	if (n && p[n - 1] == '/')
		n--;
	snprintf(out, DUMP_PATH_MAX, "%.*s/%.*s", (int)b, base, (int)n, p);
	return 0;
}

/* A string attribute joined to the subvolume's path, into d->path. */
static int joined(struct dump *d, unsigned attr, const char *base)
{
	char *s = kmalloc(DUMP_PATH_MAX);
	int ret;

	if (!s)
		return -ENOMEM;
	ret = receive_attr_str(d->c, attr, s, DUMP_PATH_MAX);
	if (ret == 0)
		ret = cat(d->path, base, s);
	kfree(s);
	return ret;
}

/* Start a line: the title and the command's path; fields follow. */
static int head(struct dump *d, int fields)
{
	size_t n;
	int ret;

	d->len = 0;
	if (d->c->cmd == SEND_C_SUBVOL || d->c->cmd == SEND_C_SNAPSHOT) {
		ret = joined(d, SEND_A_PATH, ".");
		if (ret == 0)
			strcpy(d->subvol, d->path);
	} else {
		ret = joined(d, SEND_A_PATH, d->subvol);
	}
	if (ret)
		return ret;
	add(d, "%-16s", receive_cmd_name(d->c->cmd));
	n = add_escaped(d, d->path);
	if (fields)
		do
			add(d, " ");
		while (++n < 32);
	return 0;
}

/* Print a UUID the way uuid_unparse does. */
static void add_uuid(struct dump *d, const uint8_t *u)
{
	char text[UUID_TEXT_LEN];

	uuid_text(u, text);
	add(d, "%s", text);
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *dd)
{
	int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;

	*dd = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Print time attribute attr as strftime's %FT%T%z in UTC. */
static void add_time(struct dump *d, const char *name, unsigned attr)
{
	int64_t sec, days, y, rem;
	uint32_t nsec;
	unsigned m, dd;

	receive_attr_time(d->c, attr, &sec, &nsec);
	days = sec / 86400;
	rem = sec % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil(days, &y, &m, &dd);
	add(d, "%s=%04lld-%02u-%02uT%02u:%02u:%02u+0000", name, (long long)y,
	    m, dd, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60),
	    (unsigned)(rem % 60));
}

#define U64(a) ((unsigned long long)receive_attr_u64(c, SEND_A_##a))

/* The fields of the commands that make or name things. */
static int fields_names(struct dump *d)
{
	const struct receive_cmd *c = d->c;
	int ret;

	switch (c->cmd) {
	case SEND_C_SUBVOL:
	case SEND_C_SNAPSHOT:
		add(d, "uuid=");
		add_uuid(d, receive_attr_uuid(c, SEND_A_UUID));
		add(d, " transid=%llu", U64(CTRANSID));
		if (c->cmd == SEND_C_SUBVOL)
			return 0;
		add(d, " parent_uuid=");
		add_uuid(d, receive_attr_uuid(c, SEND_A_CLONE_UUID));
		add(d, " parent_transid=%llu", U64(CLONE_CTRANSID));
		return 0;
	case SEND_C_MKNOD:
		add(d, "mode=%llo dev=0x%llx", U64(MODE), U64(RDEV));
		return 0;
	case SEND_C_SYMLINK:
	case SEND_C_LINK:
		ret = receive_attr_str(c, SEND_A_PATH_LINK, d->path,
				       sizeof(d->path));
		break;
	default:	/* RENAME */
		ret = joined(d, SEND_A_PATH_TO, d->subvol);
		break;
	}
	if (ret == 0) {
		add(d, "dest=");
		add_escaped(d, d->path);
	}
	return ret;
}

/* The fields of the commands that change an inode. */
static int fields_inode(struct dump *d)
{
	const struct receive_cmd *c = d->c;
	const struct receive_attr *x = &c->attr[SEND_A_XATTR_DATA];
	const struct receive_attr *n = &c->attr[SEND_A_XATTR_NAME];
	int ret;

	switch (c->cmd) {
	case SEND_C_SET_XATTR:
		add(d, "name=%.*s data=%.*s len=%u",
		    (int)strnlen((const char *)n->data, n->len), n->data,
		    (int)strnlen((const char *)x->data, x->len), x->data,
		    x->len);
		return 0;
	case SEND_C_REMOVE_XATTR:
		add(d, "name=%.*s",
		    (int)strnlen((const char *)n->data, n->len), n->data);
		return 0;
	case SEND_C_WRITE:
		add(d, "offset=%llu len=%u", U64(FILE_OFFSET),
		    c->attr[SEND_A_DATA].len);
		return 0;
	case SEND_C_CLONE:
		ret = joined(d, SEND_A_CLONE_PATH, d->subvol);
		/* btrfs-progs reads the length into an int */
		if (ret == 0)
			add(d, "offset=%llu len=%llu from=%s clone_offset=%llu",
			    U64(FILE_OFFSET),
			    (unsigned long long)(int)U64(CLONE_LEN), d->path,
			    U64(CLONE_OFFSET));
		return ret;
	case SEND_C_TRUNCATE:
		add(d, "size=%llu", U64(SIZE));
		return 0;
	case SEND_C_CHMOD:
		add(d, "mode=%llo", U64(MODE));
		return 0;
	case SEND_C_CHOWN:
		add(d, "gid=%llu uid=%llu", U64(GID), U64(UID));
		return 0;
	case SEND_C_UTIMES:
		add_time(d, "atime", SEND_A_ATIME);
		add_time(d, " mtime", SEND_A_MTIME);
		add_time(d, " ctime", SEND_A_CTIME);
		return 0;
	case SEND_C_UPDATE_EXTENT:
		add(d, "offset=%llu len=%llu", U64(FILE_OFFSET), U64(SIZE));
		return 0;
	case SEND_C_FALLOCATE:
		add(d, "mode=%d offset=%llu len=%llu",
		    (int)receive_attr_u32(c, SEND_A_FALLOCATE_MODE),
		    U64(FILE_OFFSET), U64(SIZE));
		return 0;
	case SEND_C_FILEATTR:
		/* sic: btrfs-progs prints it in decimal after "0x" */
		add(d, "fileattr=0x%llu", U64(FILEATTR));
		return 0;
	default:	/* ENCODED_WRITE */
		add(d, "offset=%llu len=%u, unencoded_file_len=%llu, "
		    "unencoded_len=%llu, unencoded_offset=%llu, "
		    "compression=%u, encryption=%u", U64(FILE_OFFSET),
		    c->attr[SEND_A_DATA].len, U64(UNENCODED_FILE_LEN),
		    U64(UNENCODED_LEN), U64(UNENCODED_OFFSET),
		    c->attr[SEND_A_COMPRESSION].data ?
		    receive_attr_u32(c, SEND_A_COMPRESSION) : 0,
		    c->attr[SEND_A_ENCRYPTION].data ?
		    receive_attr_u32(c, SEND_A_ENCRYPTION) : 0);
		return 0;
	}
}

/* Print one command's line. */
static int dump_cmd(struct dump *d)
{
	unsigned cmd = d->c->cmd;
	int plain = cmd == SEND_C_MKFILE || cmd == SEND_C_MKDIR ||
		    cmd == SEND_C_MKFIFO || cmd == SEND_C_MKSOCK ||
		    cmd == SEND_C_UNLINK || cmd == SEND_C_RMDIR;
	int ret = head(d, !plain);

	if (ret || plain)
		return ret;
	if (cmd <= SEND_C_LINK || cmd == SEND_C_SNAPSHOT)
		return fields_names(d);
	return fields_inode(d);
}

/* Print the first stream of the source; see the top of this file. */
int fs_receive_dump(const struct fs_receive_args *a)
{
	struct receive_stream rs;
	struct dump *d = kzalloc(sizeof(*d));
	int ret;

	if (!d)
		return -ENOMEM;
	d->a = a;
	strcpy(d->subvol, ".");
	receive_stream_init(&rs, a->read, a->read_ctx);
	ret = receive_stream_begin(&rs);
	if (ret == 1)
		ret = receive_stream_error(&rs, 0, -EBADMSG, "empty stream");
	while (ret == 0) {
		ret = receive_stream_next(&rs, &d->c);
		if (ret || d->c->cmd == SEND_C_END)
			break;
		ret = dump_cmd(d);
		if (ret) {
			receive_stream_error(&rs, d->c->offset, ret,
					     "%s: bad or too long path",
					     receive_cmd_name(d->c->cmd));
			break;
		}
		a->say(a->say_ctx, FS_RECEIVE_OUT, d->line, 0);
	}
	if (ret)
		a->say(a->say_ctx, FS_RECEIVE_ERROR, rs.err, 0);
	receive_stream_free(&rs);
	kfree(d);
	return ret;
}
