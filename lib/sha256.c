/*
 * SHA-256 through Debian's libmd (see sha256.h): ghee's names for
 * SHA256Init, SHA256Update and SHA256Final.
 */
#include "sha256.h"

void sha256_init(struct sha256_ctx *c)
{
	SHA256Init(&c->md);
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
	SHA256Update(&c->md, data, len);
}

void sha256_final(struct sha256_ctx *c, uint8_t out[SHA256_DIGEST_SIZE])
{
	SHA256Final(out, &c->md);
}

void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;

	sha256_init(&c);
	sha256_update(&c, data, len);
	sha256_final(&c, out);
}
