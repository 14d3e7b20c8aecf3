/*
 * Delayed references (reference/extent-refs-delayed-refs-qgroups.txt,
 * "Delayed refs"). Allocating a block, copying a shared block, freeing an
 * extent, splitting a file extent: each changes reference counts, and each
 * change is queued here instead of touching the extent tree, so that copying
 * a path down the tree does not recurse into the extent tree on every block.
 *
 * Merging happens when a change is queued, never later: a reference is
 * named by (bytenr, kind, root or parent, owner, offset) and two hash tables
 * find, in O(1), the extent's head and the reference's node. A change adds
 * its count to the node; a node whose net count reaches zero is removed at
 * once. So a million +1/-1 updates of one reference cost a million O(1)
 * steps and one node of memory, and memory is proportional to the distinct
 * references with a net change, whatever the number of updates. There are
 * no sequence numbers and no merge pass over a head's refs: what the
 * reference calls btrfs_merge_delayed_refs, with its O(n) per extent, does
 * not exist here. Qgroup accounting (later) hooks the first-ref/last-ref
 * events where extent_tree.c applies a head, not the queueing.
 *
 * At commit delayed_refs_run() takes every head, sorts them by bytenr and
 * applies each (extent_tree.c); what they free leaves the checksum and
 * free-space trees after the round, in ranges (extent_flush_freed).
 * Applying refs copies extent-tree blocks and so queues more refs; those
 * are run in the next round, until none remain.
 *
 * Locking: the queue belongs to the running transaction; the changes
 * sharing it queue under trans->lock (a spinlock: queueing allocates but
 * never sleeps). delayed_refs_run() runs in the commit, which excludes
 * every change, and takes the lock only through the queueing it causes.
 */
#include <ghee/errno.h>

#include <ghee/alloc.h>
#include <ghee/log.h>

#include "block_group.h"
#include "extent_tree.h"
#include "fs_info.h"

#define INITIAL_BUCKETS 256

static u64 mix(u64 h, u64 v)
{
	h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdULL;
}

static u32 head_bucket(const struct delayed_refs *d, u64 bytenr)
{
	return (u32)(mix(0, bytenr) >> 32) & (d->head_cap - 1);
}

static u32 ref_bucket(const struct delayed_refs *d, const struct dref_key *k)
{
	u64 h = mix(mix(mix(mix(mix(0, k->bytenr), k->type), k->root),
			    k->parent), k->owner);

	return (u32)(mix(h, k->offset) >> 32) & (d->ref_cap - 1);
}

static int key_eq(const struct dref_key *a, const struct dref_key *b)
{
	return a->bytenr == b->bytenr && a->type == b->type &&
	       a->root == b->root && a->parent == b->parent &&
	       a->owner == b->owner && a->offset == b->offset;
}

/* Make an empty queue. 0 or -ENOMEM. */
int delayed_refs_init(struct delayed_refs *d)
{
	memset(d, 0, sizeof(*d));
	d->head_cap = d->ref_cap = INITIAL_BUCKETS;
	d->head_hash = kzalloc(d->head_cap * sizeof(*d->head_hash));
	d->ref_hash = kzalloc(d->ref_cap * sizeof(*d->ref_hash));
	if (!d->head_hash || !d->ref_hash) {
		delayed_refs_free(d);
		return -ENOMEM;
	}
	return 0;
}

/* Free the queue and everything on it. */
void delayed_refs_free(struct delayed_refs *d)
{
	u32 i;

	for (i = 0; d->ref_hash && i < d->ref_cap; i++) {
		struct dref *r = d->ref_hash[i], *next;

		for (; r; r = next) {
			next = r->hash_next;
			kfree(r);
		}
	}
	for (i = 0; d->head_hash && i < d->head_cap; i++) {
		struct dref_head *h = d->head_hash[i], *next;

		for (; h; h = next) {
			next = h->hash_next;
			kfree(h);
		}
	}
	kfree(d->head_hash);
	kfree(d->ref_hash);
	kfree(d->dead);
	memset(d, 0, sizeof(*d));
}

