/*
 * Receive (fs/receive*.c) on streams written here command by command:
 * what a full and an incremental stream make (kinds, data, modes,
 * owners, xattrs, times, the received UUID and read-only flag), version
 * 2's DATA running to the command's end, holes punched and ranges
 * preallocated (FALLOCATE), --dump lines, and the reader's
 * refusals, each naming its byte offset: missing and wrong-size
 * attributes, unknown attributes, overlong commands, versions, empty
 * sources, a missing parent. Streams from Linux are tested by
 * tests/interop/receive.sh; these cases need neither root nor
 * btrfs-progs (which checks the image when installed).
 */
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "../../fs/format.h"
#include "../../fs/send_format.h"
#include "../../lib/crc32c.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)
#define STREAM_MAX (512 * 1024)

/* A stream being written by a test. */
struct sw {
	uint8_t *buf;
	size_t len;
	size_t cmd;		/* where the open command starts */
	uint32_t version;
};

static void put(struct sw *w, const void *p, size_t n)
{
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

static void put_le(struct sw *w, uint64_t v, int bytes)
{
	int i;

	for (i = 0; i < bytes; i++)
		w->buf[w->len++] = (uint8_t)(v >> (8 * i));
}

static void sw_init(struct sw *w, uint32_t version)
{
	w->buf = kzalloc(STREAM_MAX);
	w->len = 0;
	w->version = version;
	put(w, SEND_MAGIC, SEND_MAGIC_LEN);
	put_le(w, version, 4);
}

static void cmd(struct sw *w, unsigned c)
{
	w->cmd = w->len;
	put_le(w, 0, 4);
	put_le(w, c, 2);
	put_le(w, 0, 4);
}

/* Close the open command: its length and crc. */
static void done(struct sw *w)
{
	size_t body = w->len - w->cmd - SEND_CMD_HEADER_LEN, i;
	uint32_t crc;

	for (i = 0; i < 4; i++)
		w->buf[w->cmd + i] = (uint8_t)(body >> (8 * i));
	crc = crc32c(0, w->buf + w->cmd, w->len - w->cmd);
	for (i = 0; i < 4; i++)
		w->buf[w->cmd + 6 + i] = (uint8_t)(crc >> (8 * i));
}

static void attr(struct sw *w, unsigned type, const void *p, size_t n)
{
	put_le(w, type, 2);
	if (!(w->version >= 2 && type == SEND_A_DATA))
		put_le(w, n, 2);
	put(w, p, n);
}

static void attr_u64(struct sw *w, unsigned type, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
	attr(w, type, b, 8);
}

static void attr_str(struct sw *w, unsigned type, const char *s)
{
	attr(w, type, s, strlen(s));
}

/* cmd with PATH and INO: the make commands. */
static void make(struct sw *w, unsigned c, const char *path, uint64_t ino)
{
	cmd(w, c);
	attr_str(w, SEND_A_PATH, path);
	attr_u64(w, SEND_A_INO, ino);
}

static const uint8_t UUID_A[16] = { 0xaa, 1, 2, 3 };
static const uint8_t UUID_B[16] = { 0xbb, 1, 2, 3 };

/* SUBVOL name (uuid A, ctransid 5) or SNAPSHOT name (uuid B, ctransid 6)
 * of A at parent_transid. */
static void begin(struct sw *w, const char *name, int snapshot,
		  uint64_t parent_transid)
{
	cmd(w, snapshot ? SEND_C_SNAPSHOT : SEND_C_SUBVOL);
	attr_str(w, SEND_A_PATH, name);
	attr(w, SEND_A_UUID, snapshot ? UUID_B : UUID_A, 16);
	attr_u64(w, SEND_A_CTRANSID, snapshot ? 6 : 5);
	if (snapshot) {
		attr(w, SEND_A_CLONE_UUID, UUID_A, 16);
		attr_u64(w, SEND_A_CLONE_CTRANSID, parent_transid);
	}
	done(w);
}

static void end(struct sw *w)
{
	cmd(w, SEND_C_END);
	done(w);
}

/* What a receive said. */
struct said {
	char text[8192];
	size_t len;
	const uint8_t *data;	/* the stream read */
	size_t size, pos;
};

static long read_said(void *ctx, void *buf, size_t len)
{
	struct said *s = ctx;

	if (len > s->size - s->pos)
		len = s->size - s->pos;
	memcpy(buf, s->data + s->pos, len);
	s->pos += len;
	return (long)len;
}

static void say(void *ctx, enum fs_receive_say kind, const char *msg, int err)
{
	struct said *s = ctx;
	int n;

	n = snprintf(s->text + s->len, sizeof(s->text) - s->len, "%s%s %d\n",
		     kind == FS_RECEIVE_ERROR ? "ERROR: " : "", msg, err);
	if (n > 0 && (size_t)n < sizeof(s->text) - s->len)
		s->len += (size_t)n;
}

/* Receive (or with fs NULL dump) w into "/"; what was said in s. */
static int run(struct fs_info *fs, const struct sw *w, struct said *s)
{
	struct fs_receive_args a = {
		.dir = "", .shown_dir = "/", .read = read_said, .read_ctx = s,
		.max_errors = 1, .say = say, .say_ctx = s,
	};

	memset(s, 0, sizeof(*s));
	s->data = w->buf;
	s->size = w->len;
	return fs ? fs_receive(fs, &a) : fs_receive_dump(&a);
}

struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

static int env_open(struct env *e)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };

	e->dev = fault_dev_new(DEV_BYTES);
	if (!e->dev || fs_mkfs(fault_dev_blk(e->dev), &o))
		return -EIO;
	return fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
}

