/*
 * Delayed references: every change to an extent's reference count is queued
 * in the running transaction and merged at once with earlier changes of the
 * same reference, then applied to the extent tree at commit. See
 * delayed_ref.c.
 */
#ifndef FS_DELAYED_REF_H
#define FS_DELAYED_REF_H

#include "../lib/list.h"
#include "format.h"

struct trans;

/*
 * What names one back-reference: the merge key. type is the back-reference
 * key type; parent is the parent block for SHARED_* refs (root then 0),
 * root the tree for TREE_BLOCK_REF / EXTENT_DATA_REF (parent then 0);
 * owner is the level (tree blocks) or inode (data), offset the file offset
 * of the extent's start (EXTENT_DATA_REF only, else 0).
 */
struct dref_key {
	u64 bytenr;
	u64 root;
	u64 parent;
	u64 owner;
	u64 offset;
	u8 type;
};

/* The net change of one reference in the running transaction. */
struct dref {
	struct dref *hash_next;		/* chain in delayed_refs.ref_hash */
	struct list_head head_link;	/* on its head's refs list */
	struct dref_key key;
	long long mod;			/* net count change, never 0 */
};

/* Everything queued for one extent. */
struct dref_head {
	struct dref_head *hash_next;	/* chain in delayed_refs.head_hash */
	u64 bytenr;			/* extent start */
	u64 num_bytes;			/* extent length */
	int is_data;			/* data extent, else tree block */
	int must_insert;		/* allocated in this transaction */
	u8 level;			/* tree block level */
	u64 set_flags;			/* extent flags to add (FULL_BACKREF) */
	u64 generation;			/* must_insert: the extent item's
					 * generation, 0 for this transaction
					 * (relocation keeps the old one) */
	long long total_mod;		/* sum of the refs' mods */
	u32 nrefs;			/* refs on the list */
	struct list_head refs;		/* struct dref, in no order */
};

/* A range of freed bytes (struct delayed_refs). */
struct freed_range {
	u64 start, len;
};

/* The queue of one transaction; owned by it, under trans->lock. */
struct delayed_refs {
	struct dref_head **head_hash;	/* by bytenr; head_cap buckets */
	u32 head_cap, nheads;
	struct dref **ref_hash;		/* by dref_key; ref_cap buckets */
	u32 ref_cap, nrefs;
	u64 updates;			/* delayed_ref_add calls, for stats */
	u64 heads_run;			/* heads delayed_refs_run ran */
	/* What a round freed that is still to process: the checksums to
	 * delete and the space to give the free-space tree, the extents
	 * that follow one another merged (extent_tree.c, freed_add).
	 * [commit only] */
	struct freed_range csums, space;
	/* Extent items a round took the last reference of, in key order
	 * (heads run in bytenr order), deleted after it, neighbours in one
	 * deletion (extent_tree.c, dead_add). [commit only] */
	struct key *dead;
	u32 ndead, dead_cap;
};

int delayed_refs_init(struct delayed_refs *d);
void delayed_refs_free(struct delayed_refs *d);
int delayed_ref_add(struct trans *t, const struct dref_key *k,
		    u64 num_bytes, int is_data, long long mod);
int delayed_ref_alloc(struct trans *t, const struct dref_key *k,
		      u64 num_bytes, int is_data, u8 level);
int delayed_ref_may_grow(struct trans *t, const struct dref_key *k,
			 u64 num_bytes);
int delayed_ref_grow(struct trans *t, const struct dref_key *k,
		     u64 num_bytes, u64 add);
int delayed_ref_set_generation(struct trans *t, u64 bytenr, u64 num_bytes,
			       int is_data, u64 generation);
int delayed_ref_set_flags(struct trans *t, u64 bytenr, u64 num_bytes,
			  u64 flags);
struct dref_head *delayed_ref_find_head(struct delayed_refs *d, u64 bytenr);
struct dref_head *delayed_ref_find_data(struct delayed_refs *d, u64 logical);
int delayed_refs_run(struct trans *t);

#endif
