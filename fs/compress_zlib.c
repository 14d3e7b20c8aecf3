/*
 * zlib for compressed extents (type 1): one zlib stream per extent, made
 * and read by Debian's zlib (build/codecs/zlib), as Linux's btrfs does:
 * deflate with the zlib header and trailer, window 2^15, memory level 8.
 * The stream's state is allocated with kmalloc for each call.
 */
#define Z_SOLO		/* zlib without its file functions, as built */
#include <zlib.h>

#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "compress.h"

/* zlib's allocator hooks: items * size bytes from kmalloc. */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	if (size && items > (uInt)-1 / size)
		return Z_NULL;
	return kmalloc((size_t)items * size);
}

static void zlib_free(voidpf opaque, voidpf p)
{
	(void)opaque;
	kfree(p);
}

/* Inflate one zlib stream: see compress_decompress. */
int compress_zlib_decompress(const u8 *src, size_t src_len, u8 *dst,
			     size_t dst_len)
{
	z_stream s;
	int zret;

	memset(&s, 0, sizeof(s));
	s.zalloc = zlib_alloc;
	s.zfree = zlib_free;
	if (inflateInit(&s) != Z_OK)
		return -ENOMEM;
	s.next_in = (Bytef *)src;
	s.avail_in = (uInt)src_len;
	s.next_out = dst;
	s.avail_out = (uInt)dst_len;
	zret = inflate(&s, Z_FINISH);
	inflateEnd(&s);
	if (zret == Z_MEM_ERROR)
		return -ENOMEM;
	/* Done when the stream ends or the output is full; zero padding
	 * after the stream's end is the rest of its last sector. */
	if (zret != Z_STREAM_END && s.avail_out != 0)
		return -EUCLEAN;
	memset(s.next_out, 0, s.avail_out);
	return 0;
}

/* Deflate len bytes at level 1-9: see compress_compress. */
int compress_zlib_compress(int level, const u8 *src, size_t len, u8 *dst,
			   size_t *dst_len)
{
	z_stream s;
	int zret;

	memset(&s, 0, sizeof(s));
	s.zalloc = zlib_alloc;
	s.zfree = zlib_free;
	zret = deflateInit2(&s, level, Z_DEFLATED, MAX_WBITS, 8,
			    Z_DEFAULT_STRATEGY);
	if (zret == Z_MEM_ERROR)
		return -ENOMEM;
	if (zret != Z_OK)
		return -EINVAL;
	s.next_in = (Bytef *)src;
	s.avail_in = (uInt)len;
	s.next_out = dst;
	s.avail_out = (uInt)*dst_len;
	zret = deflate(&s, Z_FINISH);
	deflateEnd(&s);
	if (zret != Z_STREAM_END)
		return zret == Z_MEM_ERROR ? -ENOMEM : -E2BIG;
	*dst_len = s.total_out;
	return 0;
}
