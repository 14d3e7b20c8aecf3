/*
 * Compressed extents (fs/compress*.c): each codec and level round trip,
 * incompressible data refused, lzo's framing, damaged streams refused
 * without harm, the spec parser; then a filesystem mounted with each
 * compression writes text and random data, reads them back after a
 * remount, and passes fsck and `btrfs check --check-data-csum`; a file
 * of many compressed extents reads back from any offset.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/blk.h>
#include <ghee/log.h>

#include "../../fs/compress.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "shim/fault_dev.h"
#include "test.h"

#define SS 4096u
#define DEV_BYTES (128ull << 20)

static const struct {
	const char *spec;	/* as mount -o compress= takes it */
	u8 type;
	int level;
} codecs[] = {
	{ "zlib:1", BTRFS_COMPRESS_ZLIB, 1 },
	{ "zlib:9", BTRFS_COMPRESS_ZLIB, 9 },
	{ "lzo", BTRFS_COMPRESS_LZO, 0 },
	{ "zstd:1", BTRFS_COMPRESS_ZSTD, 1 },
	{ "zstd", BTRFS_COMPRESS_ZSTD, 3 },
	{ "zstd:15", BTRFS_COMPRESS_ZSTD, 15 },
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

/* Text-like bytes: words from a small list, seeded. */
static void text(u8 *buf, size_t n, unsigned seed)
{
	static const char *const words[] = { "alpha ", "beta ", "extent ",
					     "btrfs ", "ghee\n", "sector " };
	size_t i = 0;

	srand(seed);
	while (i < n) {
		const char *w = words[rand() % 6];
		size_t k = strlen(w);

		memcpy(buf + i, w, k < n - i ? k : n - i);
		i += k;
	}
}

static void random_bytes(u8 *buf, size_t n, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++)
		buf[i] = (u8)(rand() >> 7);
}

TEST(compress, round_trip_each_level)
{
	static const size_t lens[] = { 2 * SS, 40000, COMPRESS_MAX_RAM };
	u8 *in = malloc(COMPRESS_MAX_RAM), *c = malloc(COMPRESS_MAX_RAM);
	u8 *out = malloc(COMPRESS_MAX_RAM + SS);
	size_t i, j;

	text(in, COMPRESS_MAX_RAM, 1);
	for (i = 0; i < NCODECS; i++) {
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			size_t n = lens[j], clen = n - SS;

			CHECK_OK(compress_compress(codecs[i].type,
						   codecs[i].level, in, n, c,
						   &clen, SS));
			CHECK(clen < n / 2);
			/* Exactly n, then more (zeros follow), then less. */
			memset(out, 0xee, n + SS);
			CHECK_OK(compress_decompress(codecs[i].type, c, clen,
						     out, n + SS, SS));
			CHECK(!memcmp(out, in, n));
			CHECK(out[n] == 0 && out[n + SS - 1] == 0);
			CHECK_OK(compress_decompress(codecs[i].type, c, clen,
						     out, n / 3, SS));
			CHECK(!memcmp(out, in, n / 3));
		}
	}
	free(in);
	free(c);
	free(out);
}

TEST(compress, incompressible_is_e2big)
{
	u8 *in = malloc(COMPRESS_MAX_RAM), *c = malloc(COMPRESS_MAX_RAM);
	size_t i;

	random_bytes(in, COMPRESS_MAX_RAM, 2);
	for (i = 0; i < NCODECS; i++) {
		size_t clen = COMPRESS_MAX_RAM - SS;

		CHECK_EQ(compress_compress(codecs[i].type, codecs[i].level, in,
					   COMPRESS_MAX_RAM, c, &clen, SS),
			 -E2BIG);
	}
	free(in);
	free(c);
}

/* lzo's framing: the total, then one segment per sector of input, and
 * no segment length across a sector boundary (padding instead). */
