/*
 * The mount table: several filesystems mounted at once, each on a
 * directory ("/" first, then e.g. "/backup" inside it), and the one
 * resolver every command uses to find its filesystem:
 *
 *	fs = cmd_fs_path(cmd, path, &inner);
 *
 * gives the filesystem holding an absolute path (the mount whose
 * directory is the longest prefix of it, at a '/' boundary) and the path
 * inside that filesystem. `mount DISK [DIR] [-o OPTS]`, `umount DIR|DISK`,
 * and `mount` alone listing the table, as Linux does.
 *
 * Lifetime: commands run as jobs (shell/jobs.c), some in the background,
 * and hold no reference on a mount; so umount runs only as a foreground
 * command on its own: it refuses while a background job runs (it could
 * be using the filesystem), when it is itself one, and inside a pipeline
 * of several commands (they run at once: `umount | cat` beside it). A
 * redirection to or from a file (`umount > /f`, `cat < /f | ...`) holds
 * its mount from open to close (cmd_fs_path_hold): umount refuses a
 * mount so held. mount, mkfs and fsck of a disk claim it while they work
 * on it unlocked (cmd_disk_claim), and mount enters the table only when
 * its directory is still free, so two of them in one pipeline cannot
 * both pass the checks. mounts_lock (a spinlock, nothing taken inside)
 * protects the table's entries, the holds and the claims.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/blk.h>
#include <ghee/console.h>
#include <ghee/sync.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "jobs.h"
#include "shell.h"
#include "stream.h"

#define MOUNTS_MAX CMD_FS_MOUNTS_MAX
#define MOUNT_DIR_MAX CMD_FS_MOUNT_DIR_MAX

#define MOUNT_SUBVOL_MAX 64	/* bytes of a subvol=/subvolid= option */

struct mount {
	struct fs_info *fs;		/* NULL: a free entry */
	char disk[8];			/* its disk's name */
	char dir[MOUNT_DIR_MAX];	/* where: "/" or "/a/b", no '/' at
					 * the end */
	char subvol[MOUNT_SUBVOL_MAX];	/* "subvol=P" or "subvolid=N" it
					 * was mounted with, or "" */
	int holds;			/* redirections open on it */
};

/* What -o asks for. */
struct mount_opts {
	unsigned flags;		/* FS_MOUNT_* */
	const char *subvol;	/* subvol=PATH, or NULL */
	uint64_t subvolid;	/* subvolid=ID, or 0 */
	const char *text;	/* the subvol option as given, or "" */
	struct fs_compress comp;	/* compress=, compress-force= */
};

static struct spinlock mounts_lock = SPINLOCK_INIT("mounts");
static struct mount mounts[MOUNTS_MAX];	/* [mounts_lock] */
/* Disks a mount, mkfs or fsck is working on (cmd_disk_claim). */
static const struct blkdev *claimed[MOUNTS_MAX];	/* [mounts_lock] */

/* Skip the '/'s and "." components at p: the next real component. */
static const char *next_component(const char *p)
{
	for (;;) {
		while (*p == '/')
			p++;
		if (p[0] != '.' || (p[1] && p[1] != '/'))
			return p;
		p++;
	}
}

/*
 * Match a mount's directory (normal: "/" or "/a/b") against the first
 * components of the absolute path, where repeated '/'s and "."
 * components count for nothing ("//a/./b/" is "/a/b"). Returns the
 * offset in path just past the last component matched (0 for "/"), or
 * -1 when dir is no prefix of path.
 */
static int dir_match(const char *dir, const char *path)
{
	const char *d = dir, *p = path;
	size_t n;

	if (path[0] != '/')
		return -1;
	for (;;) {
		while (*d == '/')
			d++;
		if (!*d)
			return (int)(p - path);
		p = next_component(p);
		n = strcspn(d, "/");
		if (strncmp(d, p, n) || (p[n] && p[n] != '/'))
			return -1;
		d += n;
		p += n;
	}
}

/* Write path (absolute) in normal form into out (size bytes): no
 * repeated '/', no "." component, no '/' at the end. -ENAMETOOLONG. */
