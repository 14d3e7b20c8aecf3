/*
 * dedupe: share equal ranges of files (fs/dedupe.c), one source range
 * with each destination given, printing per destination what xfs_io's
 * dedupe prints: "deduped N/N bytes at offset OFF" when shared (N: the
 * length asked for, as Linux reports it), "Extents did not match." when
 * the bytes differ, or the error.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/errno.h>

#include "cmd_fs.h"
#include "shell.h"

#include "../fs/fs.h"

/* Look path up (following a symlink) in the filesystem holding it. */
static int lookup(const char *path, struct fs_info **fs, struct fs_ino *ino)
{
	const char *in;
	int ret;

	*fs = cmd_fs_path("dedupe", path, &in);
	if (!*fs)
		return -ENOENT;
	ret = fs_lookup(*fs, in, FS_LOOKUP_FOLLOW, ino);
	if (ret)
		con_eprintf("dedupe: %s: %s\n", path, cmd_fs_err_text(ret));
	return ret;
}

/* Dedupe src's range into one destination and say how it went. */
static int dedupe_one(struct fs_info *fs, struct fs_ino src, uint64_t soff,
		      uint64_t len, const char *dpath, uint64_t doff)
{
	struct fs_info *dfs;
	struct fs_ino dst;
	int ret = lookup(dpath, &dfs, &dst);

	if (ret)
		return ret;
	ret = dfs == fs ? fs_dedupe_range(fs, src, soff, len, dst, doff)
			: -EXDEV;
	if (ret == 0)
		con_printf("deduped %llu/%llu bytes at offset %llu\n",
			   (unsigned long long)len, (unsigned long long)len,
			   (unsigned long long)doff);
	else if (ret == -EBADE)
		con_eprintf("dedupe: %s: Extents did not match.\n", dpath);
	else
		con_eprintf("dedupe: %s: %s (errno %d)\n", dpath,
			    cmd_fs_err_text(ret), -ret);
	return ret;
}

/* dedupe SRC SRC_OFF LEN DST DST_OFF [DST DST_OFF]..., or dedupe scan.
 * Returns -EBADE when some destination was not deduped. */
int cmd_dedupe(int argc, char **argv)
{
	uint64_t soff, len, doff;
	struct fs_info *fs;
	struct fs_ino src;
	int i, ret = 0;

	if (!strcmp(argv[1], "scan"))
		return cmd_dedupe_scan(argc - 1, argv + 1);
	if (argc < 6 || (argc - 4) % 2)
		return -EINVAL;
	if (shell_parse_u64(argv[2], "SRC_OFF", &soff) ||
	    shell_parse_u64(argv[3], "LEN", &len))
		return -EINVAL;
	for (i = 5; i < argc; i += 2)
		if (shell_parse_u64(argv[i], "DST_OFF", &doff))
			return -EINVAL;
	if (lookup(argv[1], &fs, &src))
		return -EBADE;
	for (i = 4; i + 1 < argc; i += 2) {
		(void)shell_parse_u64(argv[i + 1], "DST_OFF", &doff); /* checked
								  * above */
		if (dedupe_one(fs, src, soff, len, argv[i], doff))
			ret = -EBADE;
	}
	return ret;
}
