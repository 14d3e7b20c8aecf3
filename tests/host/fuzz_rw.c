/*
 * libFuzzer target: a read-write mount of a fuzzed image and a short
 * fixed workload on it.
 *
 * The input is a sparse image (tests/host/fuzz_image.h) copied into a
 * RAM disk (fault_dev); checksums are repaired on read. When the mount
 * succeeds, the workload makes, writes, renames and removes files and a
 * directory, snapshots the top subvolume, sets an xattr, syncs and
 * unmounts; then the image is mounted read-only again and ghee's fsck
 * runs over it. Every step may fail (the image is damaged): errors are
 * expected and ignored. A crash, sanitizer report, leak or hang is a
 * bug: a bad image must only ever give errors.
 *
 * With FUZZ_SEED_DIR set in the environment the binary writes seed
 * inputs there instead and exits: images ghee made (mkfs, node sizes and
 * checksum types of a few shapes) after the workload above.
 * Built by tests/host/fuzz.sh (clang, -fsanitize=fuzzer).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/log.h>

#include "../../fs/fs.h"
#include "fuzz_image.h"
#include "shim/fault_dev.h"

/* The workload; errors are expected on a damaged image. */
static void workload(struct fs_info *fs)
{
	static const char text[] = "fuzz rw workload\n";
	static uint8_t big[40000];
	struct fs_ino ino;

	memset(big, 'z', sizeof(big));
	if (fs_create(fs, "/fz-a", 0644, &ino) == 0) {
		(void)fs_write(fs, ino, 0, text, sizeof(text));
		(void)fs_write(fs, ino, 5000, big, sizeof(big));
		(void)fs_setxattr(fs, ino, "user.fz", text, sizeof(text), 0);
	}
	(void)fs_mkdir(fs, "/fz-d", 0755);
	(void)fs_rename(fs, "/fz-a", "/fz-d/fz-b");
	if (fs_create(fs, "/fz-d/fz-c", 0644, &ino) == 0)
		(void)fs_write(fs, ino, 0, text, sizeof(text));
	(void)fs_subvol_snapshot(fs, "/", "/fz-snap", 0);
	(void)fs_unlink(fs, "/fz-d/fz-c");
	(void)fs_sync(fs);
	(void)fs_unlink(fs, "/fz-d/fz-b");
	(void)fs_rmdir(fs, "/fz-d");
	(void)fs_sync(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fault_dev *disk = fault_dev_new(FUZZ_IMAGE_SIZE);
	struct fs_check_report rep;
	struct fuzz_image im;
	struct fs_info *fs;

	log_set_level(LOG_ERR);
	if (!disk || fuzz_image_rw(&im, data, size, fault_dev_blk(disk)))
		goto out;
	if (fs_mount(&im.dev, 0, &fs))
		goto out;
	workload(fs);
	fs_umount(fs);
	if (fs_mount(&im.dev, FS_MOUNT_RO, &fs) == 0) {
		(void)fs_check(fs, &rep);
		fs_umount(fs);
	}
out:
	fault_dev_free(disk);
	return 0;
}

/* Write one seed: mkfs with o, the workload, the image to dir/name. */
static void write_seed(const char *dir, const char *name,
		       const struct fs_mkfs_opts *o)
{
	struct fault_dev *disk = fault_dev_new(FUZZ_IMAGE_SIZE);
	struct fs_info *fs;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.seed", dir, name);
	if (!disk || fs_mkfs(fault_dev_blk(disk), o) ||
	    fs_mount(fault_dev_blk(disk), 0, &fs)) {
		fprintf(stderr, "fuzz_rw: cannot make %s\n", path);
		exit(1);
	}
	workload(fs);
	(void)fs_mkdir(fs, "/kept", 0755);
	(void)fs_subvol_create(fs, "/kept/sv");
	fs_umount(fs);
	if (fuzz_image_save(fault_dev_blk(disk), path)) {
		fprintf(stderr, "fuzz_rw: cannot write %s\n", path);
		exit(1);
	}
	fault_dev_free(disk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("FUZZ_SEED_DIR");

	(void)argc, (void)argv;
	if (!dir)
		return 0;
	log_set_level(LOG_ERR);
	write_seed(dir, "ghee-16k", &(struct fs_mkfs_opts){ 0 });
	write_seed(dir, "ghee-4k-xxhash",
		   &(struct fs_mkfs_opts){ .nodesize = 4096, .csum = "xxhash" });
	write_seed(dir, "ghee-single-sha256",
		   &(struct fs_mkfs_opts){ .metadata_single = 1,
					   .csum = "sha256" });
	exit(0);
}