static int dir_normalise(const char *path, char *out, size_t size)
{
	const char *p = next_component(path);
	size_t len = 0, n;

	while (*p) {
		n = strcspn(p, "/");
		if (len + 1 + n + 1 > size)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, p, n);
		len += n;
		p = next_component(p + n);
	}
	if (!len)
		out[len++] = '/';
	out[len] = 0;
	return 0;
}

/* cmd_fs_path, and with hold a hold on the mount found. */
static struct fs_info *resolve(const char *cmd, const char *path,
			       const char **inner, int hold)
{
	const char *abs = path[0] == '/' ? path : "/";
	struct fs_info *fs = NULL;
	int i, best = -1, found = -1, off = 0, n, len;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX; i++) {
		if (!mounts[i].fs)
			continue;
		n = dir_match(mounts[i].dir, abs);
		len = (int)strlen(mounts[i].dir);
		if (n >= 0 && len > best) {	/* the deepest mount wins */
			best = len;
			off = n;
			found = i;
		}
	}
	if (found >= 0) {
		fs = mounts[found].fs;
		mounts[found].holds += hold;
	}
	spin_unlock(&mounts_lock);
	if (!fs) {
		con_eprintf("%s: %s: no filesystem mounted there (use: mount "
			    "DISK [DIR])\n", cmd, path);
		return NULL;
	}
	/* a relative path counts from the root filesystem's top */
	*inner = path[0] != '/' ? path : path[off] ? path + off : "/";
	return fs;
}

struct fs_info *cmd_fs_path(const char *cmd, const char *path,
			    const char **inner)
{
	return resolve(cmd, path, inner, 0);
}

struct fs_info *cmd_fs_path_hold(const char *cmd, const char *path,
				 const char **inner)
{
	return resolve(cmd, path, inner, 1);
}

void cmd_fs_release(struct fs_info *fs)
{
	int i;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX; i++)
		if (mounts[i].fs == fs && mounts[i].holds) {
			mounts[i].holds--;
			break;
		}
	spin_unlock(&mounts_lock);
}

struct fs_info *cmd_fs_mounted(const char *cmd)
{
	const char *inner;

	return cmd_fs_path(cmd, "/", &inner);
}

/* The entry of disk or of dir (exact), or -1; caller holds mounts_lock. */
static int find_locked(const char *disk, const char *dir)
{
	int i;

	for (i = 0; i < MOUNTS_MAX; i++)
		if (mounts[i].fs && ((disk && !strcmp(mounts[i].disk, disk)) ||
				     (dir && !strcmp(mounts[i].dir, dir))))
			return i;
	return -1;
}

int cmd_fs_each(struct fs_info **v, int max)
{
	int i, n = 0;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX && n < max; i++)
		if (mounts[i].fs)
			v[n++] = mounts[i].fs;
	spin_unlock(&mounts_lock);
	return n;
}

int cmd_fs_mounts(struct cmd_fs_mount *v, int max)
{
	int i, n = 0;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX && n < max; i++) {
		if (!mounts[i].fs)
			continue;
		v[n].fs = mounts[i].fs;
		memcpy(v[n].disk, mounts[i].disk, sizeof(v[n].disk));
		memcpy(v[n].dir, mounts[i].dir, sizeof(v[n].dir));
		n++;
	}
	spin_unlock(&mounts_lock);
	return n;
}

struct fs_info *cmd_fs_by_disk(const char *disk)
{
	struct fs_info *fs;
	int i;

	spin_lock(&mounts_lock);
	i = find_locked(disk, NULL);
	fs = i >= 0 ? mounts[i].fs : NULL;
	spin_unlock(&mounts_lock);
	return fs;
}

int cmd_disk_claim(const char *cmd, const struct blkdev *dev)
{
	int i, free = -1, mounted, busy = 0;

	spin_lock(&mounts_lock);
	mounted = find_locked(dev->name, NULL) >= 0;
	for (i = 0; i < MOUNTS_MAX; i++) {
		busy |= claimed[i] == dev;
		if (!claimed[i] && free < 0)
			free = i;
	}
	if (!mounted && !busy && free >= 0)
		claimed[free] = dev;
	spin_unlock(&mounts_lock);
	if (mounted)
		con_eprintf("%s: %s is mounted; umount it first\n", cmd,
			    dev->name);
	else if (busy || free < 0)
		con_eprintf("%s: %s is busy (a mount, mkfs or fsck works on "
			    "it)\n", cmd, dev->name);
	return mounted || busy || free < 0 ? -EBUSY : 0;
}

