/*
 * zstd for compressed extents (type 3): one zstd frame per extent, made
 * and read by Debian's libzstd (build/codecs/zstd). Linux writes frames
 * whose window is at most 2^17 bytes and refuses larger ones when it
 * reads; ghee does both the same, which also bounds the decoder's memory
 * on a corrupt or hostile frame. Levels 1-15, as Linux offers.
 * Contexts are allocated with kmalloc for each call.
 */
#define ZSTD_STATIC_LINKING_ONLY	/* ZSTD_customMem */
#include <zstd.h>
#include <zstd_errors.h>

#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "compress.h"

#define ZSTD_BTRFS_WINDOW_LOG 17	/* Linux's largest window: 128 KiB */

static void *zstd_alloc(void *opaque, size_t size)
{
	(void)opaque;
	return kmalloc(size);
}

static void zstd_free(void *opaque, void *p)
{
	(void)opaque;
	kfree(p);
}

static const ZSTD_customMem zstd_mem = { zstd_alloc, zstd_free, NULL };

/* Map a zstd error code to an errno, with fallback for the rest. */
static int zstd_errno(size_t code, int fallback)
{
	if (ZSTD_getErrorCode(code) == ZSTD_error_memory_allocation)
		return -ENOMEM;
	return fallback;
}

/*
 * Inflate the frame at the start of src: see compress_decompress. The
 * frame is streamed into dst, so output past dst_len is cut off and the
 * zero padding after the frame is never looked at.
 */
int compress_zstd_decompress(const u8 *src, size_t src_len, u8 *dst,
			     size_t dst_len)
{
	ZSTD_DCtx *d = ZSTD_createDCtx_advanced(zstd_mem);
	ZSTD_inBuffer in = { src, src_len, 0 };
	ZSTD_outBuffer out = { dst, dst_len, 0 };
	size_t r;
	int ret = 0;

	if (!d)
		return -ENOMEM;
	r = ZSTD_DCtx_setParameter(d, ZSTD_d_windowLogMax,
				   ZSTD_BTRFS_WINDOW_LOG);
	while (!ZSTD_isError(r)) {
		r = ZSTD_decompressStream(d, &out, &in);
		if (ZSTD_isError(r) || r == 0 || out.pos == out.size)
			break;
		if (in.pos == in.size) {
			ret = -EUCLEAN;	/* the frame is cut short */
			break;
		}
	}
	if (ZSTD_isError(r))
		ret = zstd_errno(r, -EUCLEAN);
	ZSTD_freeDCtx(d);
	if (ret == 0)
		memset(dst + out.pos, 0, dst_len - out.pos);
	return ret;
}

/* Compress len bytes into one frame at level 1-15: see compress_compress. */
int compress_zstd_compress(int level, const u8 *src, size_t len, u8 *dst,
			   size_t *dst_len)
{
	ZSTD_CCtx *c = ZSTD_createCCtx_advanced(zstd_mem);
	size_t r;
	int ret = 0;

	if (!c)
		return -ENOMEM;
	r = ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, level);
	if (!ZSTD_isError(r))
		r = ZSTD_CCtx_setParameter(c, ZSTD_c_windowLog,
					   ZSTD_BTRFS_WINDOW_LOG);
	if (ZSTD_isError(r)) {
		ret = -EINVAL;
		goto out_free;
	}
	r = ZSTD_compress2(c, dst, *dst_len, src, len);
	if (ZSTD_isError(r))
		ret = zstd_errno(r, ZSTD_getErrorCode(r) ==
				 ZSTD_error_dstSize_tooSmall ? -E2BIG : -EIO);
	else
		*dst_len = r;
out_free:
	ZSTD_freeCCtx(c);
	return ret;
}
