/*
 * Commit-root reading: a long reader (fsck; later send and scrub) reads
 * one commit of the filesystem, generation G, from start to end, while
 * changes go on and commits happen, and without ever making a commit
 * wait for it.
 *
 * Design:
 *  - A reader registers (commit_reader_begin) with fs->trans_sem held for
 *    read for a moment: no commit is in progress then, so the superblock,
 *    generation and commit roots it copies all describe the last commit G.
 *  - Every search (commit_cursor_search) takes fs->commit_root_sem for
 *    read for that search only, walks from a root of G to a leaf and
 *    returns a private copy of the leaf (tree_block_clone). The caller
 *    works on the copy holding no lock; stepping past its last item
 *    searches again from the key after it. The commit's root swap (which
 *    takes commit_root_sem for write, briefly) waits at most for one
 *    search, never for a whole reader.
 *  - The blocks of G must stay intact for as long as the reader runs,
 *    although later commits free them. A commit gives the space it freed
 *    back to the allocator only after its superblock is out (invariant 1
 *    of DESIGN.md); here, while any reader is registered, it holds those
 *    ranges instead (commit_root_unpin), and the first commit that finds
 *    no reader registered gives back everything held. So nothing of G is
 *    overwritten before its readers are gone, and a reader sees G exactly,
 *    however many commits happen meanwhile. The cost: space freed while a
 *    reader runs is reusable only after it ends and one more commit.
 *  - fs->generation counts commits: commit_root_generation() tells a
 *    reader that follows the current commit root that a commit happened.
 *  - A reader of a read-only subvolume (send) needs no registration: it
 *    follows the subvolume's current commit root (commit_root_search),
 *    whose keys never change (DESIGN.md invariant 6), and only a
 *    relocation commit moves its blocks. Such a commit bumps
 *    fs->last_reloc_trans (commit_root_note_reloc); a reader that sees
 *    the counter move drops its clones and searches again by key.
 *
 * Locking: fs->commit_readers is atomic; fs->held_pins is used by the
 * commit only (it holds trans_sem for write) and by unmount.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "commit_root.h"
#include "ctree.h"
#include "fs_info.h"
#include "transaction.h"

/*
 * Register r as a reader of the last commit of fs: its blocks stay intact
 * until commit_reader_end(r). Waits for a commit in progress to end.
 * Returns 0 or -ENOMEM.
 */
int commit_reader_begin(struct fs_info *fs, struct commit_reader *r)
{
	r->fs = fs;
	r->super = kmalloc(sizeof(*r->super));
	if (!r->super)
		return -ENOMEM;
	down_read(&fs->trans_sem);
	memcpy(r->super, fs->super, sizeof(*r->super));
	r->generation = fs->generation;
	__atomic_add_fetch(&fs->commit_readers, 1, __ATOMIC_ACQ_REL);
	up_read(&fs->trans_sem);
	return 0;
}

/* End reader r; the next commit gives back what it held. */
void commit_reader_end(struct commit_reader *r)
{
	__atomic_sub_fetch(&r->fs->commit_readers, 1, __ATOMIC_ACQ_REL);
	kfree(r->super);
	r->super = NULL;
}

/* The generation of the last commit; it grows with every commit. */
u64 commit_root_generation(struct fs_info *fs)
{
	u64 gen;

	down_read(&fs->commit_root_sem);
	gen = fs->generation;
	up_read(&fs->commit_root_sem);
	return gen;
}

/*
 * The root of tree root as the last commit has it. 0, or -ENOENT when the
 * tree did not exist at the last commit.
 */
int commit_root_of(struct fs_info *fs, const struct ctree_root *root,
		   struct commit_tree *out)
{
	down_read(&fs->commit_root_sem);
	out->id = root->objectid;
	out->bytenr = root->commit_bytenr;
	out->generation = root->commit_generation;
	out->level = root->commit_level;
	up_read(&fs->commit_root_sem);
	return out->bytenr ? 0 : -ENOENT;
}

/* Drop the leaf c holds, if any. */
void commit_cursor_release(struct commit_cursor *c)
{
	tree_block_put(c->leaf);
	c->leaf = NULL;
}

/*
 * Position c at the first item >= key of tree t (a tree of r's commit),
 * holding a copy of its leaf. Returns 0, 1 when no item is >= key, <0
 * (-EIO, -EUCLEAN, -ENOMEM) when a block cannot be read.
 */
