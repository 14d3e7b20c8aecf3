/*
 * `send`, as btrfs-progs 6.2's `btrfs send`: write a send stream of
 * read-only subvolumes to a file (-f FILE in a mounted filesystem, or a
 * raw disk named by itself, written from byte 0) or to the command's
 * standard output (refused when that is the console, as btrfs-progs
 * refuses a terminal).
 *
 *   send [-eq] [--proto 0|1|2] [--no-data] [--compressed-data] [-f OUT]
 *        SUBVOL...
 *
 *   send ... -p PARENT SUBVOL...	(incremental: the changes since PARENT)
 *
 * Several subvolumes make several streams one after another, each with
 * its header and END; with -e one header and one END around them all.
 * "At subvol PATH" goes to the error stream for each, unless -q.
 * -c CLONE_SRC (repeatable) names read-only subvolumes the receiver has,
 * to clone extents from. --compressed-data sends compressed extents as
 * they are stored (ENCODED_WRITE; version 2, the default with it). Unlike
 * btrfs-progs, -c without -p does not pick
 * a parent among the clone sources: the send is a full one.
 */
#include <ghee/errno.h>
#include <stdint.h>
#include <string.h>

#include <ghee/console.h>

#include "../fs/send.h"
#include "../fs/send_format.h"
#include "cmd_fs.h"
#include "cmd_send.h"
#include "shell.h"
#include "stream.h"

#define SEND_CLONES_MAX 16	/* -c options */

/* The options of one send command. */
struct send_args {
	uint32_t proto;		/* stream version */
	int proto_given;	/* --proto was given */
	unsigned flags;		/* FS_SEND_NO_DATA, FS_SEND_COMPRESSED */
	int quiet;		/* -q */
	int one_stream;		/* -e: one header and END for all */
	const char *out;	/* -f OUT, or NULL: standard output */
	const char *parent;	/* -p PARENT, or NULL: a full send */
	const char *clones[SEND_CLONES_MAX];	/* -c CLONE_SRC */
	uint32_t nclones;
	int first;		/* argv index of the first SUBVOL */
};

static int parse(int argc, char **argv, struct send_args *a)
{
	int i;

	static const char *const valued[] = { "-f", "-p", "-c", "--proto",
					      NULL };

	memset(a, 0, sizeof(*a));
	a->proto = SEND_VERSION_1;
	shell_options_first(argc, argv, valued);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		uint64_t v;

		if (!strcmp(o, "-e")) {
			a->one_stream = 1;
		} else if (!strcmp(o, "-q") || !strcmp(o, "--quiet")) {
			a->quiet = 1;
		} else if (!strcmp(o, "-v") || !strcmp(o, "--verbose")) {
			continue;
		} else if (!strcmp(o, "--no-data")) {
			a->flags |= FS_SEND_NO_DATA;
		} else if (!strcmp(o, "--compressed-data")) {
			a->flags |= FS_SEND_COMPRESSED;
		} else if (!strcmp(o, "-f") && i + 1 < argc) {
			a->out = argv[++i];
		} else if (!strcmp(o, "--proto") && i + 1 < argc) {
			if (shell_parse_u64(argv[++i], "protocol", &v))
				return -EINVAL;
			if (v > SEND_VERSION_2) {
				con_eprintf("ERROR: unsupported protocol "
					    "version %llu\n",
					    (unsigned long long)v);
				return -EPROTONOSUPPORT;
			}
			a->proto = v ? (uint32_t)v : SEND_VERSION_2;
			a->proto_given = 1;
		} else if (!strcmp(o, "-p") && i + 1 < argc) {
			a->parent = argv[++i];
		} else if (!strcmp(o, "-c") && i + 1 < argc) {
			if (a->nclones == SEND_CLONES_MAX) {
				con_eprintf("ERROR: at most %d clone sources\n",
					    SEND_CLONES_MAX);
				return -E2BIG;
			}
			a->clones[a->nclones++] = argv[++i];
		} else {
			return -EINVAL;
		}
	}
	a->first = i;
	if ((a->flags & FS_SEND_COMPRESSED) && a->proto < SEND_VERSION_2) {
		if (a->proto_given) {
			con_eprintf("ERROR: --compressed-data requires "
				    "protocol version >= 2 (requested %u)\n",
				    a->proto);
			return -EPROTONOSUPPORT;
		}
		a->proto = SEND_VERSION_2;
	}
	return i < argc ? 0 : -EINVAL;
}

