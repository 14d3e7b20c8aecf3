/*
 * CRC-32C (Castagnoli polynomial 0x1EDC6F41, bit-reflected 0x82F63B78).
 *
 * Two paths compute the same function:
 *  - the SSE4.2 `crc32` instruction, 8 bytes at a time. The kernel is built
 *    without -msse4.2, so the instruction is written as inline assembly (the
 *    assembler accepts it whatever the compiler's target flags) and used only
 *    after CPUID leaf 1 reports SSE4.2 (ECX bit 20);
 *  - tables, sixteen bytes at a time (slice-by-16), for CPUs without SSE4.2.
 * crc32c_4k_known continues a CRC over a 4 KiB block from the block's own
 * CRC (send's stream CRC over data whose checksums a read verified).
 * The CPUID probe result is cached in a static int. Two CPUs probing at once
 * both store the same value, so the race is harmless; the cache is read and
 * written with __atomic builtins so sanitizers agree.
 *
 * lib/ is freestanding: no allocation, no I/O.
 */
#include "crc32c.h"

#define CRC32C_POLY 0x82f63b78u	/* reflected Castagnoli polynomial */

/*
 * Slice-by-16 tables (16 KiB): table[k][i] is the CRC of byte i followed by
 * k zero bytes, so sixteen table lookups fold in sixteen bytes at once. It
 * matters under emulation, where QEMU's default CPU has no SSE4.2 and every
 * data read's sectors are checked here: eight bytes a lookup round is about
 * three times the speed of one, and sixteen about 10% faster again under
 * TCG (fewer loop turns; more than 256 entries a table is slower there, as
 * TCG's emulated TLB misses). Built once, on first use: table_state
 * goes 0 (empty) -> 1 (one caller building) -> 2 (ready); other callers wait.
 */
static uint32_t table[16][256];
/* zeros4k[k][b]: byte b at byte k of a CRC, carried over 4096 zero bytes
 * (crc32c_4k_known). */
static uint32_t zeros4k[4][256];
static int table_state;

static void build_tables(void)
{
	uint32_t i, k, c;

	for (i = 0; i < 256; i++) {
		c = i;
		for (k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32C_POLY : c >> 1;
		table[0][i] = c;
	}
	for (k = 1; k < 16; k++)
		for (i = 0; i < 256; i++)
			table[k][i] = (table[k - 1][i] >> 8) ^
				      table[0][table[k - 1][i] & 0xff];
	/* Each of the 32 bits carried over 4096 zero bytes, sixteen a step
	 * (the slice-by-16 step with no data: a few thousand lookups, not
	 * a hundred thousand, as every boot builds them); a byte's entry is
	 * the sum of its bits' (the carry is linear). */
	for (k = 0; k < 32; k++) {
		c = 1u << k;
		for (i = 0; i < 4096 / 16; i++)
			c = table[15][c & 0xff] ^ table[14][(c >> 8) & 0xff] ^
			    table[13][(c >> 16) & 0xff] ^ table[12][c >> 24];
		for (i = 0; i < 256; i++)
			if (i & (1u << (k % 8)))
				zeros4k[k / 8][i] ^= c;
	}
}

static void tables_ready(void)
{
	int expect = 0;

	if (__atomic_load_n(&table_state, __ATOMIC_ACQUIRE) == 2)
		return;
	if (__atomic_compare_exchange_n(&table_state, &expect, 1, 0,
					__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		build_tables();
		__atomic_store_n(&table_state, 2, __ATOMIC_RELEASE);
		return;
	}
	while (__atomic_load_n(&table_state, __ATOMIC_ACQUIRE) != 2)
		;
}

uint32_t crc32c_sw(uint32_t seed, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint32_t crc = seed;

	tables_ready();
	for (; len >= 16; p += 16, len -= 16) {
		uint64_t a, b;

		__builtin_memcpy(&a, p, 8);	/* little-endian loads */
		__builtin_memcpy(&b, p + 8, 8);
		a ^= crc;
		crc = table[15][a & 0xff] ^ table[14][(a >> 8) & 0xff] ^
		      table[13][(a >> 16) & 0xff] ^ table[12][(a >> 24) & 0xff] ^
		      table[11][(a >> 32) & 0xff] ^ table[10][(a >> 40) & 0xff] ^
		      table[9][(a >> 48) & 0xff] ^ table[8][a >> 56] ^
		      table[7][b & 0xff] ^ table[6][(b >> 8) & 0xff] ^
		      table[5][(b >> 16) & 0xff] ^ table[4][(b >> 24) & 0xff] ^
		      table[3][(b >> 32) & 0xff] ^ table[2][(b >> 40) & 0xff] ^
		      table[1][(b >> 48) & 0xff] ^ table[0][b >> 56];
	}
	while (len--)
		crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

/* crc32c(seed, D) = carry(seed) ^ crc32c(0, D) for the 4096 bytes D, and
 * block_crc = ~crc32c(~0u, D) = ~(carry(~0u) ^ crc32c(0, D)): so
 * crc32c(seed, D) = carry(~seed) ^ ~block_crc. */
uint32_t crc32c_4k_known(uint32_t seed, uint32_t block_crc)
{
	uint32_t x = ~seed;

	tables_ready();
	return zeros4k[0][x & 0xff] ^ zeros4k[1][(x >> 8) & 0xff] ^
	       zeros4k[2][(x >> 16) & 0xff] ^ zeros4k[3][x >> 24] ^ ~block_crc;
}

#if defined(__x86_64__)

/* 0: not probed yet, 1: no SSE4.2, 2: SSE4.2 present. */
static int crc32c_hw_state;

static int probe_sse42(void)
{
	uint32_t eax = 1, ebx, ecx = 0, edx;

	__asm__ volatile("cpuid"
			 : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
	return (ecx >> 20) & 1;
}

int crc32c_has_hw(void)
{
	int st = __atomic_load_n(&crc32c_hw_state, __ATOMIC_RELAXED);

	if (st == 0) {
		st = probe_sse42() ? 2 : 1;
		__atomic_store_n(&crc32c_hw_state, st, __ATOMIC_RELAXED);
	}
	return st == 2;
}

/* The instruction path; only called after crc32c_has_hw() said yes. */
static uint32_t crc32c_hw(uint32_t seed, const uint8_t *p, size_t len)
{
	uint64_t crc = seed;

	while (len && ((uintptr_t)p & 7)) {
		__asm__("crc32b %1, %k0" : "+r"(crc) : "rm"(*p));
		p++;
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		__builtin_memcpy(&v, p, 8);
		__asm__("crc32q %1, %0" : "+r"(crc) : "rm"(v));
		p += 8;
		len -= 8;
	}
	while (len--) {
		__asm__("crc32b %1, %k0" : "+r"(crc) : "rm"(*p));
		p++;
	}
	return (uint32_t)crc;
}

uint32_t crc32c(uint32_t seed, const void *data, size_t len)
{
	if (crc32c_has_hw())
		return crc32c_hw(seed, data, len);
	return crc32c_sw(seed, data, len);
}

#else

int crc32c_has_hw(void)
{
	return 0;
}

uint32_t crc32c(uint32_t seed, const void *data, size_t len)
{
	return crc32c_sw(seed, data, len);
}

#endif