int commit_cursor_search(struct commit_cursor *c, struct commit_reader *r,
			 const struct commit_tree *t, const struct key *key)
{
	struct fs_info *fs = r->fs;
	struct ctree_root root;
	struct ctree_path p;
	int ret;

	commit_cursor_release(c);
	c->r = r;
	c->tree = *t;
	ctree_root_init(&root, fs, t->id, t->bytenr, t->generation, t->level);
	ctree_path_init(&p);
	down_read(&fs->commit_root_sem);
	ret = ctree_search_ge(&root, key, &p);
	if (ret == 0)
		ret = tree_block_clone(p.nodes[0], &c->leaf);
	if (ret == 0)
		c->slot = (u32)p.slots[0];
	ctree_path_release(&p);
	up_read(&fs->commit_root_sem);
	return ret;
}

/* Make k the key right after it; 0 when k is the greatest key. */
int commit_root_key_after(struct key *k)
{
	if (++k->offset)
		return 1;
	if (++k->type)
		return 1;
	return ++k->objectid != 0;
}

/* Step c to the next item. 0, 1 past the last item, <0 as the search. */
int commit_cursor_next(struct commit_cursor *c)
{
	u32 n = tb_nritems(c->leaf);
	struct key k;

	if (c->slot + 1 < n) {
		c->slot++;
		return 0;
	}
	tb_item_key(c->leaf, n - 1, &k);
	if (!commit_root_key_after(&k)) {
		commit_cursor_release(c);
		return 1;
	}
	return commit_cursor_search(c, c->r, &c->tree, &k);
}

/*
 * Search the last commit of tree root (a subvolume's current commit root,
 * read here) for the first item >= key, holding commit_root_sem for read
 * for this search only; *leaf gets a private copy of the leaf (put it
 * with tree_block_put), *slot the item, *reloc the relocation counter the
 * copy is valid for. Returns 0, 1 when no item is >= key (*leaf NULL),
 * -ENOENT when the tree has no commit yet, or <0 when a block cannot be
 * read.
 */
int commit_root_search(const struct ctree_root *root, const struct key *key,
		       struct tree_block **leaf, u32 *slot, u64 *reloc)
{
	struct fs_info *fs = root->fs;
	struct ctree_root croot;
	struct ctree_path p;
	int ret;

	*leaf = NULL;
	ctree_path_init(&p);
	down_read(&fs->commit_root_sem);
	*reloc = fs->last_reloc_trans;
	if (!root->commit_bytenr) {
		up_read(&fs->commit_root_sem);
		return -ENOENT;
	}
	ctree_root_init(&croot, fs, root->objectid, root->commit_bytenr,
			root->commit_generation, root->commit_level);
	ret = ctree_search_ge(&croot, key, &p);
	if (ret == 0)
		ret = tree_block_clone(p.nodes[0], leaf);
	if (ret == 0)
		*slot = (u32)p.slots[0];
	ctree_path_release(&p);
	up_read(&fs->commit_root_sem);
	return ret;
}

/* The key after the subtree at level of path p (from its parent up), or
 * 0 when the subtree runs to the end of the tree. */
static int key_after_subtree(const struct ctree_path *p, int level,
			     struct key *next)
{
	int l;

	for (l = level + 1; l < BTRFS_MAX_LEVEL && p->nodes[l]; l++) {
		if ((u32)p->slots[l] + 1 < tb_nritems(p->nodes[l])) {
			tb_node_key(p->nodes[l], (u32)p->slots[l] + 1, next);
			return 1;
		}
	}
	return 0;
}

/* The highest level at which paths a and b hold one block that starts at
 * the key they were searched for; -1 when none does. */
static int shared_level(const struct ctree_path *a, const struct ctree_path *b)
{
	int l, best = -1;

	for (l = 0; l < BTRFS_MAX_LEVEL && a->nodes[l] && b->nodes[l]; l++) {
		if (a->slots[l] || b->slots[l] ||
		    a->nodes[l]->start != b->nodes[l]->start)
			break;
		best = l;
	}
	return best;
}

/*
 * Two read-only trees' commit roots (a snapshot and its parent, for an
 * incremental send), both holding key: when key starts a subtree that is
 * one block in both, everything from key up to *next is the same in both
 * and need not be compared. 0 with *next set; 1 when the shared subtree
 * runs to the end of both trees; -ENOENT when key starts no shared
 * subtree (or is not in both); <0 on errors. *reloc gets the relocation
 * count the answer holds for (as commit_root_search's).
 *
 * Why *next is exact: the shared subtree S holds the same keys in both
 * trees, and in each tree every key from key to the next key its parent
 * nodes name is in S; so no key of either tree lies between key and the
 * smaller of those two next keys outside S.
 */