TEST(compress, lzo_framing)
{
	u8 *in = malloc(COMPRESS_MAX_RAM), *c = malloc(COMPRESS_MAX_RAM);
	size_t clen = COMPRESS_MAX_RAM, pos = 4, i;
	u32 segs = 0, straddles = 0;

	/* Half text, half random per sector: segments of ~2 KiB, so some
	 * lengths land near a boundary. */
	for (i = 0; i < COMPRESS_MAX_RAM; i += SS) {
		size_t t = SS / 2 - (i / SS) % 7 * 97;

		text(in + i, t, (unsigned)i);
		random_bytes(in + i + t, SS - t, (unsigned)i + 1);
	}
	CHECK_OK(compress_compress(BTRFS_COMPRESS_LZO, 0, in,
				   COMPRESS_MAX_RAM, c, &clen, SS));
	CHECK_EQ(get_le32(c), clen);
	while (pos < clen) {
		u32 seg;

		if (SS - pos % SS < 4) {
			for (; pos % SS; pos++)
				CHECK_EQ(c[pos], 0);
			continue;
		}
		seg = get_le32(c + pos);
		CHECK(seg > 0 && pos + 4 + seg <= clen);
		if ((pos + 4) / SS != (pos + 4 + seg - 1) / SS)
			straddles++;
		pos += 4 + seg;
		segs++;
	}
	CHECK_EQ(pos, clen);
	CHECK_EQ(segs, COMPRESS_MAX_RAM / SS);
	CHECK(straddles > 0);	/* segment data does cross boundaries */
	free(in);
	free(c);
}

/* Damaged streams: truncated, bytes flipped, garbage. Each is refused
 * with -EUCLEAN or (a flip the format cannot see) decodes; nothing
 * reads or writes out of bounds (ASan watches). */
TEST(compress, damaged_streams_refused)
{
	u8 *in = malloc(COMPRESS_MAX_RAM), *c = malloc(COMPRESS_MAX_RAM);
	u8 *out = malloc(COMPRESS_MAX_RAM);
	size_t i, k;

	text(in, COMPRESS_MAX_RAM, 3);
	for (i = 0; i < NCODECS; i++) {
		u8 t = codecs[i].type;
		size_t clen = COMPRESS_MAX_RAM - SS;
		int ret;

		CHECK_OK(compress_compress(t, codecs[i].level, in,
					   COMPRESS_MAX_RAM, c, &clen, SS));
		CHECK_EQ(compress_decompress(t, c, clen / 2, out,
					     COMPRESS_MAX_RAM, SS), -EUCLEAN);
		for (k = 0; k < 64; k++) {
			size_t at = (k * 7919) % clen;

			c[at] ^= (u8)(k + 1);
			ret = compress_decompress(t, c, clen, out,
						  COMPRESS_MAX_RAM, SS);
			CHECK(ret == 0 || ret == -EUCLEAN);
			c[at] ^= (u8)(k + 1);
		}
		random_bytes(c, clen, 4);
		CHECK_EQ(compress_decompress(t, c, clen, out, COMPRESS_MAX_RAM,
					     SS), -EUCLEAN);
	}
	CHECK_EQ(compress_decompress(4, c, 100, out, 100, SS), -EOPNOTSUPP);
	free(in);
	free(c);
	free(out);
}

TEST(compress, parse_specs)
{
	struct fs_compress c;
	u8 type;
	int level;

	CHECK_OK(compress_parse("zstd:15", &type, &level));
	CHECK(type == BTRFS_COMPRESS_ZSTD && level == 15);
	CHECK_OK(compress_parse("zlib", &type, &level));
	CHECK(type == BTRFS_COMPRESS_ZLIB && level == 3);
	CHECK_OK(compress_parse("lzo", &type, &level));
	CHECK(type == BTRFS_COMPRESS_LZO && level == 0);
	CHECK_OK(compress_parse("no", &type, &level));
	CHECK_EQ(type, BTRFS_COMPRESS_NONE);
	CHECK_EQ(compress_parse("zstd:16", &type, &level), -EINVAL);
	CHECK_EQ(compress_parse("zlib:10", &type, &level), -EINVAL);
	CHECK_EQ(compress_parse("zlib:0", &type, &level), -EINVAL);
	CHECK_EQ(compress_parse("zstd:", &type, &level), -EINVAL);
	CHECK_EQ(compress_parse("lzo:1", &type, &level), -EINVAL);
	CHECK_EQ(compress_parse("zstd:1x", &type, &level), -EINVAL);
	CHECK_EQ(compress_parse("gzip", &type, &level), -EINVAL);
	/* The bare mount option is zlib; compress-force of "no" is no
	 * compression. */
	CHECK_OK(fs_compress_parse(NULL, 1, &c));
	CHECK(c.type == BTRFS_COMPRESS_ZLIB && c.force == 1);
	CHECK_OK(fs_compress_parse("no", 1, &c));
	CHECK(c.type == 0 && c.force == 0);
}

