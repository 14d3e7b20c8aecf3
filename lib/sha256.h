/*
 * SHA-256 (FIPS 180-4), for the shell's sha256sum, btrfs's sha256 checksum
 * type and tests: Debian's libmd (its sha2.c, compiled by lib/libmd_sha2.c)
 * under the small interface ghee uses. Freestanding: no allocation, no I/O.
 */
#ifndef LIB_SHA256_H
#define LIB_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include <sha2.h>

#define SHA256_DIGEST_SIZE 32

/* Running state of one digest (libmd's). */
struct sha256_ctx {
	SHA2_CTX md;
};

void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE]);
/* One-shot digest of a buffer. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

#endif
