/*
 * btrfs receive [-e] [-E N] [-q] [-f FILE] [--force-decompress] [--dump]
 * [DIR]: make
 * subvolumes under DIR from send streams (fs_receive), or with --dump
 * print the stream's commands as btrfs-progs 6.2 does (fs_receive_dump).
 * The stream comes from FILE (a file in a mounted filesystem or a raw
 * disk read from byte 0) or, without -f, from standard input.
 * Dump lines go to the output, notes ("At subvol NAME") and errors to
 * the error stream, as btrfs-progs writes them to stdout and stderr.
 */
#include <string.h>

#include <ghee/console.h>
#include <ghee/errno.h>

#include "cmd_fs.h"
#include "cmd_subvol.h"
#include "shell.h"
#include "stream.h"

/* What receive's options asked. */
struct receive_opts {
	const char *file;	/* -f, or NULL: standard input */
	int dump;		/* --dump */
	int quiet;		/* -q: no notes */
	int honor_end;		/* -e */
	int force_decompress;	/* --force-decompress */
	uint64_t max_errors;	/* -E, default 1 */
	const char *dir;	/* DIR */
};

static long read_stream(void *ctx, void *buf, size_t len)
{
	return stream_read(ctx, buf, len);
}

static void say(void *ctx, enum fs_receive_say kind, const char *msg, int err)
{
	const struct receive_opts *o = ctx;

	if (kind == FS_RECEIVE_OUT)
		con_printf("%s\n", msg);
	else if (kind == FS_RECEIVE_INFO && !o->quiet)
		con_eprintf("%s\n", msg);
	else if (kind == FS_RECEIVE_ERROR && err)
		con_eprintf("ERROR: %s: %s (errno %d)\n", msg,
			    cmd_fs_err_text(err), -err);
	else if (kind == FS_RECEIVE_ERROR)
		con_eprintf("ERROR: %s\n", msg);
}

/* Parse the options; -EINVAL prints the usage. */
static int parse(int argc, char **argv, struct receive_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->max_errors = 1;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dump"))
			o->dump = 1;
		else if (!strcmp(argv[i], "-e"))
			o->honor_end = 1;
		else if (!strcmp(argv[i], "-q"))
			o->quiet = 1;
		else if (!strcmp(argv[i], "--force-decompress"))
			o->force_decompress = 1;
		else if (!strcmp(argv[i], "-f") && i + 1 < argc)
			o->file = argv[++i];
		else if (!strcmp(argv[i], "-E") && i + 1 < argc) {
			if (shell_parse_u64(argv[++i], "receive -E",
					    &o->max_errors))
				return -EINVAL;
		} else if (argv[i][0] == '-' || o->dir)
			return -EINVAL;
		else
			o->dir = argv[i];
	}
	return !o->dump && !o->dir ? -EINVAL : 0;
}

int cmd_receive(int argc, char **argv)
{
	struct fs_receive_args a = { 0 };
	struct receive_opts o;
	struct fs_info *fs = NULL;
	struct stream *in;
	int ret = parse(argc, argv, &o);

	if (ret)
		return ret;
	if (!o.dump) {
		fs = cmd_fs_path("receive", o.dir, &a.dir);
		if (!fs)
			return -ENOENT;
	}
	if (o.file) {
		ret = stream_open("receive", o.file, STREAM_READ, &in);
		if (ret)
			return ret;
	} else {
		in = stream_stdin();
		if (stream_is_console(in)) {
			con_eprintf("receive: the stream comes from -f FILE or "
				    "a pipe, not the console\n");
			return -ENOTTY;
		}
	}
	a.shown_dir = o.dir;
	a.read = read_stream;
	a.read_ctx = in;
	a.honor_end = o.honor_end;
	a.max_errors = o.max_errors;
	a.force_decompress = o.force_decompress;
	a.say = say;
	a.say_ctx = &o;
	ret = o.dump ? fs_receive_dump(&a) : fs_receive(fs, &a);
	if (o.file)
		stream_close(in);
	/* said already; -EINVAL would make the shell print the usage */
	return ret == -EINVAL ? -EBADMSG : ret;
}