static int sink(void *ctx, const void *buf, size_t len)
{
	return stream_write(ctx, buf, len);
}

/* The id of the read-only subvolume at path (a parent or clone source,
 * what), which must be in filesystem fs. */
static int source_id(struct fs_info *fs, const char *what, const char *path,
		     uint64_t *id)
{
	struct fs_subvol sv;
	const char *in;
	struct fs_info *sfs = cmd_fs_path("send", path, &in);
	int ret;

	if (!sfs)
		return -ENOENT;
	ret = sfs != fs ? -EXDEV : fs_subvol_get(sfs, in, &sv);
	if (ret) {
		con_eprintf("ERROR: cannot use %s %s: %s\n", what, path,
			    ret == -EXDEV ? "not on the same filesystem" :
			    ret == -EINVAL ? "not a subvolume" :
			    cmd_fs_err_text(ret));
		return ret;
	}
	if (!sv.read_only) {
		con_eprintf("ERROR: %s subvolume %s is not read-only\n",
			    what, path);
		return -EROFS;
	}
	*id = sv.id;
	return 0;
}

/* Send the subvolume at path into s; first and last: whether it is the
 * first and the last of the SUBVOLs (with -e, one header and one END). */
static int send_one(const struct send_args *a, struct stream *s,
		    const char *path, int first, int last)
{
	struct fs_send_opts o = { .proto = a->proto, .flags = a->flags,
				  .write = sink, .ctx = s };
	struct fs_subvol sv;
	const char *in, *name;
	struct fs_info *fs = cmd_fs_path("send", path, &in);
	uint64_t clones[SEND_CLONES_MAX];
	uint32_t i;
	int ret;

	if (!fs)
		return -ENOENT;
	ret = fs_subvol_get(fs, in, &sv);
	if (ret) {
		con_eprintf("ERROR: cannot find subvolume %s: %s\n", path,
			    ret == -EINVAL ? "not a subvolume" :
			    cmd_fs_err_text(ret));
		return ret;
	}
	if (!sv.read_only) {
		con_eprintf("ERROR: subvolume %s is not read-only\n", path);
		return -EROFS;
	}
	if (a->parent) {
		ret = source_id(fs, "parent", a->parent, &o.parent);
		if (ret)
			return ret;
	}
	for (i = 0; i < a->nclones; i++) {
		ret = source_id(fs, "clone source", a->clones[i], &clones[i]);
		if (ret)
			return ret;
	}
	o.clones = clones;
	o.nclones = a->nclones;
	if (a->one_stream && !first)
		o.flags |= FS_SEND_OMIT_HEADER;
	if (a->one_stream && !last)
		o.flags |= FS_SEND_OMIT_END;
	if (!a->quiet)
		con_eprintf("At subvol %s\n", path);
	name = strrchr(sv.path, '/');
	name = name ? name + 1 : sv.path;
	ret = fs_send(fs, sv.id, name, &o);
	if (ret == -EROFS)
		con_eprintf("ERROR: subvolume %s is not read-only\n", path);
	else if (ret)
		con_eprintf("ERROR: send ioctl failed with %d: %s\n", ret,
			    cmd_fs_err_text(ret));
	return ret;
}

int cmd_send(int argc, char **argv)
{
	struct send_args a;
	struct stream *s;
	int i, ret = parse(argc, argv, &a);

	if (ret)
		return ret;
	if (a.out) {
		ret = stream_open("send", a.out, STREAM_WRITE, &s);
		if (ret)
			return ret;
	} else {
		s = stream_stdout();
		if (stream_is_console(s)) {
			con_eprintf("ERROR: not dumping send stream into a "
				    "terminal, redirect it into a file\n");
			return -ENOTTY;
		}
	}
	for (i = a.first; i < argc && ret == 0; i++)
		ret = send_one(&a, s, argv[i], i == a.first, i == argc - 1);
	if (a.out) {
		int r = stream_close(s);

		if (ret == 0 && r)
			con_eprintf("ERROR: %s: %s\n", a.out,
				    cmd_fs_err_text(r));
		ret = ret ? ret : r;
	}
	return ret;
}
