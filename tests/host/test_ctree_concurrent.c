/*
 * Writers of one tree at once (fs/ctree_write.c's lock coupling; run
 * under ASan and ThreadSanitizer): on a scratch tree of a mounted
 * filesystem (RAM fault device, 4 KiB nodes), the test holds one leaf's
 * lock for write, as a slow writer would, while a task inserts into that
 * leaf and waits for it; a second task inserts into another leaf and must
 * finish meanwhile: its path leaves the tree's upper blocks, which the
 * waiting task holds for read only or not at all. A write search that held
 * its whole path for write kept the root locked while it waited, and the
 * second task never finished. Then every key is found.
 *
 * A search for the first item at or after a key that ends past its leaf's
 * last item steps to the next leaf by searching that last item's key
 * again: an item put between that key and the searched one meanwhile
 * must not be taken for the answer (an eviction took such an item, of
 * another inode, for the end of its own and left its inode item behind).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/errno.h>
#include <ghee/sync.h>

#include "../../fs/ctree_write.h"
#include "../../fs/fs.h"
#include "../../fs/fs_info.h"
#include "../../fs/transaction.h"
#include "shim/fault_dev.h"
#include "test.h"

#define TREE_ID 300		/* the scratch tree's objectid */
#define KTYPE BTRFS_TEMPORARY_ITEM_KEY
#define NKEYS 1500
#define ISIZE 60
#define KEY_A 200		/* the held leaf's key */
#define KEY_B 1200		/* a key in a leaf far from it */
#define WAIT_MS 120000	/* a generous bound on each wait */

struct inserter {
	struct trans *t;
	struct ctree_root *root;
	u32 key;
	int ret;
	struct completion done;
};

static int put(struct trans *t, struct ctree_root *root, u32 i, u64 off)
{
	struct key k = { i, KTYPE, off };
	u8 buf[ISIZE];

	memset(buf, (int)(i & 0xff), sizeof(buf));
	return ctree_insert_item(t, root, &k, buf, sizeof(buf));
}

/* Insert key (key, KTYPE, 1), just after item key in its leaf. */
static void *insert_task(void *arg)
{
	struct inserter *w = arg;

	w->ret = put(w->t, w->root, w->key, 1);
	complete(&w->done);
	return NULL;
}

/* The leaf holding item i, referenced. */
static struct tree_block *leaf_of(struct ctree_root *root, u32 i)
{
	struct key k = { i, KTYPE, 0 };
	struct ctree_path p;
	struct tree_block *b = NULL;

	ctree_path_init(&p);
	if (ctree_lookup(root, &k, &p) == 0)
		b = tree_block_get(p.nodes[0]);
	ctree_path_release(&p);
	return b;
}

static int find(struct ctree_root *root, u32 i, u64 off)
{
	struct key k = { i, KTYPE, off };
	struct ctree_path p;
	int ret;

	ctree_path_init(&p);
	ret = ctree_lookup(root, &k, &p);
	ctree_path_release(&p);
	return ret;
}

static void start(struct inserter *w, pthread_t *th, struct trans *t,
		  struct ctree_root *root, u32 key)
{
	w->t = t;
	w->root = root;
	w->key = key;
	w->ret = 1;
	completion_init(&w->done);
	pthread_create(th, NULL, insert_task, w);
}

/* A scratch tree of NKEYS items on a fresh filesystem, inside a change
 * (trans_sem held for read, the transaction joined). */
static int scratch_tree(struct fault_dev *dev, struct fs_info **fs,
			struct ctree_root *root, struct trans **t)
{
	struct fs_mkfs_opts o = { NULL, 4096, 1, NULL };
	int ret = fs_mkfs(fault_dev_blk(dev), &o);
	u32 i;

	if (ret == 0)
		ret = fs_mount(fault_dev_blk(dev), 0, fs);
	if (ret)
		return ret;
	down_read(&(*fs)->trans_sem);	/* a change in progress */
	ctree_root_init(root, *fs, TREE_ID, 0, 0, 0);
	ret = trans_join(*fs, t);
	if (ret == 0)
		ret = ctree_create_empty(*t, root);
	for (i = 0; i < NKEYS && ret == 0; i++)
		ret = put(*t, root, i, 0);
	return ret;
}

static void scratch_end(struct fault_dev *dev, struct fs_info *fs)
{
	trans_free(fs->running);	/* the scratch tree is in no root item */
	fs->running = NULL;
	up_read(&fs->trans_sem);
	fs_umount(fs);
	fault_dev_free(dev);
}

