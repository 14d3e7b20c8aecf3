/*
 * Delayed refs: merging at queue time, and the freed ranges of a run
 * (extent_tree.c). The scale case queues 1,000,000
 * reference updates to one extent (the split-extent pattern of the
 * reference: +1 on the same data ref again and again, and +1/-1 pairs)
 * and checks that memory stays proportional to the distinct references,
 * printing the time taken and the nodes alive at the peak.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/time.h>

#include "../../fs/delayed_ref.h"
#include "../../fs/fs.h"
#include "../../fs/transaction.h"
#include "test.h"
#include "test_env.h"

static struct dref_key data_ref(u64 bytenr, u64 ino, u64 off)
{
	struct dref_key k;

	memset(&k, 0, sizeof(k));
	k.bytenr = bytenr;
	k.type = BTRFS_EXTENT_DATA_REF_KEY;
	k.root = 5;
	k.owner = ino;
	k.offset = off;
	return k;
}

TEST(delayed_ref, merge_to_net_change)
{
	struct trans t;
	struct dref_key a = data_ref(1 << 20, 257, 0);
	struct dref_key b = data_ref(1 << 20, 258, 0);
	struct dref_head *h;

	memset(&t, 0, sizeof(t));
	CHECK_OK(delayed_refs_init(&t.refs));
	CHECK_OK(delayed_ref_add(&t, &a, 4096, 1, 1));
	CHECK_OK(delayed_ref_add(&t, &a, 4096, 1, 1));
	CHECK_OK(delayed_ref_add(&t, &b, 4096, 1, 1));
	CHECK_OK(delayed_ref_add(&t, &b, 4096, 1, -1));
	h = delayed_ref_find_head(&t.refs, 1 << 20);
	CHECK(h != NULL);
	CHECK_EQ(h->nrefs, 1);		/* b cancelled out and is gone */
	CHECK_EQ(h->total_mod, 2);
	CHECK_EQ(t.refs.nrefs, 1);
	CHECK_EQ(t.refs.nheads, 1);
	delayed_refs_free(&t.refs);
}

TEST(delayed_ref, million_updates_one_extent)
{
	struct trans t;
	struct dref_key split = data_ref(1 << 20, 257, 0);
	struct dref_key other = data_ref(1 << 20, 300, 4096);
	u64 start, ns, peak = 0;
	long i;

	memset(&t, 0, sizeof(t));
	CHECK_OK(delayed_refs_init(&t.refs));
	start = time_ns();
	for (i = 0; i < 1000000; i++) {
		/* Half: the split pattern (+1 on one ref, never merged away);
		 * half: +1/-1 pairs that cancel. */
		if (i % 2 == 0)
			CHECK_OK(delayed_ref_add(&t, &split, 128 << 20, 1, 1));
		else
			CHECK_OK(delayed_ref_add(&t, &other, 128 << 20, 1,
						 (i % 4 == 1) ? 1 : -1));
		if (t.refs.nrefs > peak)
			peak = t.refs.nrefs;
	}
	ns = time_ns() - start;
	printf("# 1000000 delayed-ref updates of one extent: %llu ms, peak "
	       "%llu ref nodes (%llu bytes), 1 head\n",
	       (unsigned long long)(ns / 1000000),
	       (unsigned long long)peak,
	       (unsigned long long)(peak * sizeof(struct dref)));
	CHECK(peak <= 2);
	CHECK_EQ(t.refs.nheads, 1);
	CHECK_EQ(delayed_ref_find_head(&t.refs, 1 << 20)->total_mod, 500000);
	CHECK_EQ(t.refs.updates, 1000000);
	delayed_refs_free(&t.refs);
}

/*
 * The extents a commit frees leave the checksum and free-space trees in
 * merged ranges (extent_tree.c, freed_add): files written one after
 * another, freed first one in three (ranges apart), then the rest (runs
 * of two that touch) and a file rewritten in between, must leave both
 * trees exact, which btrfs check verifies (csums without an extent, free
 * space the extent tree does not agree with).
 */
TEST(delayed_ref, freed_ranges_leave_csums_and_free_space_exact)
{
	struct env e;
	char name[64];
	int i;

	CHECK_OK(env_mkfs_mount(&e, 0));
	CHECK_OK(make_files(e.fs, "/d", 300, 'a'));
	CHECK_OK(fs_sync(e.fs));
	for (i = 0; i < 300; i += 3) {
		snprintf(name, sizeof(name), "/d/f%05d", i);
		CHECK_OK(fs_unlink(e.fs, name));
	}
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(put(e.fs, "/d/f00001", 0, 5000, 'b'));
	for (i = 2; i < 300; i++) {
		snprintf(name, sizeof(name), "/d/f%05d", i);
		if (i % 3)
			CHECK_OK(fs_unlink(e.fs, name));
	}
	CHECK_OK(fs_sync(e.fs));
	CHECK_OK(env_umount_check(&e, 0));
}
