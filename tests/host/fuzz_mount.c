/*
 * libFuzzer target: mount + walk + read of an in-memory btrfs image.
 *
 * The input is a sparse image with checksums repaired on read
 * (tests/host/fuzz_image.h).
 *
 * Each input is mounted; on success every directory is walked (bounded
 * entries and depth), every file read (bounded bytes), links read, and
 * subvolume list and df run. Any crash, sanitizer report, leak or hang is a bug:
 * bad input must only ever produce errors.
 *
 * Built by tests/host/fuzz.sh (clang, -fsanitize=fuzzer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/log.h>

#include "../../fs/fs.h"
#include "fuzz_image.h"

#define FUZZ_MAX_ENTRIES 2000		/* directory entries walked */
#define FUZZ_MAX_DEPTH 16
#define FUZZ_MAX_READ (1u << 20)	/* bytes read per file */

struct walk_ctx {
	struct fs_info *fs;
	int entries;
	int depth;
	char *buf;
};

static int visit(void *ctx, const char *name, size_t len, struct fs_ino ino,
		 unsigned type)
{
	struct walk_ctx *w = ctx;
	size_t done;

	(void)name;
	(void)len;
	if (++w->entries > FUZZ_MAX_ENTRIES)
		return 1;
	if (type == 2 && w->depth < FUZZ_MAX_DEPTH) {
		w->depth++;
		/* Errors are expected on damaged images: only crashes count. */
		(void)fs_readdir(w->fs, ino, visit, w);
		w->depth--;
	} else if (type == 1) {
		(void)fs_read(w->fs, ino, 0, w->buf, FUZZ_MAX_READ, &done);
		(void)fs_read(w->fs, ino, 4095, w->buf, 8193, &done);
	} else if (type == 7) {
		(void)fs_readlink(w->fs, ino, w->buf, 4096, &done);
	}
	return 0;
}

static int subvol_cb(void *ctx, const struct fs_subvol *sv)
{
	(void)ctx;
	(void)sv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_image im;
	struct fs_info *fs;
	struct walk_ctx w;
	struct fs_ino root;
	struct fs_df df;

	log_set_level(LOG_ERR);
	fuzz_image_ro(&im, data, size);
	if (fs_mount(&im.dev, FS_MOUNT_RO, &fs))
		return 0;
	w.fs = fs;
	w.entries = 0;
	w.depth = 0;
	w.buf = malloc(FUZZ_MAX_READ);
	if (w.buf && fs_lookup(fs, "/", 0, &root) == 0)
		(void)fs_readdir(fs, root, visit, &w);
	(void)fs_subvol_list(fs, subvol_cb, NULL);
	(void)fs_df(fs, &df);
	free(w.buf);
	fs_umount(fs);
	return 0;
}
