/*
 * libFuzzer target: one decompression path of compressed extents
 * (fs/compress*.c with the codec libraries), built once per codec with
 * -DFUZZ_TYPE=1 (zlib), 2 (lzo) or 3 (zstd).
 *
 * An input is a little-endian u16, the output size in units of 4 bytes
 * (capped at the 128 KiB an extent holds: the ram_bytes of a regular or
 * inline extent), then the compressed bytes as they would sit on disk.
 * Any crash, sanitizer report, leak, or a result other than 0, -EUCLEAN
 * or -ENOMEM is a bug.
 *
 * With FUZZ_SEED_DIR set in the environment the binary writes seed
 * inputs there instead (text-like and mixed data compressed by the same
 * library at a few levels and sizes) and exits, so the fuzzer starts
 * from valid streams. tests/host/fuzz.sh builds and runs it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>

#include "../../fs/compress.h"

#ifndef FUZZ_TYPE
#error "build with -DFUZZ_TYPE=1 (zlib), 2 (lzo) or 3 (zstd)"
#endif

#define SS 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t out_len;
	uint8_t *out;
	int ret;

	if (size < 2)
		return 0;
	out_len = ((size_t)data[0] | (size_t)data[1] << 8) * 4;
	if (out_len > COMPRESS_MAX_RAM)
		out_len = COMPRESS_MAX_RAM;
	out = malloc(out_len ? out_len : 1);
	ret = compress_decompress(FUZZ_TYPE, data + 2, size - 2, out, out_len,
				  SS);
	if (ret != 0 && ret != -EUCLEAN && ret != -ENOMEM)
		abort();
	free(out);
	return 0;
}

/* Write one seed: the size header, then len bytes of in compressed. */
static void write_seed(const char *dir, int n, const uint8_t *in,
		       size_t len, int level)
{
	uint8_t *buf = malloc(2 + COMPRESS_MAX_RAM);
	size_t clen = COMPRESS_MAX_RAM;
	char path[512];
	FILE *f;

	if (compress_compress(FUZZ_TYPE, level, in, len, buf + 2, &clen,
			      SS) == 0) {
		buf[0] = (uint8_t)(len / 4);
		buf[1] = (uint8_t)(len / 4 >> 8);
		snprintf(path, sizeof(path), "%s/seed-%d", dir, n);
		f = fopen(path, "wb");
		if (!f || fwrite(buf, 1, 2 + clen, f) != 2 + clen) {
			perror(path);
			exit(1);
		}
		fclose(f);
	}
	free(buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const size_t lens[] = { 100, 3000, SS * 3, COMPRESS_MAX_RAM };
	const char *dir = getenv("FUZZ_SEED_DIR");
	uint8_t *in;
	size_t i, j;
	int n = 0;

	(void)argc;
	(void)argv;
	if (!dir)
		return 0;
	in = malloc(COMPRESS_MAX_RAM);
	srand(1);
	for (i = 0; i < COMPRESS_MAX_RAM; i++)	/* text, then noise */
		in[i] = i < COMPRESS_MAX_RAM / 2 ?
			(uint8_t)("extent btrfs ghee sector\n"[rand() % 25]) :
			(uint8_t)rand();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
		for (j = 1; j <= 9; j += 8)
			write_seed(dir, n++, in, lens[i], FUZZ_TYPE ==
				   BTRFS_COMPRESS_LZO ? 0 : (int)j);
	free(in);
	exit(0);
}