void cmd_disk_unclaim(const struct blkdev *dev)
{
	int i;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX; i++)
		if (claimed[i] == dev)
			claimed[i] = NULL;
	spin_unlock(&mounts_lock);
}

const char *cmd_fs_disk_name(const struct fs_info *fs)
{
	const char *name = "?";
	int i;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX; i++)
		if (mounts[i].fs == fs)
			name = mounts[i].disk;
	spin_unlock(&mounts_lock);
	return name;
}

int cmd_fs_sync_all(const char *cmd)
{
	struct fs_info *fs[MOUNTS_MAX];
	char disk[MOUNTS_MAX][8];
	int i, n = 0, r, ret = 0;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX; i++)
		if (mounts[i].fs) {
			memcpy(disk[n], mounts[i].disk, sizeof(disk[n]));
			fs[n++] = mounts[i].fs;
		}
	spin_unlock(&mounts_lock);
	for (i = 0; i < n; i++) {
		r = fs_sync(fs[i]);
		if (r) {
			con_eprintf("%s: %s: %s (errno %d)\n", cmd, disk[i],
				    cmd_fs_err_text(r), -r);
			ret = ret ? ret : r;
		}
	}
	return ret;
}

static void list_mounts(void)
{
	int i;

	spin_lock(&mounts_lock);
	for (i = 0; i < MOUNTS_MAX; i++)
		if (mounts[i].fs)
			con_printf("%s on %s type btrfs (%s%s%s)\n",
				   mounts[i].disk, mounts[i].dir,
				   fs_is_read_only(mounts[i].fs) ? "ro" : "rw",
				   mounts[i].subvol[0] ? "," : "",
				   mounts[i].subvol);
	spin_unlock(&mounts_lock);
}

/* Apply -o's comma-separated options to *mo. */
static int mount_options(char *opts, struct mount_opts *mo)
{
	char *o = opts, *end;

	for (; o; o = end) {
		end = strchr(o, ',');
		if (end)
			*end++ = 0;
		if (!strcmp(o, "ro"))
			mo->flags |= FS_MOUNT_RO;
		else if (!strcmp(o, "rw"))
			mo->flags &= ~FS_MOUNT_RO;
		else if (!strcmp(o, "skip_balance"))
			mo->flags |= FS_MOUNT_SKIP_BALANCE;
		else if (!strncmp(o, "compress", 8) && (!o[8] || o[8] == '=' ||
			 !strncmp(o + 8, "-force", 6))) {
			int force = !strncmp(o + 8, "-force", 6);
			const char *spec = o + 8 + (force ? 6 : 0);

			if ((*spec && *spec != '=') ||
			    fs_compress_parse(*spec ? spec + 1 : NULL, force,
					      &mo->comp)) {
				con_eprintf("mount: bad compression '%s' (want "
					    "zlib[:1-9], lzo, zstd[:1-15] or "
					    "no)\n", o);
				return -EINVAL;
			}
		} else if (!strncmp(o, "subvol=", 7) && o[7] &&
			 strlen(o) < MOUNT_SUBVOL_MAX)
			mo->subvol = o + 7, mo->text = o;
		else if (!strncmp(o, "subvolid=", 9)) {
			if (shell_parse_u64(o + 9, "subvolid", &mo->subvolid))
				return -EINVAL;
			if (!mo->subvolid) {
				con_eprintf("mount: subvolid=0: no subvolume "
					    "has id 0\n");
				return -EINVAL;
			}
			mo->text = o;
		} else {
			con_eprintf("mount: unknown option '%s'\n", o);
			return -EINVAL;
		}
	}
	return 0;
}

/* Check dir (normal) can take a mount: "/" for the first, else an
 * existing directory of a mounted filesystem, not yet a mount point. */
