/*
 * Compressed extents in send streams (version 2, --compressed-data):
 * send's ENCODED_WRITE of the stored bytes, as Linux decides when to send
 * one (fs/send_data.c), and receive storing them as they come or, with
 * --force-decompress and where ghee's encoded write refuses the extent,
 * inflating them (fs/receive.c, fs/file_encoded.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/compress.h"
#include "../../fs/fs.h"
#include "../../fs/send.h"
#include "../../fs/send_format.h"
#include "../../lib/crc32c.h"
#include "send_sink.h"
#include "shim/fault_dev.h"
#include "test.h"

#define DEV_BYTES (256ull << 20)

struct env {
	struct fault_dev *dev;
	struct fs_info *fs;
};

/* A filesystem mounted with compress=zstd. */
static int env_open(struct env *e)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fs_compress c;
	int ret;

	e->dev = fault_dev_new(DEV_BYTES);
	if (!e->dev || fs_mkfs(fault_dev_blk(e->dev), &o))
		return -EIO;
	ret = fs_mount(fault_dev_blk(e->dev), 0, &e->fs);
	if (ret == 0)
		ret = fs_compress_parse("zstd", 0, &c);
	if (ret == 0)
		fs_set_compress(e->fs, &c);
	return ret;
}

static void env_close(struct env *e)
{
	if (e->fs)
		fs_umount(e->fs);
	fault_dev_free(e->dev);
}

/* Write len bytes of text that compresses at off of path (made with
 * compression property prop, or the mount's when NULL). */
static int put_text(struct fs_info *fs, const char *path, const char *prop,
		    uint64_t off, size_t len)
{
	static char buf[1 << 19];
	struct fs_ino ino;
	size_t i;
	int ret = fs_lookup(fs, path, 0, &ino);

	if (ret == -ENOENT) {
		ret = fs_create(fs, path, 0644, &ino);
		if (ret == 0 && prop)
			ret = fs_compress_prop_set(fs, ino, prop);
	}
	for (i = 0; i < len; i++)
		buf[i] = "send compressed extents as they are "[(i + off) % 36];
	return ret ? ret : fs_write(fs, ino, off, buf, len);
}

/* The tree: zstd, lzo and zlib files of three extents, a zstd extent
 * split by a plain write into it, and data that does not compress. */
static int make_tree(struct fs_info *fs)
{
	static char rnd[50000];
	struct fs_ino ino;
	uint32_t x = 1;
	size_t i;
	int ret = fs_subvol_create(fs, "/s");

	for (i = 0; i < sizeof(rnd); i++) {
		x = x * 1103515245 + 12345;
		rnd[i] = (char)(x >> 16);
	}
	ret = ret ? ret : put_text(fs, "/s/z", NULL, 0, 300000);
	ret = ret ? ret : put_text(fs, "/s/l", "lzo", 0, 300000);
	ret = ret ? ret : put_text(fs, "/s/zl", "zlib", 0, 300000);
	ret = ret ? ret : put_text(fs, "/s/part", NULL, 0, 262144);
	ret = ret ? ret : fs_lookup(fs, "/s/part", 0, &ino);
	ret = ret ? ret : fs_write(fs, ino, 8192, rnd, 4096);
	ret = ret ? ret : fs_create(fs, "/s/rand", 0644, &ino);
	ret = ret ? ret : fs_write(fs, ino, 0, rnd, sizeof(rnd));
	return ret ? ret : fs_subvol_snapshot(fs, "/s", "/snap",
					      FS_SNAP_RDONLY);
}

