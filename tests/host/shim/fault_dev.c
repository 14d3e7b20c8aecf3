/*
 * The fault block device (see fault_dev.h). Contents are kept in 4 KiB
 * pages allocated on first write (unwritten pages read as zeros), twice:
 * `cur` is what reads see, `durable` what the last flush made durable.
 * Writes since that flush are also kept, in order, with their data, so
 * that a power cut can replay all of them (FAULT_CUT) or a random subset
 * (FAULT_REORDER) over `durable`, and (FAULT_TORN) some pages of the
 * write the cut interrupted.
 *
 * Injected errors are one rule at a time (err_*): by the index of an I/O
 * among those of its kinds since the rule was set, or by the byte range
 * an I/O touches. Every read, write and flush is counted (ios[]) whether
 * it fails or not, so a test can learn a workload's I/O count from a run
 * without errors and then try every index in it.
 *
 * f->lock makes each I/O and each change of the rule whole: the
 * filesystem's commit and cleaner tasks do I/O beside the test's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fault_dev.h"

#define PAGE 4096u
#define POISON 0xA5	/* what a failed read leaves in its buffer */

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
	pthread_mutex_t lock;	/* makes each I/O and rule change whole */
	unsigned err_ops;	/* FAULT_IO_* the rule fails; 0: no rule */
	uint64_t err_nth;	/* fail the err_nth-th (0: by range) */
	uint64_t err_seen;	/* I/Os of err_ops since the rule was set */
	uint64_t err_off, err_len;	/* the range a by-range rule fails */
	int err_persistent;	/* 0: the rule ends at its first error */
	uint64_t errors;	/* errors injected since made */
	uint64_t ios[3];	/* reads, writes, flushes since made */
	uint64_t hold_off, hold_len;	/* reads touching it wait (0: none) */
	uint64_t held;		/* reads waiting now */
	pthread_cond_t released;	/* the hold ended */
};

/* Called before each read this thread issues looks at the contents
 * (fault_dev_on_read). */
static __thread void (*read_hook)(uint64_t off, size_t len, void *arg);
static __thread void *read_hook_arg;

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

/* Count an I/O of kind (one FAULT_IO_* bit) touching [off, off + len)
 * and say whether the rule fails it. Caller holds f->lock. */
static int inject(struct fault_dev *f, unsigned kind, uint64_t off,
		  uint64_t len)
{
	int hit;

	/* atomic: fault_dev_ios() and _errors() read them unlocked */
	__atomic_add_fetch(&f->ios[__builtin_ctz(kind)], 1, __ATOMIC_RELAXED);
	if (!(f->err_ops & kind))
		return 0;
	if (f->err_nth)
		hit = ++f->err_seen == f->err_nth ||
		      (f->err_persistent && f->err_seen > f->err_nth);
	else
		hit = kind == FAULT_IO_FLUSH ||
		      (off < f->err_off + f->err_len && f->err_off < off + len);
	if (!hit)
		return 0;
	if (!f->err_persistent)
		f->err_ops = 0;
	__atomic_add_fetch(&f->errors, 1, __ATOMIC_RELAXED);
	return 1;
}

static void read_pages(struct fault_dev *f, uint64_t off, uint8_t *dst,
		       size_t len)
{
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
}

