/*
 * Filesystem shell commands (shell/cmd_fs.c). Rows for them sit in the table
 * in shell/commands.c under the "filesystem" comment.
 */
#ifndef SHELL_CMD_FS_H
#define SHELL_CMD_FS_H

#include <stddef.h>
#include <stdint.h>

#include "../fs/fs.h"

int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_readfile(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_sha256sum(int argc, char **argv);
int cmd_inspect_internal_dump_super(int argc, char **argv);
int cmd_inspect_internal_dump_tree(int argc, char **argv);

/* shell/cmd_fs_space.c */
int cmd_filesystem_df(int argc, char **argv);
int cmd_filesystem_sync(int argc, char **argv);
int cmd_filesystem_commit_stats(int argc, char **argv);
/* shell/cmd_resize.c */
int cmd_filesystem_resize(int argc, char **argv);
/* shell/cmd_fs_du.c */
int cmd_filesystem_du(int argc, char **argv);
/* shell/cmd_defrag.c */
int cmd_filesystem_defragment(int argc, char **argv);

/* shell/cmd_fs_write.c: commands that change the filesystem. */
int cmd_mkfs(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_mkdir(int argc, char **argv);
int cmd_touch(int argc, char **argv);
int cmd_write(int argc, char **argv);
int cmd_cp(int argc, char **argv);
int cmd_clone(int argc, char **argv);
/* shell/cmd_dedupe.c, shell/cmd_dedupe_scan.c (scan) */
int cmd_dedupe(int argc, char **argv);
int cmd_dedupe_scan(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_rmdir(int argc, char **argv);
int cmd_mv(int argc, char **argv);
int cmd_ln(int argc, char **argv);
int cmd_truncate(int argc, char **argv);
/* util-linux's fallocate (shell/cmd_fallocate.c). */
int cmd_fallocate(int argc, char **argv);
int cmd_chmod(int argc, char **argv);
int cmd_utimes(int argc, char **argv);
uint64_t cmd_fs_pattern_word(uint64_t seed, uint64_t w);
void cmd_fs_pattern_fill(uint64_t seed, uint64_t off, uint8_t *buf,
			 size_t n);

/* shell/cmd_fs_bench.c: workloads for benchmarks. */
int cmd_mkfiles(int argc, char **argv);
int cmd_write_rand(int argc, char **argv);
int cmd_write_repeat(int argc, char **argv);
int cmd_fsstress(int argc, char **argv);
uint64_t cmd_fs_rand(uint64_t *state);

/* shell/cmd_fs_show.c: filesystem show|label|usage, device stats|usage */
int cmd_filesystem_show(int argc, char **argv);
int cmd_filesystem_label(int argc, char **argv);
int cmd_filesystem_usage(int argc, char **argv);
int cmd_device_stats(int argc, char **argv);
int cmd_device_usage(int argc, char **argv);
/* The mounted filesystem arg names: a disk ("vdb") or a path that
 * exists in it; NULL after saying why not (cmd names the command). */
struct fs_info *cmd_fs_of_arg(const char *cmd, const char *arg);
/* Linux's statfs of fs (btrfs_statfs), in bytes counted in whole
 * sectors: the device's size, the bytes used (copies counted) and the
 * bytes available, each by the data ratio (ghee keeps no global
 * reserve). 0, or -EIO after saying why (cmd
 * names the command). */
int cmd_fs_statfs(const char *cmd, struct fs_info *fs, uint64_t *size,
		  uint64_t *used, uint64_t *avail);

/* shell/cmd_df.c, shell/cmd_du.c: coreutils' df and du. */
int cmd_df(int argc, char **argv);
int cmd_du(int argc, char **argv);

/* shell/cmd_fsck.c */
int cmd_fsck(int argc, char **argv);

/*
 * shell/cmd_mount.c: the mount table. Every command finds its filesystem
 * with cmd_fs_path: the filesystem holding path (the mount whose
 * directory is its longest prefix; a relative path counts from /) and, in
 * *inner, the path inside that filesystem (a suffix of path), for the
 * fs_* calls. Prints "CMD: PATH: no filesystem mounted there" and returns
 * NULL when none does. Two paths on different filesystems: the command
 * fails with -EXDEV where Linux does (mv, ln).
 */
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
struct fs_info *cmd_fs_path(const char *cmd, const char *path,
			    const char **inner);
/* cmd_fs_path for a redirection's file: the mount stays held (umount
 * refuses it) until cmd_fs_release(fs). */
struct fs_info *cmd_fs_path_hold(const char *cmd, const char *path,
				 const char **inner);
void cmd_fs_release(struct fs_info *fs);
/* The filesystem mounted at / (cmd_fs_path(cmd, "/")), or NULL after
 * saying none is. */
struct fs_info *cmd_fs_mounted(const char *cmd);
/* Most filesystems mounted at once. */
#define CMD_FS_MOUNTS_MAX 8
/* The mounted filesystems, each once, in mount order, into v (max
 * entries); returns how many. */
int cmd_fs_each(struct fs_info **v, int max);
/* One entry of the mount table, copied out. */
#define CMD_FS_MOUNT_DIR_MAX 256
struct cmd_fs_mount {
	struct fs_info *fs;
	char disk[8];			/* "vda" */
	char dir[CMD_FS_MOUNT_DIR_MAX];	/* "/" or "/a/b" */
};
/* The mount table, in mount order, into v (max entries); returns how
 * many. */
int cmd_fs_mounts(struct cmd_fs_mount *v, int max);
/* The filesystem mounted from disk, or NULL; and the disk of a mounted
 * filesystem ("?" when it is not in the table). */
struct fs_info *cmd_fs_by_disk(const char *disk);
const char *cmd_fs_disk_name(const struct fs_info *fs);
/* Claim a disk for `mount`, `mkfs` or `fsck DISK`, which work on it
 * unlocked for a while, as Linux's exclusive open does: 0, or -EBUSY said
 * with cmd's name when it is mounted or another of them has it.
 * cmd_disk_unclaim gives it back. */
int cmd_disk_claim(const char *cmd, const struct blkdev *dev);
void cmd_disk_unclaim(const struct blkdev *dev);
/* Commit every mounted filesystem; the first error (each one said). */
int cmd_fs_sync_all(const char *cmd);
/* "YYYY-MM-DD HH:MM:SS" (UTC) of seconds since 1970. */
void cmd_fs_time_string(int64_t t, char *out, size_t n);
/* Unmount everything (host tool exit, tests). */
void cmd_fs_reset(void);

const char *cmd_fs_err_text(int err);
/* glibc's strerror text of err (what btrfs-progs and util-linux print). */
const char *cmd_fs_strerror(int err);

/* One directory entry, copied out of fs_readdir. */
struct cmd_fs_dirent {
	char *name;		/* NUL-terminated copy */
	struct fs_ino ino;
	unsigned type;		/* FS_FT_* */
};

/* The entries of one directory, in index order. Their names are packed
 * into blocks (one allocation per block, not per name), each block's
 * first bytes pointing at the block before it. */
struct cmd_fs_dir {
	struct cmd_fs_dirent *v;
	uint32_t n, cap;	/* used and allocated entries */
	char *names;		/* the newest block of names, or NULL */
	size_t names_used;	/* bytes of it in use */
};

/* Read every entry of directory ino into d. Free d with cmd_fs_dir_free,
 * also after an error. 0 or fs_readdir's negative errno. */
int cmd_fs_dir_read(struct fs_info *fs, struct fs_ino ino,
		    struct cmd_fs_dir *d);
void cmd_fs_dir_free(struct cmd_fs_dir *d);

#endif