static int env_close(struct env *e)
{
	int bad;

	fs_umount(e->fs);
	bad = test_btrfs_check(__FILE__, __LINE__,
			       fault_dev_btrfs_check(e->dev));
	fault_dev_free(e->dev);
	return bad ? -EUCLEAN : 0;
}

/* The full stream of the tests: every kind, data, attributes, times. */
static void full_stream(struct sw *w)
{
	struct { uint8_t sec[8], nsec[4]; } t = { { 0x10, 0x20, 0x30 },
						  { 7 } };

	sw_init(w, SEND_VERSION_1);
	begin(w, "r", 0, 0);
	make(w, SEND_C_MKDIR, "o257-5-0", 257);
	done(w);
	cmd(w, SEND_C_RENAME);
	attr_str(w, SEND_A_PATH, "o257-5-0");
	attr_str(w, SEND_A_PATH_TO, "my dir");
	done(w);
	make(w, SEND_C_MKFILE, "my dir/f", 258);
	done(w);
	cmd(w, SEND_C_WRITE);
	attr_str(w, SEND_A_PATH, "my dir/f");
	attr_u64(w, SEND_A_FILE_OFFSET, 4096);
	attr_str(w, SEND_A_DATA, "hello");
	done(w);
	cmd(w, SEND_C_LINK);
	attr_str(w, SEND_A_PATH, "hard");
	attr_str(w, SEND_A_PATH_LINK, "my dir/f");
	done(w);
	make(w, SEND_C_SYMLINK, "l", 259);
	attr_str(w, SEND_A_PATH_LINK, "my dir/f");
	done(w);
	make(w, SEND_C_MKNOD, "c", 260);
	attr_u64(w, SEND_A_MODE, 020644);
	attr_u64(w, SEND_A_RDEV, (1 << 8) | 3);	/* new_encode_dev(1, 3) */
	done(w);
	make(w, SEND_C_MKFIFO, "p", 261);
	done(w);
	cmd(w, SEND_C_SET_XATTR);
	attr_str(w, SEND_A_PATH, "hard");
	attr_str(w, SEND_A_XATTR_NAME, "user.k");
	attr_str(w, SEND_A_XATTR_DATA, "v");
	done(w);
	cmd(w, SEND_C_CHMOD);
	attr_str(w, SEND_A_PATH, "my dir/f");
	attr_u64(w, SEND_A_MODE, 0640);
	done(w);
	cmd(w, SEND_C_CHOWN);
	attr_str(w, SEND_A_PATH, "my dir/f");
	attr_u64(w, SEND_A_UID, 1000);
	attr_u64(w, SEND_A_GID, 2000);
	done(w);
	cmd(w, SEND_C_UTIMES);
	attr_str(w, SEND_A_PATH, "my dir/f");
	attr(w, SEND_A_ATIME, &t, 12);
	attr(w, SEND_A_MTIME, &t, 12);
	attr(w, SEND_A_CTIME, &t, 12);
	done(w);
	end(w);
}