static int send_snap(struct fs_info *fs, struct sink *s, unsigned proto,
		     unsigned flags)
{
	struct fs_subvol sv;
	struct fs_send_opts o = { .proto = proto, .flags = flags,
				  .write = sink_write, .ctx = s };
	int ret = fs_subvol_get(fs, "/snap", &sv);

	s->len = 0;
	return ret ? ret : fs_send(fs, sv.id, "snap", &o);
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The stream's ENCODED_WRITEs, one line each: "PATH OFFSET FILE_LEN
 * UNENCODED_LEN UNENCODED_OFFSET COMPRESSION DATA_LEN", and its WRITEs
 * as "write PATH". */
static void encoded_lines(const struct sink *s, char *out, size_t cap)
{
	size_t at = 17;

	out[0] = 0;
	while (at + 10 <= s->len) {
		const unsigned char *c = s->buf + at;
		uint32_t len = (uint32_t)le(c, 4), t = 10;
		unsigned cmd = (unsigned)le(c + 4, 2);
		const unsigned char *v[SEND_A_MAX_V2 + 1] = { 0 };
		uint32_t l[SEND_A_MAX_V2 + 1] = { 0 };
		char line[300];

		while (t < 10 + len) {
			unsigned type = (unsigned)le(c + t, 2);

			if (type == SEND_A_DATA) {
				l[type] = 10 + len - t - 2;
				break;
			}
			if (type > SEND_A_MAX_V2)
				break;
			v[type] = c + t + 4;
			l[type] = (uint32_t)le(c + t + 2, 2);
			t += 4 + l[type];
		}
		line[0] = 0;
		if (cmd == SEND_C_ENCODED_WRITE)
			snprintf(line, sizeof(line), "%.*s %llu %llu %llu %llu "
				 "%llu %u%s\n", (int)l[SEND_A_PATH],
				 v[SEND_A_PATH],
				 (unsigned long long)le(v[SEND_A_FILE_OFFSET], 8),
				 (unsigned long long)le(
					 v[SEND_A_UNENCODED_FILE_LEN], 8),
				 (unsigned long long)le(v[SEND_A_UNENCODED_LEN],
							8),
				 (unsigned long long)le(
					 v[SEND_A_UNENCODED_OFFSET], 8),
				 (unsigned long long)le(v[SEND_A_COMPRESSION],
							4),
				 l[SEND_A_DATA],
				 v[SEND_A_ENCRYPTION] ? "" : " no-encryption");
		else if (cmd == SEND_C_WRITE)
			snprintf(line, sizeof(line), "write %.*s\n",
				 (int)l[SEND_A_PATH], v[SEND_A_PATH]);
		if (strlen(out) + strlen(line) < cap &&
		    (cmd == SEND_C_ENCODED_WRITE || !strstr(out, line)))
			strcat(out, line);
		at += 10 + len;
	}
}

/* Whether file a's extent at ext_off is compressed and stored as file
 * b's (the same stored bytes): 1, 0, or <0. */
static int same_stored(struct fs_info *fs, const char *a, const char *b,
		       uint64_t ext_off)
{
	static unsigned char x[COMPRESS_MAX_RAM], y[COMPRESS_MAX_RAM];
	struct fs_ino ia, ib;
	size_t nx, ny;
	int ret = fs_lookup(fs, a, 0, &ia);

	ret = ret ? ret : fs_lookup(fs, b, 0, &ib);
	ret = ret ? ret : fs_read_encoded(fs, ia, ext_off, x, sizeof(x), &nx);
	ret = ret ? ret : fs_read_encoded(fs, ib, ext_off, y, sizeof(y), &ny);
	return ret ? ret : nx == ny && !memcmp(x, y, nx);
}

TEST(send, compressed_data_as_encoded_writes)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	struct fs_ino ino;
	char out[4096], prop[32];

	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	CHECK_EQ(send_snap(e.fs, &s, 1, FS_SEND_COMPRESSED), -EINVAL);
	CHECK_OK(send_snap(e.fs, &s, 2, FS_SEND_COMPRESSED));
	encoded_lines(&s, out, sizeof(out));
	/* whole extents; lzo says its sector size (4 KiB: 3) */
	CHECK(strstr(out, "z 0 131072 131072 0 2 4096\n"));
	CHECK(strstr(out, "z 262144 37856 40960 0 2 4096\n"));
	CHECK(strstr(out, "l 0 131072 131072 0 3 "));
	CHECK(strstr(out, "zl 131072 131072 131072 0 1 "));
	/* the pieces of a split extent: the file's part of it each */
	CHECK(strstr(out, "part 0 8192 131072 0 2 4096\n"));
	CHECK(strstr(out, "part 12288 118784 131072 12288 2 4096\n"));
	CHECK(strstr(out, "write rand\n"));
	CHECK(!strstr(out, "write z\n") && !strstr(out, "write l\n"));
	/* stored as they came */
	CHECK_OK(sink_received_differs(e.fs, &s, "/r", "/snap"));
	CHECK_EQ(same_stored(e.fs, "/snap/z", "/r/snap/z", 0), 1);
	CHECK_EQ(same_stored(e.fs, "/snap/l", "/r/snap/l", 131072), 1);
	CHECK_EQ(same_stored(e.fs, "/snap/zl", "/r/snap/zl", 262144), 1);
	CHECK_EQ(same_stored(e.fs, "/snap/part", "/r/snap/part", 12288), 1);
	/* the compression property came as the attribute Linux sends */
	CHECK_OK(fs_lookup(e.fs, "/r/snap/l", 0, &ino));
	CHECK_OK(fs_compress_prop_get(e.fs, ino, prop, sizeof(prop)));
	CHECK_STR(prop, "lzo");
	free(s.buf);
	env_close(&e);
}

TEST(receive, encoded_write_force_decompress)
{
	struct env e = { 0 };
	struct sink s = { 0 };
	struct fs_ino ino;
	unsigned char buf[16];
	size_t n;

	CHECK_OK(env_open(&e));
	CHECK_OK(make_tree(e.fs));
	CHECK_OK(send_snap(e.fs, &s, 2, FS_SEND_COMPRESSED));
	fs_set_compress(e.fs, &(struct fs_compress){ 0 });
	CHECK_OK(sink_receive(e.fs, &s, "/r", 1));
	CHECK_EQ(sink_trees_differ(e.fs, "/snap", "/r/snap"), 0);
	CHECK_OK(fs_lookup(e.fs, "/r/snap/z", 0, &ino));
	CHECK_EQ(fs_read_encoded(e.fs, ino, 0, buf, sizeof(buf), &n),
		 -EINVAL);
	free(s.buf);
	env_close(&e);
}