TEST(ctree_concurrent, writer_passes_a_writer_waiting_on_a_leaf)
{
	struct fault_dev *dev = fault_dev_new(64ull << 20);
	struct inserter a, b;
	struct ctree_root root;
	struct fs_info *fs;
	struct tree_block *held, *other;
	struct trans *t;
	pthread_t ta, tb;
	int waiting, a_waits, b_done = -ETIMEDOUT;
	u32 i;

	CHECK_OK(scratch_tree(dev, &fs, &root, &t));
	CHECK(root.level >= 1);
	/* Room in both leaves for one more item after the key. */
	for (i = 1; i <= 3; i++) {
		struct key ka = { KEY_A + i, KTYPE, 0 };
		struct key kb = { KEY_B + i, KTYPE, 0 };

		CHECK_OK(ctree_del_key(t, &root, &ka));
		CHECK_OK(ctree_del_key(t, &root, &kb));
	}
	held = leaf_of(&root, KEY_A);
	other = leaf_of(&root, KEY_B);
	CHECK(held != NULL && other != NULL && held != other);
	tree_block_put(other);
	tb_lock(held, TB_WRITE);
	start(&a, &ta, t, &root, KEY_A);
	/* Wait until the first inserter waits for the held leaf. */
	for (i = 0; i < WAIT_MS && !rwsem_is_contended(&held->lock); i++)
		usleep(1000);
	waiting = rwsem_is_contended(&held->lock);
	start(&b, &tb, t, &root, KEY_B);
	if (waiting)
		b_done = wait_for_completion_timeout(&b.done,
						     WAIT_MS * 1000000ull);
	a_waits = rwsem_is_contended(&held->lock);
	tb_unlock(held, TB_WRITE);
	tree_block_put(held);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CHECK(waiting);
	CHECK_OK(b_done);	/* -ETIMEDOUT: b waited behind a */
	CHECK(a_waits);
	CHECK_OK(b.ret);
	CHECK_OK(a.ret);
	CHECK_OK(find(&root, KEY_A, 1));
	CHECK_OK(find(&root, KEY_B, 1));
	for (i = 0; i < NKEYS; i++)
		if ((i <= KEY_A || i > KEY_A + 3) &&
		    (i <= KEY_B || i > KEY_B + 3))
			CHECK_OK(find(&root, i, 0));
	scratch_end(dev, fs);
}

struct searcher {
	struct ctree_root *root;
	struct key key, found;
	int ret;
};

/* Search the first item at or after key. */
static void *search_ge_task(void *arg)
{
	struct searcher *s = arg;
	struct ctree_path p;

	ctree_path_init(&p);
	s->ret = ctree_search_ge(s->root, &s->key, &p);
	if (s->ret == 0)
		ctree_item_key(&p, &s->found);
	ctree_path_release(&p);
	return NULL;
}

/* Wait until n tasks queue on lock l. */
static int wait_waiters(struct rwsem *l, int n)
{
	int i;

	for (i = 0; i < WAIT_MS; i++) {
		if (__atomic_load_n(&l->nr_waiting, __ATOMIC_RELAXED) >= n)
			return 1;
		usleep(1000);
	}
	return 0;
}

TEST(ctree_concurrent, search_ge_past_a_leaf_skips_items_put_meanwhile)
{
	struct fault_dev *dev = fault_dev_new(64ull << 20);
	struct ctree_root root;
	struct fs_info *fs;
	struct tree_block *held, *next;
	struct searcher s;
	struct inserter a;
	struct trans *t;
	struct key last;
	pthread_t ts, ta;
	int s_waits, a_waits;
	u32 i;

	CHECK_OK(scratch_tree(dev, &fs, &root, &t));
	/* The leaf of KEY_A ends at item (last, 0); room there for one more
	 * after it, (last, 1), which sorts before the searched (last, 5). */
	held = leaf_of(&root, KEY_A);
	CHECK(held != NULL);
	tb_item_key(held, tb_nritems(held) - 1, &last);
	tree_block_put(held);
	for (i = 2; i <= 3; i++) {
		struct key k = { last.objectid - i, KTYPE, 0 };

		CHECK_OK(ctree_del_key(t, &root, &k));
	}
	held = leaf_of(&root, (u32)last.objectid);
	next = leaf_of(&root, (u32)last.objectid + 1);
	CHECK(held != NULL && next != NULL && held != next);
	tree_block_put(next);
	/* The searcher waits for the held leaf, then the inserter behind it:
	 * the searcher finds the leaf ends before its key and searches the
	 * leaf's last key again, and the inserter goes in between. */
	tb_lock(held, TB_WRITE);
	memset(&s, 0, sizeof(s));
	s.root = &root;
	s.key = (struct key){ last.objectid, KTYPE, 5 };
	pthread_create(&ts, NULL, search_ge_task, &s);
	s_waits = wait_waiters(&held->lock, 1);
	start(&a, &ta, t, &root, (u32)last.objectid);
	a_waits = wait_waiters(&held->lock, 2);
	tb_unlock(held, TB_WRITE);
	tree_block_put(held);
	pthread_join(ts, NULL);
	pthread_join(ta, NULL);
	CHECK(s_waits);
	CHECK(a_waits);
	CHECK_OK(a.ret);
	CHECK_OK(find(&root, (u32)last.objectid, 1));
	CHECK_OK(s.ret);
	CHECK_EQ(s.found.objectid, last.objectid + 1);
	CHECK_EQ(s.found.offset, 0);
	scratch_end(dev, fs);
}
