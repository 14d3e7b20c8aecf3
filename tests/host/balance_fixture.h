/*
 * A filesystem for balance tests (test_balance*.c): files filling a few
 * data groups, a subvolume and snapshots filling a metadata group, their
 * hashes, the groups' starts, and waiting for a background balance to
 * end.
 */
#ifndef TESTS_HOST_BALANCE_FIXTURE_H
#define TESTS_HOST_BALANCE_FIXTURE_H

#include <stdint.h>

struct fs_info;

#define BAL_MAX_GROUPS 64

/* Write nfiles files of kib KiB each, "/bN", each its own pattern, and
 * commit. 0 or <0. */
int bal_populate(struct fs_info *fs, int nfiles, int kib);
/* Write the 1 MiB file "/bI" (removed again when it does not fit). */
int bal_populate_one(struct fs_info *fs, int i);
/* Subvolume /sv of 4,000 inline files (about 1,000 leaves), read-only
 * snapshots /s1 and /s2 of it, a third of its files rewritten, snapshot
 * /s3; then commit. 0 or <0. */
int bal_populate_meta(struct fs_info *fs);
#define BAL_META_HASHES 3
/* Hashes of /sv, /s1 and /s3 (bal_populate_meta) into
 * out[BAL_META_HASHES]. 0 or <0. */
int bal_hash_meta(struct fs_info *fs, uint64_t *out);
/* Hash of every file "/bN" (N < nfiles): content and size, 0 for one
 * that does not exist. 0 or <0. */
int bal_hash_files(struct fs_info *fs, int nfiles, uint64_t *out);
/* Starts of the data and metadata groups (not SYSTEM); how many. */
uint32_t bal_groups(struct fs_info *fs, uint64_t *start);
/* The group of type (a BTRFS_BLOCK_GROUP_* bit) with the most used
 * bytes: start and used (0 and 0 when none). */
void bal_fullest_group(struct fs_info *fs, uint64_t type, uint64_t *start,
		       uint64_t *used);
/* How many of old[0..n) are still groups of fs. */
uint32_t bal_groups_left(struct fs_info *fs, const uint64_t *old,
			 uint32_t n);
/* Wait up to sec seconds until fs has no balance (fs_balance_status
 * -ENOTCONN). 0, or -ETIMEDOUT. */
int bal_wait_none(struct fs_info *fs, int sec);
/* Wait up to sec seconds until no balance of fs runs (the one a mount
 * resumed ended or stopped paused), then finish a paused one in the
 * calling thread. 0, -ETIMEDOUT, or the balance's error. */
int bal_finish(struct fs_info *fs, int sec);

#endif
