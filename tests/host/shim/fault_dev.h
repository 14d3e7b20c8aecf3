/*
 * A fault block device for crash tests (tests/host/shim/fault_dev.c): a
 * RAM disk with a volatile write cache that can lose power.
 *
 * Reads see every write. A flush makes the writes before it durable. Armed
 * with a cut at write N, the device loses power when write N+1 arrives:
 * that write and every later write or flush fail with -EIO, and the image
 * that survives is the durable state plus the writes since the last flush
 *  - FAULT_CUT: all of them, in order (writes are durable as they land);
 *  - FAULT_REORDER: a seeded random subset of them (the cache wrote some
 *    back in its own order and lost the rest);
 *  - FAULT_TORN: all of them, and a seeded random subset of the 4 KiB
 *    pages of write N+1 itself (a multi-block write torn by the cut).
 * fault_dev_crash_image() gives that image as a new device to mount.
 *
 * Apart from power cuts, the device fails chosen I/Os with -EIO, as a
 * disk with a bad sector or a failing link does (fault_dev_fail_nth,
 * fault_dev_fail_range): the Nth read or write from now, or any I/O
 * touching a byte range; once (one-shot) or until cleared (persistent).
 * A failed write lands nothing; a failed read fills its buffer with
 * 0xA5 bytes, so a caller that ignores the error sees wrong bytes.
 * fault_dev_errors() counts the errors injected. Reads of a chosen range
 * can be held (they wait until released), to stop a task at a known
 * point. The device may be used by several threads (the filesystem's
 * commit and cleaner tasks).
 */
#ifndef HOST_SHIM_FAULT_DEV_H
#define HOST_SHIM_FAULT_DEV_H

#include <stddef.h>
#include <stdint.h>

#include <ghee/blk.h>

enum fault_mode {
	FAULT_CUT,	/* every write up to the cut survives */
	FAULT_REORDER,	/* unflushed writes survive or not, at random */
	FAULT_TORN,	/* as FAULT_CUT, and the cut write lands in part */
};

struct fault_dev;

/* A zeroed device of size bytes (a multiple of 4096); NULL on ENOMEM. */
struct fault_dev *fault_dev_new(uint64_t size);
/* A new device holding what f's reads see now (not armed). */
struct fault_dev *fault_dev_clone(const struct fault_dev *f);
void fault_dev_free(struct fault_dev *f);
struct blkdev *fault_dev_blk(struct fault_dev *f);

/* Cut power at the write after the cut_at-th from now (0: never). */
void fault_dev_arm(struct fault_dev *f, uint64_t cut_at,
		   enum fault_mode mode, uint64_t seed);
/* Writes since the device was made or armed. */
uint64_t fault_dev_writes(const struct fault_dev *f);
/* Nonzero once the power is cut. */
int fault_dev_is_cut(const struct fault_dev *f);
/* What survived the cut (or, with no cut yet, what would survive a cut
 * now) as a new device; NULL on ENOMEM. */
struct fault_dev *fault_dev_crash_image(struct fault_dev *f);
/* Write the device's contents to an image file (holes for zero pages).
 * 0 or -errno. */
int fault_dev_save(const struct fault_dev *f, const char *path);
/* Kinds of I/O an injected error applies to (a mask). */
#define FAULT_IO_READ (1u << 0)
#define FAULT_IO_WRITE (1u << 1)
#define FAULT_IO_FLUSH (1u << 2)

/* Fail the nth I/O of the kinds in ops from now (1: the next one) with
 * -EIO; persistent: that one and every later one of those kinds, until
 * fault_dev_clear_errors(). Replaces any error set before. */
void fault_dev_fail_nth(struct fault_dev *f, unsigned ops, uint64_t nth,
			int persistent);
/* Fail I/Os of the kinds in ops touching bytes [off, off + len) with -EIO
 * (flushes touch every byte): the first one only, or every one until
 * cleared. Replaces any error set before. */
void fault_dev_fail_range(struct fault_dev *f, unsigned ops, uint64_t off,
			  uint64_t len, int persistent);
/* Stop failing I/Os (the count of errors stays). */
void fault_dev_clear_errors(struct fault_dev *f);
/* Make reads touching bytes [off, off + len) wait until the hold is
 * lifted (len 0 lifts it): a test stops a task at a chosen read. */
void fault_dev_hold_reads(struct fault_dev *f, uint64_t off, uint64_t len);
/* Reads waiting on the hold now. */
uint64_t fault_dev_held(const struct fault_dev *f);
/* Errors injected since the device was made. */
uint64_t fault_dev_errors(const struct fault_dev *f);
/* I/Os of the kinds in ops since the device was made (failed ones too):
 * a workload's count gives the range of nth worth trying. */
uint64_t fault_dev_ios(const struct fault_dev *f, unsigned ops);
/* Call fn(off, len, arg) before each read the calling thread issues, on
 * any fault device, looks at the contents (NULL: none), so that a test
 * of a race can hold a reader there (or slow it down) while other
 * threads act. */
void fault_dev_on_read(void (*fn)(uint64_t off, size_t len, void *arg),
		       void *arg);

/* What `btrfs check` said; a test judges it with test_btrfs_check(). */
enum btrfs_check_result {
	BTRFS_CHECK_CLEAN = 0,
	BTRFS_CHECK_ERRORS = 1,		/* it found errors */
	BTRFS_CHECK_MISSING = -1,	/* btrfs-progs is not installed */
	BTRFS_CHECK_NO_IMAGE = -2,	/* the image could not be written */
};

/* `btrfs check` of image file path. */
enum btrfs_check_result btrfs_check_file(const char *path);
/* `btrfs check --qgroup-report` of image file path: errors when check
 * fails or any quota group's counts differ from what check counts. */
enum btrfs_check_result btrfs_check_qgroups_file(const char *path);
/* Run btrfs check (btrfs-progs) on the device's contents; on errors the
 * image is kept and its path printed. */
enum btrfs_check_result fault_dev_btrfs_check(const struct fault_dev *f);
/* The same with --check-data-csum: every data checksum verified too. */
enum btrfs_check_result fault_dev_btrfs_check_data(const struct fault_dev *f);
/* The same with --qgroup-report (btrfs_check_qgroups_file). */
enum btrfs_check_result fault_dev_btrfs_check_qgroups(
	const struct fault_dev *f);

#endif