/* Double the head table when it is fuller than one per bucket. */
static void grow_heads(struct delayed_refs *d)
{
	u32 old = d->head_cap, i;
	struct dref_head **o = d->head_hash, **n;

	if (d->nheads < old)
		return;
	n = kzalloc(2 * old * sizeof(*n));
	if (!n)
		return;	/* longer chains, still correct */
	d->head_hash = n;
	d->head_cap = 2 * old;
	for (i = 0; i < old; i++) {
		struct dref_head *h = o[i], *next;

		for (; h; h = next) {
			u32 b = head_bucket(d, h->bytenr);

			next = h->hash_next;
			h->hash_next = n[b];
			n[b] = h;
		}
	}
	kfree(o);
}

/* Double the ref table when it is fuller than one per bucket. */
static void grow_refs(struct delayed_refs *d)
{
	u32 old = d->ref_cap, i;
	struct dref **o = d->ref_hash, **n;

	if (d->nrefs < old)
		return;
	n = kzalloc(2 * old * sizeof(*n));
	if (!n)
		return;	/* longer chains, still correct */
	d->ref_hash = n;
	d->ref_cap = 2 * old;
	for (i = 0; i < old; i++) {
		struct dref *r = o[i], *next;

		for (; r; r = next) {
			u32 b = ref_bucket(d, &r->key);

			next = r->hash_next;
			r->hash_next = n[b];
			n[b] = r;
		}
	}
	kfree(o);
}

/* The head of an extent, or NULL. Caller holds trans->lock, or is the
 * commit. */
struct dref_head *delayed_ref_find_head(struct delayed_refs *d, u64 bytenr)
{
	struct dref_head *h = d->head_hash[head_bucket(d, bytenr)];

	while (h && h->bytenr != bytenr)
		h = h->hash_next;
	return h;
}

/* The head of the data extent holding address logical, or NULL. A scan
 * of every head: for lookups of extents made in the running transaction
 * (backref.c), which the extent tree does not hold yet. Caller holds
 * trans->lock. */
struct dref_head *delayed_ref_find_data(struct delayed_refs *d, u64 logical)
{
	u32 i;

	for (i = 0; i < d->head_cap; i++) {
		struct dref_head *h = d->head_hash[i];

		for (; h; h = h->hash_next)
			if (h->is_data && logical >= h->bytenr &&
			    logical - h->bytenr < h->num_bytes)
				return h;
	}
	return NULL;
}

