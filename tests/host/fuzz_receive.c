/*
 * libFuzzer target: receive --dump and receive of a send stream into a
 * fresh image (fs/receive*.c).
 *
 * The input is the stream itself. At start a template image is made in
 * RAM (fault_dev, sparse pages): mkfs, then every stream named in the
 * environment variable FUZZ_RECEIVE_BASE (colon-separated files) received
 * into it, so that incremental seeds find their parent and clone sources
 * and reach the commands after SNAPSHOT. Each input is dumped, then
 * received into a copy of the template with btrfs receive's defaults (one
 * error stops it); the filesystem is synced and ghee's fsck must find it
 * clean. A crash, sanitizer report, leak, hang or an unclean fsck is a
 * bug: a damaged stream must only ever produce errors.
 *
 * Built with -DFUZZ_RECEIVE_DUMP the target only dumps (receive --dump,
 * many times faster: no image), and needs no template.
 *
 * Built by tests/host/fuzz.sh (clang, -fsanitize=fuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/errno.h>
#include <ghee/log.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"

#define FUZZ_IMAGE_SIZE (256ULL << 20)

#ifdef FUZZ_RECEIVE_DUMP
#define DUMP_ONLY 1
#else
#define DUMP_ONLY 0
#endif

/* A stream being read from memory. */
struct src {
	const uint8_t *data;
	size_t size, pos;
};

static long read_mem(void *ctx, void *buf, size_t len)
{
	struct src *s = ctx;

	if (len > s->size - s->pos)
		len = s->size - s->pos;
	memcpy(buf, s->data + s->pos, len);
	s->pos += len;
	return (long)len;
}

static void quiet(void *ctx, enum fs_receive_say kind, const char *msg,
		  int err)
{
	(void)ctx, (void)kind, (void)msg, (void)err;
}

static struct fault_dev *template;

/* Receive data into fs; 0 or the error. */
static int receive(struct fs_info *fs, const uint8_t *data, size_t size)
{
	struct src s = { data, size, 0 };
	struct fs_receive_args a = {
		.dir = "", .shown_dir = "/", .read = read_mem, .read_ctx = &s,
		.max_errors = 1, .say = quiet,
	};

	return fs_receive(fs, &a);
}

/* Receive the file at path into fs (for the template); exits on error. */
static void receive_file(struct fs_info *fs, const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(64 << 20);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "fuzz_receive: cannot read %s\n", path);
		exit(1);
	}
	n = fread(buf, 1, 64 << 20, f);
	fclose(f);
	if (receive(fs, buf, n)) {
		fprintf(stderr, "fuzz_receive: receiving %s failed\n", path);
		exit(1);
	}
	free(buf);
}

/* Make the template (see the top); exits on error. */
static void make_template(void)
{
	const char *base = getenv("FUZZ_RECEIVE_BASE");
	char *list, *p, *save = NULL;
	struct fs_info *fs;

	template = fault_dev_new(FUZZ_IMAGE_SIZE);
	if (!template ||
	    fs_mkfs(fault_dev_blk(template), &(struct fs_mkfs_opts){ 0 }) ||
	    fs_mount(fault_dev_blk(template), 0, &fs)) {
		fprintf(stderr, "fuzz_receive: cannot make the template\n");
		exit(1);
	}
	list = strdup(base ? base : "");
	for (p = strtok_r(list, ":", &save); p; p = strtok_r(NULL, ":", &save))
		receive_file(fs, p);
	free(list);
	fs_umount(fs);
}

/* Receive data into a copy of the template; it must stay clean. */
static void receive_checked(const uint8_t *data, size_t size)
{
	struct fs_check_report rep;
	struct fault_dev *dev;
	struct fs_info *fs;

	dev = fault_dev_clone(template);
	if (!dev || fs_mount(fault_dev_blk(dev), 0, &fs))
		abort();	/* the template mounted before */
	receive(fs, data, size);
	if (fs_sync(fs) == 0 && fs_check(fs, &rep) == -EUCLEAN)
		abort();	/* receive left the filesystem damaged */
	fs_umount(fs);
	fault_dev_free(dev);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERR);
	if (!DUMP_ONLY)
		make_template();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = { data, size, 0 };
	struct fs_receive_args dump = {
		.read = read_mem, .read_ctx = &s, .say = quiet,
	};

	fs_receive_dump(&dump);
	if (!DUMP_ONLY)
		receive_checked(data, size);
	return 0;
}