TEST(receive, full_stream_makes_every_kind)
{
	struct env e;
	struct sw w;
	struct said s;
	struct fs_subvol sv;
	struct fs_ino ino;
	struct fs_stat st;
	char buf[16];
	size_t n;
	uint64_t id;

	CHECK_OK(env_open(&e));
	full_stream(&w);
	CHECK_EQ(run(e.fs, &w, &s), 0);
	CHECK_STR(s.text, "At subvol r 0\n");
	CHECK_OK(fs_lookup(e.fs, "/r/hard", 0, &ino));
	CHECK_OK(fs_stat(e.fs, ino, &st));
	CHECK_EQ(st.size, 4101);
	CHECK_EQ(st.nlink, 2);
	CHECK_EQ(st.mode, 0100640);
	CHECK_EQ(st.uid, 1000);
	CHECK_EQ(st.gid, 2000);
	CHECK_EQ(st.mtime.sec, 0x302010);
	CHECK_EQ(st.mtime.nsec, 7);
	CHECK_OK(fs_read(e.fs, ino, 4096, buf, 5, &n));
	CHECK(n == 5 && !memcmp(buf, "hello", 5));
	CHECK_OK(fs_getxattr(e.fs, ino, "user.k", buf, sizeof(buf), &n));
	CHECK(n == 1 && buf[0] == 'v');
	CHECK_OK(fs_lookup(e.fs, "/r/c", 0, &ino));
	CHECK_OK(fs_stat(e.fs, ino, &st));
	CHECK_EQ(st.mode & 0170000, 020000);
	CHECK_EQ(st.rdev, FS_MKDEV(1, 3));
	CHECK_OK(fs_lookup(e.fs, "/r/p", 0, &ino));
	CHECK_OK(fs_stat(e.fs, ino, &st));
	CHECK_EQ(st.mode & 0170000, 010000);
	CHECK_OK(fs_lookup(e.fs, "/r/l", 0, &ino));
	CHECK_OK(fs_readlink(e.fs, ino, buf, sizeof(buf), &n));
	CHECK(n == 8 && !memcmp(buf, "my dir/f", 8));
	CHECK_OK(fs_subvol_get(e.fs, "/r", &sv));
	CHECK(sv.read_only);
	CHECK(!memcmp(sv.received_uuid, UUID_A, 16));
	CHECK_OK(fs_subvol_find_sent(e.fs, UUID_A, 5, &id));
	CHECK_EQ(id, sv.id);
	CHECK_EQ(fs_subvol_find_sent(e.fs, UUID_A, 4, &id), -ENOENT);
	kfree(w.buf);
	CHECK_OK(env_close(&e));
}