/* Append a command (cmd, its attributes in a[0..n)) to s. */
struct tlv {
	unsigned type;
	const void *v;
	uint32_t len;
};

static void put_cmd(struct sink *s, unsigned cmd, const struct tlv *a,
		    int n)
{
	unsigned char *c = malloc(SEND_BUF_V2);
	uint32_t at = 10, crc;
	int i;

	for (i = 0; i < n; i++) {
		c[at] = (unsigned char)a[i].type;
		c[at + 1] = 0;
		if (a[i].type == SEND_A_DATA) {
			at += 2;
		} else {
			c[at + 2] = (unsigned char)a[i].len;
			c[at + 3] = (unsigned char)(a[i].len >> 8);
			at += 4;
		}
		memcpy(c + at, a[i].v, a[i].len);
		at += a[i].len;
	}
	for (i = 0; i < 4; i++) {
		c[i] = (unsigned char)((at - 10) >> (8 * i));
		c[6 + i] = 0;
	}
	c[4] = (unsigned char)cmd;
	c[5] = 0;
	crc = crc32c(0, c, at);
	for (i = 0; i < 4; i++)
		c[6 + i] = (unsigned char)(crc >> (8 * i));
	sink_write(s, c, at);
	free(c);
}

static void u64le(unsigned char *p, uint64_t v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/*
 * A stream of one file of 20,000 bytes whose middle comes as an
 * ENCODED_WRITE at an offset off no sector boundary: Linux's encoded
 * write refuses that (EINVAL), so receive inflates and writes it.
 */
TEST(receive, encoded_write_refused_is_inflated)
{
	static unsigned char text[8192], comp[8192], want[20000], got[20000];
	static const unsigned char uuid[16] = { 1 };
	unsigned char off[8], flen[8], ulen[8], uoff[8], size[8];
	unsigned char zero[8] = { 0 };
	unsigned char cmp[4] = { SEND_ENC_ZSTD }, ino[8] = { 1 };
	struct env e = { 0 };
	struct sink s = { 0 };
	struct fs_ino f;
	size_t clen = sizeof(comp), i, done;

	for (i = 0; i < sizeof(text); i++)
		text[i] = (unsigned char)"abcdefgh"[i % 8];
	CHECK_OK(compress_compress(BTRFS_COMPRESS_ZSTD, 3, text, sizeof(text),
				   comp, &clen, 4096));
	u64le(off, 1000);
	u64le(flen, 5000);
	u64le(ulen, sizeof(text));
	u64le(uoff, 0);
	u64le(size, sizeof(want));
	sink_write(&s, "btrfs-stream\0\2\0\0\0", 17);
	put_cmd(&s, SEND_C_SUBVOL, (struct tlv[]){
		{ SEND_A_PATH, "sv", 2 }, { SEND_A_UUID, uuid, 16 },
		{ SEND_A_CTRANSID, zero, 8 } }, 3);
	put_cmd(&s, SEND_C_MKFILE, (struct tlv[]){
		{ SEND_A_PATH, "f", 1 }, { SEND_A_INO, ino, 8 } }, 2);
	put_cmd(&s, SEND_C_TRUNCATE, (struct tlv[]){
		{ SEND_A_PATH, "f", 1 }, { SEND_A_SIZE, size, 8 } }, 2);
	put_cmd(&s, SEND_C_ENCODED_WRITE, (struct tlv[]){
		{ SEND_A_PATH, "f", 1 }, { SEND_A_FILE_OFFSET, off, 8 },
		{ SEND_A_UNENCODED_FILE_LEN, flen, 8 },
		{ SEND_A_UNENCODED_LEN, ulen, 8 },
		{ SEND_A_UNENCODED_OFFSET, uoff, 8 },
		{ SEND_A_COMPRESSION, cmp, 4 },
		{ SEND_A_DATA, comp, (uint32_t)clen } }, 7);
	put_cmd(&s, SEND_C_END, NULL, 0);
	CHECK_OK(env_open(&e));
	CHECK_OK(sink_receive(e.fs, &s, "/r", 0));
	memset(want, 0, sizeof(want));
	memcpy(want + 1000, text, 5000);
	CHECK_OK(fs_lookup(e.fs, "/r/sv/f", 0, &f));
	CHECK_OK(fs_read(e.fs, f, 0, got, sizeof(got), &done));
	CHECK_EQ(done, sizeof(got));
	CHECK(!memcmp(got, want, sizeof(got)));
	free(s.buf);
	env_close(&e);
}
