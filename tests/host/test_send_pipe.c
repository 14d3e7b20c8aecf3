/*
 * send | receive on one filesystem through a pipe of one page, with
 * commits forced all along (issue: send and receive never deadlock). Send
 * writes its stream with no lock held and receive commits as it goes;
 * with a one-page pipe the sender blocks on almost every command while
 * the receiver's commits and a third thread's commits run, so a send
 * holding commit_root_sem (or any lock a commit takes) across a write
 * would hang here. A watchdog turns a hang into a failure.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../fs/fs.h"
#include "../../fs/send.h"
#include "send_sink.h"
#include "shim/fault_dev.h"
#include "test.h"

#define PAGE 4096
#define DEADLINE_S 300	/* far past what the send takes (seconds) */

/* A pipe of one page between two threads. */
struct page_pipe {
	pthread_mutex_t lock;	/* protects everything below */
	pthread_cond_t cond;	/* room, data, an end, or done changed */
	unsigned char buf[PAGE];
	size_t len;		/* bytes waiting in buf */
	int closed;		/* the writer ended */
	int done;		/* threads finished (send and receive) */
};

static int pp_write(void *ctx, const void *b, size_t n)
{
	struct page_pipe *p = ctx;
	const unsigned char *src = b;

	pthread_mutex_lock(&p->lock);
	while (n) {
		size_t k = PAGE - p->len < n ? PAGE - p->len : n;

		if (!k) {
			pthread_cond_wait(&p->cond, &p->lock);
			continue;
		}
		memcpy(p->buf + p->len, src, k);
		p->len += k;
		src += k;
		n -= k;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return 0;
}

static long pp_read(void *ctx, void *b, size_t n)
{
	struct page_pipe *p = ctx;
	size_t k;

	pthread_mutex_lock(&p->lock);
	while (!p->len && !p->closed)
		pthread_cond_wait(&p->cond, &p->lock);
	k = p->len < n ? p->len : n;
	memcpy(b, p->buf, k);
	memmove(p->buf, p->buf + k, p->len - k);
	p->len -= k;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	return (long)k;
}

static void pp_finish(struct page_pipe *p, int close_write)
{
	pthread_mutex_lock(&p->lock);
	p->closed |= close_write;
	p->done++;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

struct run {
	struct fs_info *fs;
	struct page_pipe pipe;
	uint64_t snap;		/* subvolume sent */
	int send_ret, recv_ret, commit_ret;
	uint64_t commits;
	int stop;		/* the committer stops */
};

static void *sender(void *arg)
{
	struct run *r = arg;
	struct fs_send_opts o = { .proto = 2, .write = pp_write,
				  .ctx = &r->pipe };

	r->send_ret = fs_send(r->fs, r->snap, "snap", &o);
	pp_finish(&r->pipe, 1);
	return NULL;
}

static void say(void *ctx, enum fs_receive_say kind, const char *msg, int err)
{
	(void)ctx;
	if (kind == FS_RECEIVE_ERROR)
		fprintf(stderr, "receive: %s (%d)\n", msg, err);
}

static void *receiver(void *arg)
{
	struct run *r = arg;
	struct fs_receive_args a = { .dir = "/recv", .shown_dir = "/recv",
				     .read = pp_read, .read_ctx = &r->pipe,
				     .say = say };

	r->recv_ret = fs_receive(r->fs, &a);
	pp_finish(&r->pipe, 0);
	return NULL;
}

/* A change and a commit, over and over, until told to stop. */
static void *committer(void *arg)
{
	struct run *r = arg;
	struct fs_ino ino;
	int ret = fs_lookup(r->fs, "/other", 0, &ino);

	while (!ret && !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		char c = (char)r->commits;

		ret = fs_write(r->fs, ino, r->commits % 65536, &c, 1);
		ret = ret ? ret : fs_sync(r->fs);
		r->commits++;
	}
	r->commit_ret = ret;
	return NULL;
}

/* Files of many sizes (a stream of many pages), one cloned. */
static int populate(struct fs_info *fs)
{
	static char buf[300000];
	struct fs_ino a, b;
	char path[64];
	int i, ret = fs_subvol_create(fs, "/s");

	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (char)(i * 13 + i / 4096);
	ret = ret ? ret : fs_mkdir(fs, "/s/d", 0755);
	for (i = 0; i < 48 && ret == 0; i++) {
		snprintf(path, sizeof(path), "/s/%sf%03d", i % 3 ? "d/" : "", i);
		ret = fs_create(fs, path, 0644, &a);
		ret = ret ? ret : fs_write(fs, a, 0, buf + i,
					   (size_t)(i * 2477) % sizeof(buf));
	}
	ret = ret ? ret : fs_create(fs, "/s/clone", 0644, &b);
	ret = ret ? ret : fs_lookup(fs, "/s/f045", 0, &a);
	ret = ret ? ret : fs_clone_range(fs, a, 0, 0, b, 0);
	ret = ret ? ret : fs_create(fs, "/other", 0644, &a);
	ret = ret ? ret : fs_mkdir(fs, "/recv", 0755);
	return ret ? ret : fs_subvol_snapshot(fs, "/s", "/snap",
					      FS_SNAP_RDONLY);
}

TEST(send, pipe_of_one_page_to_receive_beside_commits)
{
	struct fs_mkfs_opts o = { NULL, 0, 0, NULL };
	struct fault_dev *dev = fault_dev_new(256ull << 20);
	struct run r = { .pipe = { PTHREAD_MUTEX_INITIALIZER,
				   PTHREAD_COND_INITIALIZER } };
	struct fs_subvol sv;
	struct timespec until;
	pthread_t ts, tr, tc;
	int hung = 0;

	CHECK(dev);
	CHECK_OK(fs_mkfs(fault_dev_blk(dev), &o));
	CHECK_OK(fs_mount(fault_dev_blk(dev), 0, &r.fs));
	CHECK_OK(populate(r.fs));
	CHECK_OK(fs_subvol_get(r.fs, "/snap", &sv));
	r.snap = sv.id;
	CHECK_OK(pthread_create(&tc, NULL, committer, &r));
	CHECK_OK(pthread_create(&ts, NULL, sender, &r));
	CHECK_OK(pthread_create(&tr, NULL, receiver, &r));
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DEADLINE_S;
	pthread_mutex_lock(&r.pipe.lock);
	while (r.pipe.done < 2 && !hung)
		hung = pthread_cond_timedwait(&r.pipe.cond, &r.pipe.lock,
					      &until) == ETIMEDOUT;
	pthread_mutex_unlock(&r.pipe.lock);
	if (hung) {
		/* The threads cannot be stopped: say so and end the run. */
		fflush(stdout);
		fprintf(stderr, "send | receive hung with a one-page pipe "
			"(%llu commits)\n", (unsigned long long)r.commits);
		abort();
	}
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	pthread_join(ts, NULL);
	pthread_join(tr, NULL);
	pthread_join(tc, NULL);
	printf("# %llu commits beside the send and receive\n",
	       (unsigned long long)r.commits);
	CHECK_OK(r.send_ret);
	CHECK_OK(r.recv_ret);
	CHECK_OK(r.commit_ret);
	CHECK(r.commits > 0);
	CHECK_EQ(sink_trees_differ(r.fs, "/snap", "/recv/snap"), 0);
	CHECK_OK(fs_subvol_get(r.fs, "/recv/snap", &sv));
	CHECK(sv.read_only);
	fs_umount(r.fs);
	test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(dev));
	fault_dev_free(dev);
}