TEST(receive, snapshot_of_received_parent)
{
	struct env e;
	struct sw w;
	struct said s;
	struct fs_ino ino;

	CHECK_OK(env_open(&e));
	full_stream(&w);
	CHECK_EQ(run(e.fs, &w, &s), 0);
	kfree(w.buf);
	sw_init(&w, SEND_VERSION_1);
	begin(&w, "r2", 1, 4);		/* A was sent at 5, not 4 */
	end(&w);
	CHECK_EQ(run(e.fs, &w, &s), -ENOENT);
	CHECK(strstr(s.text, "ERROR: at byte 17 of the stream: snapshot r2: "
			     "cannot find parent subvolume -2"));
	kfree(w.buf);
	sw_init(&w, SEND_VERSION_1);
	begin(&w, "r2", 1, 5);
	cmd(&w, SEND_C_UNLINK);
	attr_str(&w, SEND_A_PATH, "hard");
	done(&w);
	end(&w);
	CHECK_EQ(run(e.fs, &w, &s), 0);
	CHECK_EQ(fs_lookup(e.fs, "/r2/hard", 0, &ino), -ENOENT);
	CHECK_OK(fs_lookup(e.fs, "/r2/my dir/f", 0, &ino));
	CHECK_OK(fs_lookup(e.fs, "/r/hard", 0, &ino));
	kfree(w.buf);
	CHECK_OK(env_close(&e));
}

TEST(receive, v2_data_runs_to_command_end)
{
	static uint8_t data[100000];
	struct env e;
	struct sw w;
	struct said s;
	struct fs_ino ino;
	uint8_t *back = kmalloc(sizeof(data));
	size_t i, n;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + i / 251);
	CHECK_OK(env_open(&e));
	sw_init(&w, SEND_VERSION_2);
	begin(&w, "v", 0, 0);
	make(&w, SEND_C_MKFILE, "f", 257);
	done(&w);
	cmd(&w, SEND_C_WRITE);
	attr_str(&w, SEND_A_PATH, "f");
	attr_u64(&w, SEND_A_FILE_OFFSET, 0);
	attr(&w, SEND_A_DATA, data, sizeof(data));	/* no length */
	done(&w);
	end(&w);
	CHECK_EQ(run(e.fs, &w, &s), 0);
	CHECK_OK(fs_lookup(e.fs, "/v/f", 0, &ino));
	CHECK_OK(fs_read(e.fs, ino, 0, back, sizeof(data), &n));
	CHECK(n == sizeof(data) && !memcmp(back, data, n));
	kfree(back);
	kfree(w.buf);
	CHECK_OK(env_close(&e));
}

/* FALLOCATE of path with mode over [off, off + len). */
static void falloc(struct sw *w, const char *path, uint32_t mode,
		   uint64_t off, uint64_t len)
{
	uint8_t m[4] = { (uint8_t)mode, 0, 0, 0 };

	cmd(w, SEND_C_FALLOCATE);
	attr_str(w, SEND_A_PATH, path);
	attr(w, SEND_A_FALLOCATE_MODE, m, 4);
	attr_u64(w, SEND_A_FILE_OFFSET, off);
	attr_u64(w, SEND_A_SIZE, len);
	done(w);
}