int commit_root_shared_until(const struct ctree_root *a,
			     const struct ctree_root *b, const struct key *key,
			     struct key *next, u64 *reloc)
{
	struct fs_info *fs = a->fs;
	struct ctree_root ra, rb;
	struct ctree_path pa, pb;
	struct key na, nb;
	int ret, level, has_a, has_b;

	ctree_path_init(&pa);
	ctree_path_init(&pb);
	down_read(&fs->commit_root_sem);
	*reloc = fs->last_reloc_trans;
	if (!a->commit_bytenr || !b->commit_bytenr) {
		up_read(&fs->commit_root_sem);
		return -ENOENT;
	}
	ctree_root_init(&ra, fs, a->objectid, a->commit_bytenr,
			a->commit_generation, a->commit_level);
	ctree_root_init(&rb, fs, b->objectid, b->commit_bytenr,
			b->commit_generation, b->commit_level);
	ret = ctree_search_slot(&ra, key, &pa);
	if (ret == 0)
		ret = ctree_search_slot(&rb, key, &pb);
	if (ret == 1)
		ret = -ENOENT;
	level = ret ? -1 : shared_level(&pa, &pb);
	if (ret == 0 && level < 0)
		ret = -ENOENT;
	if (ret == 0) {
		has_a = key_after_subtree(&pa, level, &na);
		has_b = key_after_subtree(&pb, level, &nb);
		if (!has_a && !has_b)
			ret = 1;
		else if (!has_a || (has_b && key_cmp(&nb, &na) < 0))
			*next = nb;
		else
			*next = na;
	}
	ctree_path_release(&pa);
	ctree_path_release(&pb);
	up_read(&fs->commit_root_sem);
	return ret;
}

/* The relocation counter: it moves when a relocation commit moved blocks
 * of read-only trees. */
u64 commit_root_reloc_count(struct fs_info *fs)
{
	u64 n;

	down_read(&fs->commit_root_sem);
	n = fs->last_reloc_trans;
	up_read(&fs->commit_root_sem);
	return n;
}

/*
 * Count a relocation commit: readers following commit roots search again.
 * Relocation's commit will call it while it swaps the roots; tests call it
 * at any time to make running sends restart.
 */
void commit_root_note_reloc(struct fs_info *fs)
{
	down_write(&fs->commit_root_sem);
	fs->last_reloc_trans++;
	up_write(&fs->commit_root_sem);
}

/* Give n freed ranges back to the allocator. */
static void unpin_all(struct fs_info *fs, const struct pin_range *pins,
		      u32 n)
{
	u32 i;

	for (i = 0; i < n; i++)
		bg_unpin(fs, pins[i].start, pins[i].len);
}

/* Keep n freed ranges from reuse until no reader runs. */
static void hold(struct fs_info *fs, const struct pin_range *pins, u32 n)
{
	if (fs->nheld + n > fs->held_cap) {
		u32 cap = (fs->nheld + n) * 2;
		struct pin_range *v = kmalloc(cap * sizeof(*v));

		if (!v) {
			pr_warn("commit: no memory to hold %u freed ranges "
				"for a reader; they stay unused until the next "
				"mount", n);
			return;
		}
		if (fs->nheld)
			memcpy(v, fs->held_pins, fs->nheld * sizeof(*v));
		kfree(fs->held_pins);
		fs->held_pins = v;
		fs->held_cap = cap;
	}
	memcpy(fs->held_pins + fs->nheld, pins, n * sizeof(*pins));
	fs->nheld += n;
}

/*
 * The commit's last step: the ranges its transaction freed become
 * reusable, unless a reader of an older commit runs (then they are held).
 * Caller holds trans_sem for write, after the commit-root swap.
 */
void commit_root_unpin(struct fs_info *fs, const struct pin_range *pins,
		       u32 n)
{
	if (__atomic_load_n(&fs->commit_readers, __ATOMIC_ACQUIRE)) {
		hold(fs, pins, n);
		return;
	}
	unpin_all(fs, fs->held_pins, fs->nheld);
	fs->nheld = 0;
	unpin_all(fs, pins, n);
}

/* Free what the commit holds (unmount; the disk needs nothing of it). */
void commit_root_free(struct fs_info *fs)
{
	kfree(fs->held_pins);
	fs->held_pins = NULL;
	fs->nheld = fs->held_cap = 0;
}
