/*
 * lzo for compressed extents (type 2), with Debian's liblzo2
 * (build/codecs/lzo: lzo1x_1_compress, lzo1x_decompress_safe) and
 * Linux's framing around it:
 *
 *   [total: le32][len: le32][lzo1x of sector 0][len: le32][sector 1]...
 *
 * total counts every byte, itself and padding included. Each segment is
 * one sector of input (the last may be shorter) compressed alone. A
 * segment's data may run across a sector boundary but its 4-byte length
 * never does: when a segment ends fewer than 4 bytes before a sector
 * boundary, those bytes are zeros and the next length starts on the
 * boundary (so a reader never needs two sectors for one length).
 */
#include <lzo/lzo1x.h>

#include <string.h>

#include <ghee/alloc.h>
#include <ghee/errno.h>

#include "compress.h"

#define LZO_LEN 4	/* bytes of the total and of each segment length */

/* Bytes lzo1x may make of n bytes at worst (liblzo2's documented bound). */
static size_t lzo_worst(size_t n)
{
	return n + n / 16 + 64 + 3;
}

/* Position of the next segment length at or after pos. */
static size_t next_len_pos(size_t pos, u32 ss)
{
	size_t left = ss - pos % ss;

	return left < LZO_LEN ? pos + left : pos;
}

/* Inflate an lzo-framed extent: see compress_decompress. */
int compress_lzo_decompress(const u8 *src, size_t src_len, u8 *dst,
			    size_t dst_len, u32 ss)
{
	size_t total, pos = LZO_LEN, done = 0;
	u8 *seg_out = kmalloc(ss);
	int ret = 0;

	if (!seg_out)
		return -ENOMEM;
	total = src_len < LZO_LEN ? 0 : get_le32(src);
	if (total < LZO_LEN || total > src_len)
		ret = -EUCLEAN;
	while (ret == 0 && done < dst_len) {
		lzo_uint seg, n = ss;
		/* Straight into dst while a whole sector fits there. */
		u8 *out = dst_len - done >= ss ? dst + done : seg_out;

		pos = next_len_pos(pos, ss);
		if (pos >= total)
			break;
		if (total - pos < LZO_LEN) {
			ret = -EUCLEAN;
			break;
		}
		seg = get_le32(src + pos);
		pos += LZO_LEN;
		if (seg > total - pos || seg > lzo_worst(ss) ||
		    lzo1x_decompress_safe(src + pos, seg, out, &n, NULL) !=
		    LZO_E_OK) {
			ret = -EUCLEAN;
			break;
		}
		if (n > dst_len - done)
			n = dst_len - done;
		if (out == seg_out)
			memcpy(dst + done, seg_out, n);
		done += n;
		pos += seg;
	}
	kfree(seg_out);
	if (ret == 0)
		memset(dst + done, 0, dst_len - done);
	return ret;
}

/* Compress len bytes a sector at a time into lzo framing: see
 * compress_compress. */
int compress_lzo_compress(const u8 *src, size_t len, u8 *dst,
			  size_t *dst_len, u32 ss)
{
	size_t room = *dst_len, pos = LZO_LEN, in = 0;
	u8 *work = kmalloc(LZO1X_1_MEM_COMPRESS);
	u8 *seg_out = kmalloc(lzo_worst(ss));
	int ret = 0;

	if (!work || !seg_out) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (room < LZO_LEN)
		ret = -E2BIG;
	while (ret == 0 && in < len) {
		lzo_uint n = len - in < ss ? len - in : ss, out_len = 0;
		/* Straight into dst while the worst case fits there. */
		u8 *out = room - pos >= LZO_LEN + lzo_worst(n) ?
			  dst + pos + LZO_LEN : seg_out;
		size_t end;

		if (lzo1x_1_compress(src + in, n, out, &out_len, work) !=
		    LZO_E_OK) {
			ret = -EIO;
			break;
		}
		end = next_len_pos(pos + LZO_LEN + out_len, ss);
		if (end > room) {
			ret = -E2BIG;
			break;
		}
		put_le32(dst + pos, (u32)out_len);
		if (out == seg_out)
			memcpy(dst + pos + LZO_LEN, seg_out, out_len);
		memset(dst + pos + LZO_LEN + out_len, 0,
		       end - (pos + LZO_LEN + out_len));
		pos = end;
		in += n;
	}
	if (ret == 0) {
		put_le32(dst, (u32)pos);
		*dst_len = pos;
	}
out_free:
	kfree(work);
	kfree(seg_out);
	return ret;
}