/* Whether some sector of dev holds the SS bytes at want. */
static int find_sector(struct blkdev *dev, const u8 *want)
{
	u8 sec[SS];
	u64 off;

	for (off = 0; off < dev->size; off += SS)
		if (!blk_read(dev, off, sec, SS) && !memcmp(sec, want, SS))
			return 1;
	return 0;
}

#define TEXT_BYTES (600u << 10)
#define RAND_BYTES (200u << 10)

/* Write /text (with an unaligned overwrite of text in the middle of its
 * compressed extents) and /rand under compression spec, remount, read
 * both back; fsck and btrfs check --check-data-csum judge the image. */
static void write_with(const char *spec, int force, const u8 *t,
		       const u8 *r)
{
	struct fault_dev *d = fault_dev_new(DEV_BYTES);
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fs_check_report rep;
	struct fs_compress c;
	struct fs_info *fs;
	struct fs_ino ti, ri;
	struct fs_stat st;
	u8 *got = malloc(TEXT_BYTES);
	size_t n;

	CHECK(d != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
	CHECK_OK(fs_compress_parse(spec, force, &c));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	fs_set_compress(fs, &c);
	CHECK_OK(fs_create(fs, "/text", 0644, &ti));
	CHECK_OK(fs_write(fs, ti, 0, t, TEXT_BYTES));
	CHECK_OK(fs_sync(fs));
	CHECK_OK(fs_write(fs, ti, 200001, t + 1000, 70000));
	CHECK_OK(fs_create(fs, "/rand", 0644, &ri));
	CHECK_OK(fs_write(fs, ri, 0, r, RAND_BYTES));
	CHECK_OK(fs_sync(fs));
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs));
	CHECK_OK(fs_read(fs, ti, 0, got, TEXT_BYTES, &n));
	CHECK_EQ(n, TEXT_BYTES);
	CHECK(!memcmp(got, t, 200001) &&
	      !memcmp(got + 200001, t + 1000, 70000) &&
	      !memcmp(got + 270001, t + 270001, TEXT_BYTES - 270001));
	CHECK_OK(fs_read(fs, ri, 0, got, RAND_BYTES, &n));
	CHECK(n == RAND_BYTES && !memcmp(got, r, RAND_BYTES));
	/* Random data is stored plain and marks its inode NOCOMPRESS,
	 * unless compress-force; text stays compressible. */
	CHECK_OK(fs_stat(fs, ri, &st));
	CHECK_EQ(!!(st.flags & BTRFS_INODE_NOCOMPRESS), !force);
	CHECK_OK(fs_stat(fs, ti, &st));
	CHECK_EQ(st.flags & BTRFS_INODE_NOCOMPRESS, 0);
	CHECK_EQ(st.nbytes, TEXT_BYTES);
	/* Compressed: the text's first sector is nowhere on the device. */
	CHECK(!find_sector(fault_dev_blk(d), t));
	CHECK_OK(fs_check(fs, &rep));
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check_data(d));
	fault_dev_free(d);
	free(got);
}

TEST(compress, fs_write_each_codec)
{
	u8 *t = malloc(TEXT_BYTES), *r = malloc(RAND_BYTES);
	size_t i;

	text(t, TEXT_BYTES, 5);
	random_bytes(r, RAND_BYTES, 6);
	for (i = 0; i < NCODECS; i++)
		write_with(codecs[i].spec, 0, t, r);
	write_with("zstd:3", 1, t, r);
	free(t);
	free(r);
}

/* A file of many compressed extents (the read ahead of fs/file.c keeps
 * several in flight) read back in pieces that start and end anywhere:
 * inside an extent, on its edges, across many, past the end. */
