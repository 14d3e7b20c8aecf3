/* lib/crc32c and lib/sha256: known vectors, and the two crc32c paths agree. */
#include <string.h>

#include "../../lib/crc32c.h"
#include "../../lib/sha256.h"
#include "test.h"

TEST(crc32c, known_vectors)
{
	static const unsigned char zeros[32];
	unsigned char ones[32], inc[32];
	int i;

	for (i = 0; i < 32; i++) {
		ones[i] = 0xff;
		inc[i] = (unsigned char)i;
	}
	/* RFC 3720 appendix B.4 and the standard check value. */
	CHECK_EQ(~crc32c(~0u, "123456789", 9), 0xE3069283u);
	CHECK_EQ(~crc32c(~0u, zeros, 32), 0x8A9136AAu);
	CHECK_EQ(~crc32c(~0u, ones, 32), 0x62A8AB43u);
	CHECK_EQ(~crc32c(~0u, inc, 32), 0x46DD794Eu);
	CHECK_EQ(~crc32c_sw(~0u, "123456789", 9), 0xE3069283u);
}

TEST(crc32c, hw_and_table_agree)
{
	unsigned char buf[1031];
	size_t off, len;

	for (off = 0; off < sizeof(buf); off++)
		buf[off] = (unsigned char)(off * 131 + 7);
	for (off = 0; off < 9; off++)
		for (len = 0; len + off <= sizeof(buf); len += 97)
			CHECK_EQ(crc32c(0x1234, buf + off, len),
				 crc32c_sw(0x1234, buf + off, len));
	CHECK_EQ(crc32c(5, buf, 0), 5);
}

TEST(crc32c, known_4k_block_continues_a_crc)
{
	static unsigned char block[4096];
	uint32_t seeds[] = { 0, ~0u, 0x1234, 0x80000001u }, std;
	size_t i;

	for (i = 0; i < sizeof(block); i++)
		block[i] = (unsigned char)(i * 131 + 7);
	std = ~crc32c(~0u, block, sizeof(block));
	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		CHECK_EQ(crc32c_4k_known(seeds[i], std),
			 crc32c(seeds[i], block, sizeof(block)));
	/* a different block's CRC gives a different result */
	CHECK(crc32c_4k_known(0x1234, std ^ 1) !=
	      crc32c(0x1234, block, sizeof(block)));
}

TEST(crc32c, btrfs_name_hash)
{
	/* The DIR_ITEM key offset mkfs.btrfs writes for "default" in the
	 * root tree directory. */
	CHECK_EQ(crc32c(~1u, "default", 7), 0x8dbfc2d2u);
}

static void hex(const unsigned char *d, char *out)
{
	static const char x[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = x[d[i] >> 4];
		out[2 * i + 1] = x[d[i] & 15];
	}
	out[64] = 0;
}

TEST(sha256, fips_vectors)
{
	unsigned char d[32];
	char h[65];
	static char million[1000000];
	struct sha256_ctx c;
	size_t i;

	sha256("", 0, d);
	hex(d, h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256("abc", 3, d);
	hex(d, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
	       d);
	hex(d, h);
	CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	memset(million, 'a', sizeof(million));
	sha256_init(&c);
	for (i = 0; i < sizeof(million); i += 777)
		sha256_update(&c, million + i, i + 777 > sizeof(million) ?
			      sizeof(million) - i : 777);
	sha256_final(&c, d);
	hex(d, h);
	CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