/* Find or make the head of an extent. */
static int get_head(struct delayed_refs *d, u64 bytenr, u64 num_bytes,
		    int is_data, struct dref_head **out)
{
	struct dref_head *h = delayed_ref_find_head(d, bytenr);
	u32 b;

	if (h) {
		*out = h;
		return 0;
	}
	h = kzalloc(sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->bytenr = bytenr;
	h->num_bytes = num_bytes;
	h->is_data = is_data;
	list_init(&h->refs);
	b = head_bucket(d, bytenr);
	h->hash_next = d->head_hash[b];
	d->head_hash[b] = h;
	d->nheads++;
	grow_heads(d);
	*out = h;
	return 0;
}

/* Unlink ref r from its bucket and its head, and free it. */
static void drop_ref(struct delayed_refs *d, struct dref_head *h,
		     struct dref *r)
{
	struct dref **pp = &d->ref_hash[ref_bucket(d, &r->key)];

	while (*pp != r)
		pp = &(*pp)->hash_next;
	*pp = r->hash_next;
	list_del_init(&r->head_link);
	h->nrefs--;
	d->nrefs--;
	kfree(r);
}

/* Add mod to the reference k of head h, merging at once. */
static int merge_ref(struct delayed_refs *d, struct dref_head *h,
		     const struct dref_key *k, long long mod)
{
	u32 b = ref_bucket(d, k);
	struct dref *r = d->ref_hash[b];

	while (r && !key_eq(&r->key, k))
		r = r->hash_next;
	h->total_mod += mod;
	if (r) {
		r->mod += mod;
		if (r->mod == 0)
			drop_ref(d, h, r);
		return 0;
	}
	r = kzalloc(sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->key = *k;
	r->mod = mod;
	r->hash_next = d->ref_hash[b];
	d->ref_hash[b] = r;
	list_add_tail(&r->head_link, &h->refs);
	h->nrefs++;
	d->nrefs++;
	grow_refs(d);
	return 0;
}

/*
 * Queue a change of mod to reference k of the extent [k->bytenr,
 * +num_bytes). Returns 0 or -ENOMEM. Takes trans->lock.
 */
int delayed_ref_add(struct trans *t, const struct dref_key *k,
		    u64 num_bytes, int is_data, long long mod)
{
	struct delayed_refs *d = &t->refs;
	struct dref_head *h;
	int ret;

	spin_lock(&t->lock);
	d->updates++;
	ret = get_head(d, k->bytenr, num_bytes, is_data, &h);
	if (ret == 0)
		ret = merge_ref(d, h, k, mod);
	spin_unlock(&t->lock);
	return ret;
}

/*
 * Queue the first reference of an extent allocated in this transaction:
 * its extent item is inserted when the head runs. level: tree blocks.
 */
int delayed_ref_alloc(struct trans *t, const struct dref_key *k,
		      u64 num_bytes, int is_data, u8 level)
{
	struct dref_head *h;
	int ret;

	spin_lock(&t->lock);
	ret = get_head(&t->refs, k->bytenr, num_bytes, is_data, &h);
	if (ret == 0) {
		h->must_insert = 1;
		h->level = level;
		t->refs.updates++;
		ret = merge_ref(&t->refs, h, k, 1);
	}
	spin_unlock(&t->lock);
	return ret;
}

/*
 * Is the data extent [k->bytenr, +num_bytes) new in this transaction with
 * k its only reference, counted once? Then nothing but that one file
 * extent item points at it, and its extent item, back-reference and
 * quota accounting are all made at commit from this head. Caller holds
 * trans->lock.
 */
static int sole_new_data(struct delayed_refs *d, const struct dref_key *k,
			 u64 num_bytes, struct dref_head **out)
{
	struct dref_head *h = delayed_ref_find_head(d, k->bytenr);
	struct dref *r;

	if (!h || !h->is_data || !h->must_insert || h->generation ||
	    h->set_flags || h->num_bytes != num_bytes || h->nrefs != 1 ||
	    h->total_mod != 1)
		return 0;
	r = list_entry(h->refs.next, struct dref, head_link);
	*out = h;
	return key_eq(&r->key, k) && r->mod == 1;
}

/*
 * Whether the data extent [k->bytenr, +num_bytes) may grow (file_grow.c):
 * made in this transaction and referenced by k alone. 1 yes, 0 no. Takes
 * trans->lock.
 */
int delayed_ref_may_grow(struct trans *t, const struct dref_key *k,
			 u64 num_bytes)
{
	struct dref_head *h;
	int ret;

	spin_lock(&t->lock);
	ret = sole_new_data(&t->refs, k, num_bytes, &h);
	spin_unlock(&t->lock);
	return ret;
}

/*
 * Grow by add bytes the data extent of k, num_bytes long, which
 * delayed_ref_may_grow allowed (the caller kept its one referrer locked
 * since). Returns 0, or -EUCLEAN when it no longer may. Takes
 * trans->lock.
 */
int delayed_ref_grow(struct trans *t, const struct dref_key *k,
		     u64 num_bytes, u64 add)
{
	struct dref_head *h;
	int ret = -EUCLEAN;

	spin_lock(&t->lock);
	if (sole_new_data(&t->refs, k, num_bytes, &h)) {
		h->num_bytes += add;
		ret = 0;
	}
	spin_unlock(&t->lock);
	return ret;
}

/* Give a new extent's item generation (relocation: the old extent's,
 * which its tree block's header keeps). */
int delayed_ref_set_generation(struct trans *t, u64 bytenr, u64 num_bytes,
			       int is_data, u64 generation)
{
	struct dref_head *h;
	int ret;

	spin_lock(&t->lock);
	ret = get_head(&t->refs, bytenr, num_bytes, is_data, &h);
	if (ret == 0)
		h->generation = generation;
	spin_unlock(&t->lock);
	return ret;
}

/* Queue adding extent flags (FULL_BACKREF) to an extent. */
int delayed_ref_set_flags(struct trans *t, u64 bytenr, u64 num_bytes,
			  u64 flags)
{
	struct dref_head *h;
	int ret;

	spin_lock(&t->lock);
	ret = get_head(&t->refs, bytenr, num_bytes, 0, &h);
	if (ret == 0)
		h->set_flags |= flags;
	spin_unlock(&t->lock);
	return ret;
}

/* Remove ref r from the hash table only (it stays on its head's list). */
static void unhash_ref(struct delayed_refs *d, struct dref *r)
{
	struct dref **pp = &d->ref_hash[ref_bucket(d, &r->key)];

	while (*pp != r)
		pp = &(*pp)->hash_next;
	*pp = r->hash_next;
	d->nrefs--;
}

/*
 * Move every head, with its refs, out of the hash tables into an array.
 * Changes queued while these run start a fresh queue for the next round.
 */
static int take_heads(struct delayed_refs *d, struct dref_head ***out,
		      u32 *n)
{
	struct dref_head **v = kmalloc(d->nheads * sizeof(*v) + 1);
	struct dref *r;
	u32 i, k = 0;

	if (!v)
		return -ENOMEM;
	for (i = 0; i < d->head_cap; i++) {
		struct dref_head *h = d->head_hash[i], *next;

		for (; h; h = next) {
			next = h->hash_next;
			list_for_each_entry(r, &h->refs, struct dref,
					    head_link)
				unhash_ref(d, r);
			v[k++] = h;
		}
		d->head_hash[i] = NULL;
	}
	d->nheads = 0;
	*out = v;
	*n = k;
	return 0;
}

/* Sort heads by bytenr (heap sort: no recursion, O(n log n)). */
static void sift(struct dref_head **v, u32 i, u32 n)
{
	for (;;) {
		u32 c = 2 * i + 1;
		struct dref_head *tmp;

		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1]->bytenr > v[c]->bytenr)
			c++;
		if (v[i]->bytenr >= v[c]->bytenr)
			return;
		tmp = v[i];
		v[i] = v[c];
		v[c] = tmp;
		i = c;
	}
}

