/*
 * Namespace changes under concurrency (run under ASan and
 * ThreadSanitizer). A change locks the directories and inodes it touches
 * (fs/namei_lock.c), not the whole namespace: a create in one directory
 * goes on while an unlink in another waits on the disk, and changes that
 * cross each other (renames of directories between parents, links,
 * unlinks, creates in shared directories) neither deadlock nor leave a
 * damaged tree.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ghee/errno.h>

#include "../../fs/fs.h"
#include "shim/fault_dev.h"
#include "test.h"
#include "test_env.h"

/* A task held at its first device read until let go. */
struct held {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct fs_info *fs;
	int inside;		/* it is waiting at the read */
	int go;			/* let it go on */
	int done;		/* its call returned */
	int err;		/* what the call returned */
};

static void hold_read(uint64_t off, size_t len, void *arg)
{
	struct held *h = arg;

	(void)off;
	(void)len;
	fault_dev_on_read(NULL, NULL);	/* once */
	pthread_mutex_lock(&h->lock);
	h->inside = 1;
	pthread_cond_broadcast(&h->cond);
	while (!h->go)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

/* The task's call returned err: say so to the waiting test. */
static void held_done(struct held *h, int err)
{
	pthread_mutex_lock(&h->lock);
	h->err = err;
	h->done = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void *held_unlink(void *arg)
{
	struct held *h = arg;
	int err;

	fault_dev_on_read(hold_read, h);
	err = fs_unlink(h->fs, "/b/x");
	fault_dev_on_read(NULL, NULL);
	held_done(h, err);
	return NULL;
}

static void *create_in_a(void *arg)
{
	struct held *h = arg;
	struct fs_ino ino;
	int err = fs_create(h->fs, "/a/y", 0644, &ino);

	held_done(h, err);
	return NULL;
}

/* Wait until *flag is set or secs pass; the flag's value. */
static int wait_flag(struct held *h, int *flag, int secs)
{
	struct timespec t;
	int v;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += secs;
	pthread_mutex_lock(&h->lock);
	while (!*flag &&
	       pthread_cond_timedwait(&h->cond, &h->lock, &t) == 0)
		;
	v = *flag;
	pthread_mutex_unlock(&h->lock);
	return v;
}

/*
 * /b holds many files, so its entries and inodes fill leaves of their
 * own. After a remount (cold cache) the lookups a create in /a needs are
 * read once; then an unlink of /b/x is held at its first device read and,
 * meanwhile, a create in /a must complete. Before per-directory locks
 * the unlink held the whole namespace for write, and the create waited.
 */
TEST(namei_concurrent, create_passes_an_unlink_waiting_in_another_dir)
{
	static struct held u, c;
	struct fs_ino ino;
	struct env e;
	pthread_t tu, tc;
	int made;

	memset(&u, 0, sizeof(u));
	memset(&c, 0, sizeof(c));
	pthread_mutex_init(&u.lock, NULL);
	pthread_cond_init(&u.cond, NULL);
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_mkdir(e.fs, "/a", 0755));
	CHECK_OK(make_files(e.fs, "/b", 400, 'b'));
	CHECK_OK(fs_create(e.fs, "/b/x", 0644, &ino));
	CHECK_OK(make_files(e.fs, "/c", 400, 'c'));
	fs_umount(e.fs);
	CHECK_OK(fs_mount(fault_dev_blk(e.dev), 0, &e.fs));
	/* What the create reads, read now: the create must not wait for the
	 * held task's read of a block they share. */
	CHECK_OK(fs_create(e.fs, "/a/warm", 0644, &ino));
	CHECK_OK(fs_unlink(e.fs, "/a/warm"));

	u.fs = c.fs = e.fs;
	CHECK_OK(pthread_create(&tu, NULL, held_unlink, &u));
	CHECK(wait_flag(&u, &u.inside, 30));
	CHECK_OK(pthread_create(&tc, NULL, create_in_a, &c));
	made = wait_flag(&c, &c.done, 10);

	pthread_mutex_lock(&u.lock);
	u.go = 1;
	pthread_cond_broadcast(&u.cond);
	pthread_mutex_unlock(&u.lock);
	pthread_join(tu, NULL);
	pthread_join(tc, NULL);
	CHECK(made);		/* the create did not wait for the unlink */
	CHECK_OK(u.err);
	CHECK_OK(c.err);
	CHECK_EQ(fs_lookup(e.fs, "/b/x", 0, &ino), -ENOENT);
	CHECK_OK(fs_lookup(e.fs, "/a/y", 0, &ino));
	CHECK_OK(env_umount_check(&e, 0));
}

#define NAMERS 4
#define ROUNDS 300
#define DIRS 3

struct race {
	struct fs_info *fs;
	atomic_int err;		/* first unexpected errno */
};

struct namer {
	struct race *r;
	int id;
};

static unsigned next_rand(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

/* Errors that races between the namers make normal. */
static int expected(int err)
{
	return err == 0 || err == -ENOENT || err == -EEXIST ||
	       err == -ENOTEMPTY || err == -EINVAL || err == -ENOTDIR ||
	       err == -EISDIR;
}

/*
 * Random changes among DIRS top directories /dN, each holding files fK
 * and a movable directory mK that travels between them (renames of
 * directories to other parents, into each other too), plus links,
 * unlinks, creates, renames of files, chmods and lookups.
 */
static void *namer(void *arg)
{
	struct namer *n = arg;
	struct race *r = n->r;
	unsigned s = 77u + (unsigned)n->id * 7919u;
	char p[96], q[96];
	struct fs_ino ino;
	int i, err;

	for (i = 0; i < ROUNDS && !r->err; i++) {
		unsigned a = next_rand(&s) % DIRS, b = next_rand(&s) % DIRS;
		unsigned k = next_rand(&s) % 8, m = next_rand(&s) % 3;

		snprintf(p, sizeof(p), "/d%u/f%u", a, k);
		switch (next_rand(&s) % 8) {
		case 0:
			err = fs_create(r->fs, p, 0644, &ino);
			break;
		case 1:
			err = fs_unlink(r->fs, p);
			break;
		case 2:
			snprintf(q, sizeof(q), "/d%u/f%u", b, next_rand(&s) % 8);
			err = fs_link(r->fs, p, q);
			break;
		case 3:
			snprintf(q, sizeof(q), "/d%u/f%u", b, next_rand(&s) % 8);
			err = fs_rename(r->fs, p, q);
			break;
		case 4:	/* a directory to another parent, maybe into
			 * another movable one */
			snprintf(p, sizeof(p), "/d%u/m%u", a, m);
			if (next_rand(&s) % 2)
				snprintf(q, sizeof(q), "/d%u/m%u", b, m);
			else
				snprintf(q, sizeof(q), "/d%u/m%u/m%u", b,
					 (m + 1) % 3, m);
			err = fs_rename(r->fs, p, q);
			break;
		case 5:
			snprintf(p, sizeof(p), "/d%u/m%u", a, m);
			err = fs_mkdir(r->fs, p, 0755);
			if (err == 0 && next_rand(&s) % 2)
				err = fs_rmdir(r->fs, p);
			break;
		case 6:
			err = fs_lookup(r->fs, p, 0, &ino);
			if (err == 0)
				err = fs_chmod(r->fs, ino, 0600);
			break;
		default:
			snprintf(p, sizeof(p), "/d%u/m%u/m%u", a, m,
				 (m + 1) % 3);
			err = fs_lookup(r->fs, p, 0, &ino);
			break;
		}
		if (!expected(err)) {
			int zero = 0;

			atomic_compare_exchange_strong(&r->err, &zero, err);
		}
	}
	return NULL;
}

static void *syncer(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < 20 && !r->err; i++) {
		usleep(2000);
		if (fs_sync(r->fs))
			r->err = -EIO;
	}
	return NULL;
}

TEST(namei_concurrent, crossing_changes_keep_the_tree_whole)
{
	static struct namer n[NAMERS];
	static struct race r;
	pthread_t th[NAMERS + 1];
	struct fs_check_report rep;
	struct env e;
	char p[32];
	int i;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	memset(&r, 0, sizeof(r));
	r.fs = e.fs;
	for (i = 0; i < DIRS; i++) {
		snprintf(p, sizeof(p), "/d%d", i);
		CHECK_OK(fs_mkdir(e.fs, p, 0755));
	}
	for (i = 0; i < NAMERS; i++) {
		n[i].r = &r;
		n[i].id = i;
		CHECK_OK(pthread_create(&th[i], NULL, namer, &n[i]));
	}
	CHECK_OK(pthread_create(&th[NAMERS], NULL, syncer, &r));
	for (i = 0; i <= NAMERS; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(r.err, 0);
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(fs_check(e.fs, &rep));
	CHECK_EQ(rep.errors, 0);
	CHECK_OK(env_umount_check(&e, 0));
}

#define LINK_TARGET "a-target-of-some-length/to/read/back"
#define SWAPS 2000

struct swapper {
	struct fs_info *fs;
	atomic_int stop;
	int err;		/* the changer's first failure */
};

/* Make and remove the symlink /s/l again and again. */
static void *link_churn(void *arg)
{
	struct swapper *w = arg;
	int i;

	for (i = 0; i < SWAPS && !w->err; i++) {
		w->err = fs_symlink(w->fs, LINK_TARGET, "/s/l");
		if (!w->err)
			w->err = fs_unlink(w->fs, "/s/l");
	}
	atomic_store(&w->stop, 1);
	return NULL;
}

/*
 * A reader of a symlink found by name, which another task unlinks and
 * makes again meanwhile, reads its whole target or finds it gone: the
 * unlink's eviction waits for the read (the inode's lock). Before, a
 * read could take the size from the inode item and find the target
 * already removed: a target of zeros.
 */
TEST(namei_concurrent, symlink_read_beside_its_unlink_is_whole_or_gone)
{
	static struct swapper w;
	char buf[64], first_bad[64] = LINK_TARGET;
	struct fs_ino ino;
	struct env e;
	pthread_t th;
	size_t n;
	int err, reads = 0, bad = 0;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_mkdir(e.fs, "/s", 0755));
	memset(&w, 0, sizeof(w));
	w.fs = e.fs;
	CHECK_OK(pthread_create(&th, NULL, link_churn, &w));
	while (!atomic_load(&w.stop) && !bad) {
		if (fs_lookup(e.fs, "/s/l", 0, &ino))
			continue;
		err = fs_readlink(e.fs, ino, buf, sizeof(buf) - 1, &n);
		if (err == -ENOENT)
			continue;
		reads++;
		buf[err ? 0 : n] = 0;
		if (err || strcmp(buf, LINK_TARGET)) {
			bad = err ? err : -EUCLEAN;
			memcpy(first_bad, buf, sizeof(buf));
		}
	}
	pthread_join(th, NULL);
	CHECK_OK(w.err);
	CHECK_STR(first_bad, LINK_TARGET);
	CHECK_EQ(bad, 0);
	CHECK(reads > 0);
	CHECK_OK(env_umount_check(&e, 0));
}

/* Rename new names over /r/t again and again. */
static void *rename_churn(void *arg)
{
	struct swapper *w = arg;
	struct fs_ino ino;
	int i;

	for (i = 0; i < SWAPS && !w->err; i++) {
		w->err = fs_create(w->fs, "/r/n", 0644, &ino);
		if (!w->err)
			w->err = fs_rename(w->fs, "/r/n", "/r/t");
	}
	atomic_store(&w->stop, 1);
	return NULL;
}

/*
 * A rename over an existing name replaces it at once: a lookup of the
 * name beside it always finds a file (lookups read a directory without
 * its lock and must notice a change half done, namei_lock.c dir_step).
 */
TEST(namei_concurrent, lookup_beside_a_rename_over_the_name_finds_it)
{
	static struct swapper w;
	struct fs_ino ino;
	struct env e;
	pthread_t th;
	int err = 0, looks = 0;

	CHECK_OK(env_mkfs_mount(&e, 4096));
	CHECK_OK(fs_mkdir(e.fs, "/r", 0755));
	CHECK_OK(fs_create(e.fs, "/r/t", 0644, &ino));
	memset(&w, 0, sizeof(w));
	w.fs = e.fs;
	CHECK_OK(pthread_create(&th, NULL, rename_churn, &w));
	while (!atomic_load(&w.stop) && err == 0) {
		err = fs_lookup(e.fs, "/r/t", 0, &ino);
		looks++;
	}
	pthread_join(th, NULL);
	CHECK_OK(w.err);
	CHECK_OK(err);
	CHECK(looks > 0);
	CHECK_OK(env_umount_check(&e, 0));
}