TEST(receive, fallocate_punches_preallocates_and_extends)
{
	static uint8_t data[10000], back[20100];
	struct env e;
	struct sw w;
	struct said s;
	struct fs_ino ino;
	struct fs_stat st;
	size_t i, n;

	memset(data, 'a', sizeof(data));
	CHECK_OK(env_open(&e));
	sw_init(&w, SEND_VERSION_2);
	begin(&w, "h", 0, 0);
	make(&w, SEND_C_MKFILE, "f", 257);
	done(&w);
	cmd(&w, SEND_C_WRITE);
	attr_str(&w, SEND_A_PATH, "f");
	attr_u64(&w, SEND_A_FILE_OFFSET, 0);
	attr(&w, SEND_A_DATA, data, sizeof(data));
	done(&w);
	/* unaligned at both ends: zeros written there, the middle freed */
	falloc(&w, "f", SEND_FALLOC_KEEP_SIZE | SEND_FALLOC_PUNCH_HOLE, 1000,
	       6000);
	/* past the end: cut at the size */
	falloc(&w, "f", SEND_FALLOC_KEEP_SIZE | SEND_FALLOC_PUNCH_HOLE, 9000,
	       100000);
	falloc(&w, "f", SEND_FALLOC_KEEP_SIZE, 0, 50000);
	falloc(&w, "f", 0, 20000, 100);
	end(&w);
	CHECK_EQ(run(e.fs, &w, &s), 0);
	CHECK_OK(fs_lookup(e.fs, "/h/f", 0, &ino));
	CHECK_OK(fs_stat(e.fs, ino, &st));
	CHECK_EQ(st.size, 20100);
	/* the holes of [0, 50000) preallocated, as Linux's fallocate */
	CHECK_EQ(st.nbytes, 53248);
	CHECK(st.flags & BTRFS_INODE_PREALLOC);
	CHECK_OK(fs_read(e.fs, ino, 0, back, sizeof(back), &n));
	CHECK_EQ(n, sizeof(back));
	for (i = 0; i < n; i++)
		if (back[i] != (i < 1000 || (i >= 7000 && i < 9000) ? 'a' : 0))
			break;
	CHECK_EQ(i, n);
	kfree(w.buf);
	CHECK_OK(env_close(&e));
}

TEST(receive, dump_lines)
{
	struct sw w;
	struct said s;

	full_stream(&w);
	CHECK_EQ(run(NULL, &w, &s), 0);
	CHECK(strstr(s.text, "subvol          ./r                             "
			     "uuid=aa010203-0000-0000-0000-000000000000 "
			     "transid=5 0\n"));
	CHECK(strstr(s.text, "rename          ./r/o257-5-0                    "
			     "dest=./r/my\\ dir 0\n"));
	CHECK(strstr(s.text, "write           ./r/my\\ dir/f" "                   "
			     "offset=4096 len=5 0\n"));
	CHECK(strstr(s.text, "mknod           ./r/c                           "
			     "mode=20644 dev=0x103 0\n"));
	CHECK(strstr(s.text, "utimes          ./r/my\\ dir/f" "                   "
			     "atime=1970-02-06T12:05:36+0000 "));
	CHECK(strstr(s.text, "mkfifo          ./r/p 0\n"));
	kfree(w.buf);
}

/* A stream whose second command is made by fn; receive must fail with
 * want and say msg. */
static void refused(void (*fn)(struct sw *w), uint32_t version, int want,
		    const char *msg)
{
	struct env e;
	struct sw w;
	struct said s;

	CHECK_OK(env_open(&e));
	sw_init(&w, version);
	begin(&w, "x", 0, 0);
	fn(&w);
	end(&w);
	CHECK_EQ(run(e.fs, &w, &s), want);
	if (!strstr(s.text, msg))
		CHECK_STR(s.text, msg);
	CHECK(strstr(s.text, "left writable in /x"));
	kfree(w.buf);
	CHECK_OK(env_close(&e));
}

static void no_ino(struct sw *w)
{
	cmd(w, SEND_C_MKFILE);
	attr_str(w, SEND_A_PATH, "f");
	done(w);
}

static void short_offset(struct sw *w)
{
	make(w, SEND_C_MKFILE, "f", 257);
	done(w);
	cmd(w, SEND_C_TRUNCATE);
	attr_str(w, SEND_A_PATH, "f");
	attr(w, SEND_A_SIZE, "1234", 4);
	done(w);
}

static void unknown_attr(struct sw *w)
{
	make(w, SEND_C_MKFILE, "f", 257);
	attr_str(w, 99, "?");
	done(w);
}

static void past_end(struct sw *w)
{
	make(w, SEND_C_MKFILE, "f", 257);
	put_le(w, SEND_A_UID, 2);
	put_le(w, 8, 2);
	put_le(w, 0, 4);	/* 4 of the 8 bytes */
	done(w);
}