static int fd_read(struct blkdev *d, uint64_t off, void *buf, size_t len)
{
	struct fault_dev *f = d->priv;
	int ret = 0;

	if (read_hook)
		read_hook(off, len, read_hook_arg);
	pthread_mutex_lock(&f->lock);
	while (f->hold_len && off < f->hold_off + f->hold_len &&
	       f->hold_off < off + len) {
		__atomic_add_fetch(&f->held, 1, __ATOMIC_RELAXED);
		pthread_cond_wait(&f->released, &f->lock);
		__atomic_sub_fetch(&f->held, 1, __ATOMIC_RELAXED);
	}
	if (inject(f, FAULT_IO_READ, off, len)) {
		memset(buf, POISON, len);
		ret = -EIO;
	} else {
		read_pages(f, off, buf, len);
	}
	pthread_mutex_unlock(&f->lock);
	return ret;
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

/* A write that lands (neither cut nor failed). Caller holds f->lock. */
static void land(struct fault_dev *f, uint64_t off, const void *buf,
		 size_t len)
{
	struct pending *p;

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
}

static int fd_write(struct blkdev *d, uint64_t off, const void *buf,
		    size_t len)
{
	struct fault_dev *f = d->priv;
	int ret = -EIO;

	pthread_mutex_lock(&f->lock);
	if (f->crash)
		goto out_unlock;
	if (f->cut_at && f->writes >= f->cut_at) {
		cut_power(f, off, buf, len);
		goto out_unlock;
	}
	if (inject(f, FAULT_IO_WRITE, off, len))
		goto out_unlock;
	land(f, off, buf, len);
	ret = 0;
out_unlock:
	pthread_mutex_unlock(&f->lock);
	return ret;
}

static int fd_flush(struct blkdev *d)
{
	struct fault_dev *f = d->priv;
	int ret = -EIO;
	size_t i;

	pthread_mutex_lock(&f->lock);
	if (f->crash || inject(f, FAULT_IO_FLUSH, 0, f->dev.size))
		goto out_unlock;
	for (i = 0; i < f->npend; i++)
		copy_in(f->durable, f->pend[i].off, f->pend[i].data,
			f->pend[i].len);
	drop_pending(f);
	ret = 0;
out_unlock:
	pthread_mutex_unlock(&f->lock);
	return ret;
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
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->released, NULL);
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
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->released);
	free(f);
}

struct blkdev *fault_dev_blk(struct fault_dev *f)
{
	return &f->dev;
}

void fault_dev_arm(struct fault_dev *f, uint64_t cut_at,
		   enum fault_mode mode, uint64_t seed)
{
	pthread_mutex_lock(&f->lock);
	f->writes = 0;
	f->cut_at = cut_at;
	f->mode = mode;
	f->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	pthread_mutex_unlock(&f->lock);
}

/* Set the rule (see fault_dev.h). */
static void set_rule(struct fault_dev *f, unsigned ops, uint64_t nth,
		     uint64_t off, uint64_t len, int persistent)
{
	pthread_mutex_lock(&f->lock);
	f->err_ops = ops;
	f->err_nth = nth;
	f->err_seen = 0;
	f->err_off = off;
	f->err_len = len;
	f->err_persistent = persistent;
	pthread_mutex_unlock(&f->lock);
}

void fault_dev_fail_nth(struct fault_dev *f, unsigned ops, uint64_t nth,
			int persistent)
{
	set_rule(f, nth ? ops : 0, nth, 0, 0, persistent);
}

void fault_dev_fail_range(struct fault_dev *f, unsigned ops, uint64_t off,
			  uint64_t len, int persistent)
{
	set_rule(f, len ? ops : 0, 0, off, len, persistent);
}

void fault_dev_clear_errors(struct fault_dev *f)
{
	set_rule(f, 0, 0, 0, 0, 0);
}

void fault_dev_hold_reads(struct fault_dev *f, uint64_t off, uint64_t len)
{
	pthread_mutex_lock(&f->lock);
	f->hold_off = off;
	f->hold_len = len;
	if (!len)
		pthread_cond_broadcast(&f->released);
	pthread_mutex_unlock(&f->lock);
}

uint64_t fault_dev_held(const struct fault_dev *f)
{
	return __atomic_load_n(&f->held, __ATOMIC_RELAXED);
}

void fault_dev_on_read(void (*fn)(uint64_t off, size_t len, void *arg),
		       void *arg)
{
	read_hook = fn;
	read_hook_arg = arg;
}

uint64_t fault_dev_errors(const struct fault_dev *f)
{
	return __atomic_load_n(&f->errors, __ATOMIC_RELAXED);
}

uint64_t fault_dev_ios(const struct fault_dev *f, unsigned ops)
{
	uint64_t n = 0;
	int i;

	for (i = 0; i < 3; i++)
		if (ops & (1u << i))
			n += __atomic_load_n(&f->ios[i], __ATOMIC_RELAXED);
	return n;
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
