/*
 * SHA-256 (FIPS 180-4), for the shell's sha256sum and tests. Freestanding:
 * no allocation, no I/O.
 */
#ifndef LIB_SHA256_H
#define LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_BLOCK_SIZE 64

/* Running state of one digest. */
struct sha256_ctx {
	uint32_t h[8];			/* chaining value */
	uint64_t bytes;			/* message bytes so far */
	uint8_t buf[SHA256_BLOCK_SIZE];	/* partial block */
	uint32_t buf_len;		/* bytes in buf */
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE]);
/* One-shot digest of a buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

#endif