static void too_long(struct sw *w)
{
	static uint8_t big[60000];

	make(w, SEND_C_MKFILE, "f", 257);
	done(w);
	cmd(w, SEND_C_SET_XATTR);
	attr_str(w, SEND_A_PATH, "f");
	attr_str(w, SEND_A_XATTR_NAME, "user.big");
	attr(w, SEND_A_XATTR_DATA, big, sizeof(big));
	attr(w, SEND_A_XATTR_DATA, big, sizeof(big));
	done(w);
}

static void unknown_cmd(struct sw *w)
{
	cmd(w, 77);
	done(w);
}

TEST(receive, refuses_malformed_commands)
{
	refused(no_ino, SEND_VERSION_1, -EBADMSG,
		"ERROR: at byte 64 of the stream: mkfile command without "
		"attribute 3 0\n");
	refused(short_offset, SEND_VERSION_1, -EBADMSG,
		"ERROR: at byte 106 of the stream: attribute 4 has 4 bytes, "
		"not 8 0\n");
	refused(unknown_attr, SEND_VERSION_1, -EBADMSG,
		"ERROR: at byte 91 of the stream: unknown attribute 99 0\n");
	refused(past_end, SEND_VERSION_1, -EBADMSG,
		"ERROR: at byte 91 of the stream: attribute 6 of 8 bytes runs "
		"past its command 0\n");
	refused(too_long, SEND_VERSION_1, -EBADMSG,
		"ERROR: at byte 91 of the stream: command of 120025 bytes is "
		"longer than a version 1 stream allows 0\n");
	refused(unknown_cmd, SEND_VERSION_1, -EBADMSG,
		"ERROR: at byte 64 of the stream: unknown command 77 0\n");
}

TEST(receive, refuses_bad_sources)
{
	struct env e;
	struct sw w;
	struct said s;

	CHECK_OK(env_open(&e));
	sw_init(&w, 3);
	CHECK_EQ(run(e.fs, &w, &s), -EBADMSG);
	CHECK_STR(s.text, "ERROR: at byte 13 of the stream: stream version 3 "
			  "not supported 0\n");
	w.len = 0;
	CHECK_EQ(run(e.fs, &w, &s), -EBADMSG);
	CHECK_STR(s.text, "ERROR: at byte 0 of the stream: empty stream 0\n");
	w.len = 10;
	CHECK_EQ(run(e.fs, &w, &s), -EIO);
	CHECK_STR(s.text, "ERROR: at byte 0 of the stream: truncated: stream "
			  "header of 17 bytes has 10 0\n");
	kfree(w.buf);
	sw_init(&w, SEND_VERSION_1);
	begin(&w, "x", 0, 0);
	CHECK_EQ(run(e.fs, &w, &s), -EIO);
	CHECK(strstr(s.text, "ERROR: at byte 64 of the stream: truncated: the "
			     "stream ends without an end command 0\n"));
	kfree(w.buf);
	CHECK_OK(env_close(&e));
}

/* A parent found however many subvolumes hold its UUID: the one that
 * matches comes after 20 received from another transid of it. */
TEST(receive, parent_found_among_many_holders)
{
	static const uint8_t uuid[16] = { 7, 7, 7 };
	struct fs_subvol sv;
	struct env e;
	uint64_t id;
	char path[32];
	int i;

	CHECK_OK(env_open(&e));
	for (i = 0; i <= 20; i++) {
		snprintf(path, sizeof(path), "/r%d", i);
		CHECK_OK(fs_subvol_create(e.fs, path));
		CHECK_OK(fs_subvol_set_received(e.fs, path, uuid,
						i == 20 ? 99 : 5));
	}
	CHECK_OK(fs_subvol_get(e.fs, "/r20", &sv));
	CHECK_OK(fs_subvol_find_sent(e.fs, uuid, 99, &id));
	CHECK_EQ(id, sv.id);
	CHECK_EQ(fs_subvol_find_sent(e.fs, uuid, 98, &id), -ENOENT);
	CHECK_OK(env_close(&e));
}