static int check_mount_point(const char *dir)
{
	struct fs_info *fs;
	struct fs_stat st;
	struct fs_ino ino;
	const char *inner;
	int ret;

	spin_lock(&mounts_lock);
	ret = find_locked(NULL, dir) >= 0 ? -EBUSY : 0;
	spin_unlock(&mounts_lock);
	if (ret) {
		con_eprintf("mount: %s is already a mount point\n", dir);
		return ret;
	}
	if (!strcmp(dir, "/"))
		return 0;
	fs = cmd_fs_path("mount", dir, &inner);
	if (!fs)
		return -ENOENT;
	ret = fs_lookup(fs, inner, FS_LOOKUP_FOLLOW, &ino);
	if (ret == 0)
		ret = fs_stat(fs, ino, &st);
	if (ret == 0 && (st.mode & 0170000) != 0040000)
		ret = -ENOTDIR;
	if (ret)
		con_eprintf("mount: %s: %s (errno %d)\n", dir,
			    cmd_fs_err_text(ret), -ret);
	return ret;
}

/* Make the subvolume -o names fs's root; on failure say why and unmount
 * fs. */
static int mount_subvol(struct fs_info *fs, const char *disk,
			const struct mount_opts *mo)
{
	int ret;

	if (!mo->subvol && !mo->subvolid)
		return 0;
	ret = fs_mount_subvol(fs, mo->subvol, mo->subvolid);
	if (ret) {
		con_eprintf("mount: %s: %s: %s (errno %d)\n", disk, mo->text,
			    ret == -EINVAL ? "not a subvolume" :
			    cmd_fs_err_text(ret), ret == -EINVAL ? EINVAL :
			    -ret);
		fs_umount(fs);
	}
	return ret == -EINVAL ? -ENOTDIR : ret;	/* no usage: said why */
}

/* Put fs in a free entry: -EBUSY when dir became a mount point meanwhile
 * (checked first by check_mount_point, unlocked), -ENOSPC when full. */
static int add_mount(struct fs_info *fs, const char *disk, const char *dir,
		     const char *subvol)
{
	int i, ret = -ENOSPC;

	spin_lock(&mounts_lock);
	if (find_locked(NULL, dir) >= 0)
		ret = -EBUSY;	/* a mount in another command came first */
	for (i = 0; i < MOUNTS_MAX && ret == -ENOSPC; i++)
		if (!mounts[i].fs) {
			mounts[i].fs = fs;
			snprintf(mounts[i].disk, sizeof(mounts[i].disk), "%s",
				 disk);
			snprintf(mounts[i].dir, sizeof(mounts[i].dir), "%s",
				 dir);
			snprintf(mounts[i].subvol, sizeof(mounts[i].subvol),
				 "%s", subvol);
			ret = 0;
		}
	spin_unlock(&mounts_lock);
	return ret;
}

/* Mount dev (claimed) at dir (normal) with mo, and enter it in the
 * table. */
static int mount_claimed(struct blkdev *dev, const char *dir,
			 struct mount_opts *mo)
{
	struct fs_info *fs;
	int ret = check_mount_point(dir);

	if (ret)
		return ret;
	ret = fs_mount(dev, mo->flags, &fs);
	if (ret) {
		con_eprintf("mount: %s: %s (errno %d)\n", dev->name,
			    cmd_fs_err_text(ret == -EINVAL ? -ENODEV : ret),
			    ret == -EINVAL ? ENODEV : -ret);
		return ret == -EINVAL ? -ENODEV : ret;
	}
	ret = mount_subvol(fs, dev->name, mo);
	if (ret)
		return ret;
	fs_set_compress(fs, &mo->comp);
	ret = add_mount(fs, dev->name, dir, mo->text);
	if (ret) {
		fs_umount(fs);
		if (ret == -EBUSY)
			con_eprintf("mount: %s is already a mount point\n",
				    dir);
		else
			con_eprintf("mount: %d filesystems are mounted "
				    "already\n", MOUNTS_MAX);
		return ret;
	}
	con_printf("mounted %s %s on %s\n", dev->name,
		   fs_is_read_only(fs) ? "read-only" : "read-write", dir);
	return 0;
}

