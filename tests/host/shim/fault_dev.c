/*
 * The fault block device (see fault_dev.h). Contents are kept in 4 KiB
 * pages allocated on first write (unwritten pages read as zeros), twice:
 * `cur` is what reads see, `durable` what the last flush made durable.
 * Writes since that flush are also kept, in order, with their data, so
 * that a power cut can replay all of them (FAULT_CUT) or a random subset
 * (FAULT_REORDER) over `durable`, and (FAULT_TORN) some pages of the
 * write the cut interrupted.
 *
 * Single-threaded use only (the crash tests drive one filesystem).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault_dev.h"

#define PAGE 4096u

/* One write since the last flush. */
struct pending {
	uint64_t off;
	size_t len;
	uint8_t *data;
};

struct fault_dev {
	struct blkdev dev;
	uint64_t npages;
	uint8_t **cur;		/* what reads see; NULL pages are zeros */
	uint8_t **durable;	/* as of the last flush */
	struct pending *pend;	/* writes since the last flush, in order */
	size_t npend, cap;
	uint64_t writes;	/* since made or armed */
	uint64_t cut_at;	/* 0: never */
	enum fault_mode mode;
	uint64_t rng;		/* FAULT_REORDER choices */
	struct fault_dev *crash;	/* the image at the cut */
};

static void copy_in(uint8_t **pages, uint64_t off, const void *buf,
		    size_t len)
{
	const uint8_t *src = buf;

	while (len) {
		uint64_t i = off / PAGE;
		size_t in = off % PAGE, n = PAGE - in < len ? PAGE - in : len;

		if (!pages[i])
			pages[i] = calloc(1, PAGE);	/* tests: abort on NULL */
		memcpy(pages[i] + in, src, n);
		src += n;
		off += n;
		len -= n;
	}
}

static int fd_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct fault_dev *f = d->priv;
	uint8_t *dst = buf;

	while (len) {
		uint64_t i = off / PAGE;
		size_t in = off % PAGE, n = PAGE - in < len ? PAGE - in : len;

		if (f->cur[i])
			memcpy(dst, f->cur[i] + in, n);
		else
			memset(dst, 0, n);
		dst += n;
		off += n;
		len -= n;
	}
	return 0;
}

static void drop_pending(struct fault_dev *f)
{
	size_t i;

	for (i = 0; i < f->npend; i++)
		free(f->pend[i].data);
	f->npend = 0;
}