TEST(compress, reads_across_extents_at_any_offset)
{
	static const struct { u64 off, len; } reads[] = {
		{ 0, 64 << 20 }, { 1, 1 << 20 }, { 131071, 131074 },
		{ 131072, 131072 * 9 }, { 500000, 1 }, { 2000000, 1500000 },
		{ (3u << 20) - 5, 100 },
	};
	const u64 size = 3u << 20;
	struct fault_dev *d = fault_dev_new(DEV_BYTES);
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	u8 *t = malloc(size), *got = malloc(size);
	struct fs_compress c;
	struct fs_info *fs;
	struct fs_ino ino;
	size_t i, n;

	CHECK(d && t && got);
	text(t, size, 7);
	CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
	CHECK_OK(fs_compress_parse("zstd", 0, &c));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	fs_set_compress(fs, &c);
	CHECK_OK(fs_create(fs, "/t", 0644, &ino));
	CHECK_OK(fs_write(fs, ino, 0, t, size));
	CHECK_OK(fs_sync(fs));
	fs_umount(fs);
	CHECK_OK(fs_mount(fault_dev_blk(d), FS_MOUNT_RO, &fs));
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		u64 want = reads[i].len < size - reads[i].off ?
			   reads[i].len : size - reads[i].off;

		memset(got, 0xa5, size);
		CHECK_OK(fs_read(fs, ino, reads[i].off, got, want, &n));
		CHECK_EQ(n, want);
		CHECK(!memcmp(got, t + reads[i].off, want));
	}
	fs_umount(fs);
	fault_dev_free(d);
	free(t);
	free(got);
}

/* The compression property: set, read back, followed by writes on a
 * mount without compression; "no" marks the inode NOCOMPRESS, '' clears
 * it; a value Linux does not know is refused. */
TEST(compress, property_compression)
{
	struct fault_dev *d = fault_dev_new(DEV_BYTES);
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	u8 *t = malloc(TEXT_BYTES);
	struct fs_info *fs;
	struct fs_ino ino;
	struct fs_stat st;
	char v[32];

	text(t, TEXT_BYTES, 7);
	CHECK(d != NULL);
	CHECK_OK(fs_mkfs(fault_dev_blk(d), &o));
	CHECK_OK(fs_mount(fault_dev_blk(d), 0, &fs));
	CHECK_OK(fs_create(fs, "/f", 0644, &ino));
	CHECK_EQ(fs_compress_prop_get(fs, ino, v, sizeof(v)), -ENODATA);
	CHECK_EQ(fs_compress_prop_set(fs, ino, "gzip"), -EINVAL);
	CHECK_OK(fs_compress_prop_set(fs, ino, "lzo"));
	CHECK_OK(fs_compress_prop_get(fs, ino, v, sizeof(v)));
	CHECK_STR(v, "lzo");
	CHECK_OK(fs_stat(fs, ino, &st));
	CHECK_EQ(st.flags, BTRFS_INODE_COMPRESS);
	CHECK_OK(fs_write(fs, ino, 0, t, TEXT_BYTES));
	CHECK_OK(fs_sync(fs));
	CHECK(!find_sector(fault_dev_blk(d), t));
	CHECK(fs->super->incompat_flags & BTRFS_FEATURE_INCOMPAT_COMPRESS_LZO);
	CHECK_OK(fs_compress_prop_set(fs, ino, "no"));
	CHECK_OK(fs_stat(fs, ino, &st));
	CHECK_EQ(st.flags, BTRFS_INODE_NOCOMPRESS);
	CHECK_OK(fs_write(fs, ino, TEXT_BYTES, t, TEXT_BYTES));
	CHECK_OK(fs_compress_prop_set(fs, ino, ""));
	CHECK_EQ(fs_compress_prop_get(fs, ino, v, sizeof(v)), -ENODATA);
	CHECK_OK(fs_stat(fs, ino, &st));
	CHECK_EQ(st.flags, 0);
	CHECK_OK(fs_sync(fs));
	/* Under "no" the text went plain. */
	CHECK(find_sector(fault_dev_blk(d), t));
	fs_umount(fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check_data(d));
	fault_dev_free(d);
	free(t);
}