/* mount [DISK [DIR] [-o OPTS]]; a bare "ro" or "rw" word is -o ro|rw. */
int cmd_mount(int argc, char **argv)
{
	const char *disk = NULL, *dir = "/";
	char norm[MOUNT_DIR_MAX];
	struct mount_opts mo = { 0, NULL, 0, "", { 0 } };
	struct blkdev *dev;
	int i, ret;

	if (argc == 1) {
		list_mounts();
		return 0;
	}
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			ret = mount_options(argv[++i], &mo);
		else if (!strcmp(argv[i], "ro") || !strcmp(argv[i], "rw"))
			ret = mount_options(argv[i], &mo);
		else if (!disk && argv[i][0] != '-')
			disk = argv[i], ret = 0;
		else if (argv[i][0] == '/' && !strcmp(dir, "/"))
			dir = argv[i], ret = 0;
		else {
			con_eprintf("mount: unexpected argument '%s'\n",
				    argv[i]);
			ret = -EINVAL;
		}
		if (ret)
			return -EINVAL;
	}
	if (!disk)
		return -EINVAL;
	if (dir_normalise(dir, norm, sizeof(norm))) {
		con_eprintf("mount: %s: name too long (at most %d bytes)\n",
			    dir, MOUNT_DIR_MAX - 1);
		return -ENAMETOOLONG;
	}
	dir = norm;
	dev = blk_lookup(disk);
	if (!dev) {
		con_eprintf("mount: no disk named '%s'\n", disk);
		return -ENODEV;
	}
	ret = cmd_disk_claim("mount", dev);
	if (ret)
		return ret;
	ret = mount_claimed(dev, dir, &mo);
	cmd_disk_unclaim(dev);
	return ret;
}

/* Nonzero when another mount lies inside entry i's directory; caller
 * holds mounts_lock. */
static int has_mount_inside(int i)
{
	int j;

	for (j = 0; j < MOUNTS_MAX; j++)
		if (j != i && mounts[j].fs &&
		    (!strcmp(mounts[i].dir, "/") ||
		     dir_match(mounts[i].dir, mounts[j].dir) > 0))
			return 1;
	return 0;
}

/* umount [DIR|DISK] (no argument: the filesystem at /). */
int cmd_umount(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "/";
	struct fs_info *fs = NULL;
	int i, inside = 0, holds = 0, busy = jobs_running();
	char disk[8], norm[MOUNT_DIR_MAX];

	if (busy) {
		con_eprintf("umount: %s: busy (%d background jobs run; wait "
			    "for them)\n", what, busy);
		return -EBUSY;
	}
	if (jobs_self_background() || stream_stdio_is_pipe()) {
		con_eprintf("umount: %s: busy (umount runs alone in the "
			    "foreground, not with & or in a pipeline)\n", what);
		return -EBUSY;
	}
	if (what[0] == '/' && !dir_normalise(what, norm, sizeof(norm)))
		what = norm;	/* "/backup/" is "/backup" */
	spin_lock(&mounts_lock);
	i = find_locked(what, what);
	if (i >= 0) {
		inside = has_mount_inside(i);
		holds = mounts[i].holds;
	}
	if (i >= 0 && !inside && !holds) {
		fs = mounts[i].fs;
		memcpy(disk, mounts[i].disk, sizeof(disk));
		mounts[i].fs = NULL;
	}
	spin_unlock(&mounts_lock);
	if (i < 0) {
		con_eprintf("umount: %s: not mounted\n", what);
		return -ENOENT;
	}
	if (inside) {
		con_eprintf("umount: %s: busy (a filesystem is mounted inside "
			    "it)\n", what);
		return -EBUSY;
	}
	if (holds) {
		con_eprintf("umount: %s: busy (a redirection is open on a file "
			    "in it)\n", what);
		return -EBUSY;
	}
	fs_umount(fs);
	con_printf("unmounted %s\n", disk);
	return 0;
}

void cmd_fs_reset(void)
{
	int i;

	for (i = MOUNTS_MAX - 1; i >= 0; i--) {
		fs_umount(mounts[i].fs);
		mounts[i].fs = NULL;
	}
}