static uint64_t next_rand(struct fault_dev *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static void copy_pages(uint8_t **dst, uint8_t *const *src, uint64_t n)
{
	uint64_t i;

	for (i = 0; i < n; i++) {
		if (!src[i])
			continue;
		dst[i] = malloc(PAGE);
		memcpy(dst[i], src[i], PAGE);
	}
}

/* FAULT_TORN: each 4 KiB page of the interrupted write (off, buf, len)
 * lands on c or not, at random; of a multi-page write, never all. */
static void tear(struct fault_dev *f, struct fault_dev *c, uint64_t off,
		 const uint8_t *buf, size_t len)
{
	size_t npages = (len + PAGE - 1) / PAGE, i, n;
	size_t lost = npages > 1 ? next_rand(f) % npages : npages;

	for (i = 0; i < npages; i++) {
		n = len - i * PAGE < PAGE ? len - i * PAGE : PAGE;
		if (i != lost && (next_rand(f) & 1))
			copy_in(c->cur, off + i * PAGE, buf + i * PAGE, n);
	}
}

/* The power goes during the write (off, buf, len), or between writes
 * (buf NULL): keep what survives in f->crash. */
static void cut_power(struct fault_dev *f, uint64_t off, const void *buf,
		      size_t len)
{
	struct fault_dev *c = fault_dev_new(f->dev.size);
	size_t i;

	if (!c)
		abort();
	copy_pages(c->cur, f->durable, f->npages);
	for (i = 0; i < f->npend; i++)
		if (f->mode != FAULT_REORDER || (next_rand(f) & 1))
			copy_in(c->cur, f->pend[i].off, f->pend[i].data,
				f->pend[i].len);
	if (f->mode == FAULT_TORN && buf)
		tear(f, c, off, buf, len);
	f->crash = c;
}

static int fd_write(struct blkdev *d, uint64_t off, const void *buf,
		    size_t len)
{
	struct fault_dev *f = d->priv;
	struct pending *p;

	if (f->crash)
		return -EIO;
	if (f->cut_at && f->writes >= f->cut_at) {
		cut_power(f, off, buf, len);
		return -EIO;
	}
	f->writes++;
	copy_in(f->cur, off, buf, len);
	if (f->npend == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 64;
		f->pend = realloc(f->pend, f->cap * sizeof(*f->pend));
	}
	p = &f->pend[f->npend++];
	p->off = off;
	p->len = len;
	p->data = malloc(len);
	memcpy(p->data, buf, len);
	return 0;
}

static int fd_flush(struct blkdev *d)
{
	struct fault_dev *f = d->priv;
	size_t i;

	if (f->crash)
		return -EIO;
	for (i = 0; i < f->npend; i++)
		copy_in(f->durable, f->pend[i].off, f->pend[i].data,
			f->pend[i].len);
	drop_pending(f);
	return 0;
}

static const struct blkdev_ops fault_ops = {
	.read = fd_read,
	.write = fd_write,
	.flush = fd_flush,
};

struct fault_dev *fault_dev_new(uint64_t size)
{
	struct fault_dev *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->npages = size / PAGE;
	f->cur = calloc(f->npages, sizeof(*f->cur));
	f->durable = calloc(f->npages, sizeof(*f->durable));
	if (!f->cur || !f->durable) {
		fault_dev_free(f);
		return NULL;
	}
	memcpy(f->dev.name, "fault", 6);
	f->dev.size = f->npages * PAGE;
	f->dev.block_size = 512;
	f->dev.features = BLK_FEAT_FLUSH;
	f->dev.nr_queues = 1;
	f->dev.queue_depth = 1;
	f->dev.ops = &fault_ops;
	f->dev.priv = f;
	return f;
}

struct fault_dev *fault_dev_clone(const struct fault_dev *f)
{
	struct fault_dev *c = fault_dev_new(f->dev.size);

	if (!c)
		return NULL;
	copy_pages(c->cur, f->cur, f->npages);
	copy_pages(c->durable, f->cur, f->npages);
	return c;
}

static void free_pages(uint8_t **pages, uint64_t n)
{
	uint64_t i;

	for (i = 0; pages && i < n; i++)
		free(pages[i]);
	free(pages);
}

void fault_dev_free(struct fault_dev *f)
{
	if (!f)
		return;
	drop_pending(f);
	free(f->pend);
	free_pages(f->cur, f->npages);
	free_pages(f->durable, f->npages);
	fault_dev_free(f->crash);
	free(f);
}

struct blkdev *fault_dev_blk(struct fault_dev *f)
{
	return &f->dev;
}

void fault_dev_arm(struct fault_dev *f, uint64_t cut_at,
		   enum fault_mode mode, uint64_t seed)
{
	f->writes = 0;
	f->cut_at = cut_at;
	f->mode = mode;
	f->rng = seed * 0x9E3779B97F4A7C15ull + 1;
}

uint64_t fault_dev_writes(const struct fault_dev *f)
{
	return f->writes;
}

int fault_dev_is_cut(const struct fault_dev *f)
{
	return f->crash != NULL;
}

struct fault_dev *fault_dev_crash_image(struct fault_dev *f)
{
	struct fault_dev *c;

	if (!f->crash)
		cut_power(f, 0, NULL, 0);
	c = fault_dev_clone(f->crash);
	return c;
}

int fault_dev_save(const struct fault_dev *f, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	uint64_t i;
	int ret = 0;

	if (fd < 0)
		return -errno;
	for (i = 0; i < f->npages && ret == 0; i++)
		if (f->cur[i] && pwrite(fd, f->cur[i], PAGE,
					(off_t)(i * PAGE)) != PAGE)
			ret = -EIO;
	if (ret == 0 && ftruncate(fd, (off_t)f->dev.size))
		ret = -errno;
	close(fd);
	return ret;
}

/* `btrfs check OPTS path`. */
static enum btrfs_check_result check_file(const char *opts, const char *path)
{
	char cmd[512];

	if (system("command -v btrfs >/dev/null 2>&1"))
		return BTRFS_CHECK_MISSING;
	snprintf(cmd, sizeof(cmd), "btrfs check %s '%s' >/dev/null 2>&1",
		 opts, path);
	return system(cmd) == 0 ? BTRFS_CHECK_CLEAN : BTRFS_CHECK_ERRORS;
}

enum btrfs_check_result btrfs_check_file(const char *path)
{
	return check_file("", path);
}

static enum btrfs_check_result btrfs_check_data_file(const char *path)
{
	return check_file("--check-data-csum", path);
}

/*
 * btrfs-progs 6.2 prints "Counts for qgroup id: L/N are different" for
 * each qgroup whose counts on disk are not those it counted (the other
 * groups too with --qgroup-report, without that suffix), and its exit
 * status alone does not say so.
 */
enum btrfs_check_result btrfs_check_qgroups_file(const char *path)
{
	char cmd[600];
	int st;

	if (system("command -v btrfs >/dev/null 2>&1"))
		return BTRFS_CHECK_MISSING;
	snprintf(cmd, sizeof(cmd), "btrfs check --qgroup-report '%s' "
		 ">'%s.qgroups' 2>&1", path, path);
	st = system(cmd);
	snprintf(cmd, sizeof(cmd), "grep -q 'are different' '%s.qgroups'",
		 path);
	if (st == 0 && system(cmd) != 0) {
		snprintf(cmd, sizeof(cmd), "%s.qgroups", path);
		unlink(cmd);
		return BTRFS_CHECK_CLEAN;
	}
	printf("# btrfs check --qgroup-report: see %s.qgroups\n", path);
	return BTRFS_CHECK_ERRORS;
}

/* Save f to a temporary image and run check on it; the image stays when
 * check finds errors. */
static enum btrfs_check_result check_saved(const struct fault_dev *f,
					   enum btrfs_check_result
					   (*check)(const char *path))
{
	char path[] = "/tmp/ghee-check-XXXXXX";
	enum btrfs_check_result ret;
	int fd;

	fd = mkstemp(path);
	if (fd < 0)
		return BTRFS_CHECK_NO_IMAGE;
	close(fd);
	ret = fault_dev_save(f, path) ? BTRFS_CHECK_NO_IMAGE : check(path);
	if (ret == BTRFS_CHECK_ERRORS)
		printf("# btrfs check failed; image kept at %s\n", path);
	else
		unlink(path);
	return ret;
}

enum btrfs_check_result fault_dev_btrfs_check(const struct fault_dev *f)
{
	return check_saved(f, btrfs_check_file);
}

enum btrfs_check_result fault_dev_btrfs_check_data(const struct fault_dev *f)
{
	return check_saved(f, btrfs_check_data_file);
}

enum btrfs_check_result fault_dev_btrfs_check_qgroups(
	const struct fault_dev *f)
{
	return check_saved(f, btrfs_check_qgroups_file);
}