static void sort_heads(struct dref_head **v, u32 n)
{
	u32 i;

	for (i = n / 2; i-- > 0;)
		sift(v, i, n);
	for (i = n; i-- > 1;) {
		struct dref_head *tmp = v[0];

		v[0] = v[i];
		v[i] = tmp;
		sift(v, 0, i);
	}
}

/* Free a head taken by take_heads, with its refs. */
static void free_head(struct dref_head *h)
{
	while (!list_empty(&h->refs)) {
		struct dref *r = list_entry(h->refs.next, struct dref,
					    head_link);

		list_del_init(&r->head_link);
		kfree(r);
	}
	kfree(h);
}

/*
 * Apply every queued change to the extent tree, in bytenr order, round
 * after round until running creates no new ones. Caller is the commit
 * (fs->trans_sem held for write); on failure the transaction is aborted.
 */
int delayed_refs_run(struct trans *t)
{
	struct delayed_refs *d = &t->refs;
	struct dref_head **v;
	u32 n, i;
	int ret = 0, rounds = 0;

	while (d->nheads && ret == 0) {
		if (++rounds > 1000) {
			pr_err("delayed refs do not converge");
			ret = -EUCLEAN;
			trans_abort(t, ret);
			break;
		}
		ret = bg_create_pending(t);
		if (ret)
			break;
		ret = take_heads(d, &v, &n);
		if (ret) {
			trans_abort(t, ret);
			break;
		}
		sort_heads(v, n);
		d->heads_run += n;
		for (i = 0; i < n; i++) {
			if (ret == 0)
				ret = extent_run_head(t, v[i]);
			free_head(v[i]);
		}
		kfree(v);
		if (ret == 0) {
			ret = extent_flush_freed(t);
			if (ret)
				trans_abort(t, ret);
		}
	}
	return ret;
}
