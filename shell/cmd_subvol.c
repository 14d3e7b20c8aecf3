/*
 * `subvolume` commands, in btrfs-progs 6.2's shape: the
 * same options, messages and output columns, on the mounted filesystem
 * (paths are inside it, "/" its top). Each subcommand parses its own
 * options and prints its usage on bad arguments.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/format.h"
#include "../lib/uuid.h"
#include "cmd_fs.h"
#include "cmd_qgroup.h"
#include "cmd_subvol.h"
#include "shell.h"
#include "units.h"

/* Print "cmd: what: reason" and return err. */
static int fail(const char *cmd, const char *what, int err)
{
	con_eprintf("ERROR: %s: %s: %s (errno %d)\n", cmd, what,
		    err == -EINVAL ? "not a subvolume" :
		    err == -EPERM ? "operation not permitted" :
		    cmd_fs_err_text(err), -err);
	return err;
}

/* "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", or "-" for the zero UUID. */
static void uuid_string(const uint8_t *u, char *out)
{
	static const uint8_t zero[16];

	if (!memcmp(u, zero, 16))
		strcpy(out, "-");
	else
		uuid_text(u, out);
}

/* The options of subvolume create and snapshot, wherever they stand:
 * -i QGROUPID into qi and, where ro is not NULL (snapshot), -r. Sets *i
 * to the first other argument. 0 or -EINVAL. */
static int create_opts(int argc, char **argv, int *i,
		       struct fs_qgroup_inherit *qi, int *ro)
{
	static const char *const valued[] = { "-i", NULL };

	memset(qi, 0, sizeof(*qi));
	shell_options_first(argc, argv, valued);
	for (*i = 1; *i < argc && argv[*i][0] == '-'; (*i)++) {
		if (ro && !strcmp(argv[*i], "-r")) {
			*ro = 1;
			continue;
		}
		if (strcmp(argv[*i], "-i") || *i + 1 == argc ||
		    qi->n == FS_QGROUP_INHERIT_MAX ||
		    cmd_qgroup_parse_id(argv[*i + 1], &qi->ids[qi->n]))
			return -EINVAL;
		qi->n++;
		(*i)++;
	}
	return 0;
}

int cmd_subvolume_create(int argc, char **argv)
{
	struct fs_qgroup_inherit qi;
	int i = 1, ret = 0;

	if (create_opts(argc, argv, &i, &qi, NULL) || argc - i < 1)
		return -EINVAL;
	for (; i < argc; i++) {
		const char *in;
		struct fs_info *fs = cmd_fs_path("subvolume create", argv[i],
						 &in);
		int r = fs ? fs_subvol_create_inherit(fs, in, &qi) : -ENOENT;

		if (!fs)
			ret = r;
		else if (r)
			ret = fail("cannot create subvolume", argv[i], r);
		else
			con_printf("Create subvolume '%s'\n", argv[i]);
	}
	return ret;
}

/* The last component of path. */
static const char *base_name(const char *path)
{
	size_t n = strlen(path);
	const char *s;

	while (n > 1 && path[n - 1] == '/')
		n--;
	for (s = path + n; s > path && s[-1] != '/'; s--)
		;
	return s;
}

int cmd_subvolume_snapshot(int argc, char **argv)
{
	struct fs_qgroup_inherit qi;
	struct fs_info *fs, *dfs;
	const char *src, *dst, *sin, *din;
	char *path = NULL;
	struct fs_ino ino;
	struct fs_stat st;
	int ro = 0, i, ret;

	if (create_opts(argc, argv, &i, &qi, &ro) || argc - i != 2)
		return -EINVAL;
	src = argv[i];
	dst = argv[i + 1];
	fs = cmd_fs_path("subvolume snapshot", src, &sin);
	dfs = fs ? cmd_fs_path("subvolume snapshot", dst, &din) : NULL;
	if (!dfs)
		return -ENOENT;
	/* An existing directory receives the snapshot under src's name. */
	if (fs_lookup(dfs, din, FS_LOOKUP_FOLLOW, &ino) == 0 &&
	    fs_stat(dfs, ino, &st) == 0 && (st.mode & 0170000) == 0040000) {
		path = kmalloc(4096);
		if (!path)
			return fail("snapshot", dst, -ENOMEM);
		snprintf(path, 4096, "%s/%s", dst, base_name(src));
		dst = path;
		dfs = cmd_fs_path("subvolume snapshot", dst, &din);
	}
	ret = fs != dfs ? -EXDEV :
	      fs_subvol_snapshot_inherit(fs, sin, din,
					 ro ? FS_SNAP_RDONLY : 0, &qi);
	if (ret)
		fail("cannot snapshot", src, ret);
	else
		con_printf("Create a %ssnapshot of '%s' in '%s'\n",
			   ro ? "readonly " : "", src, dst);
	kfree(path);
	return ret;
}

/* Parse a decimal subvolume id; 0 when not one. */
static uint64_t parse_id(const char *s)
{
	uint64_t v = 0;

	if (!*s)
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > UINT64_MAX / 10 - 1)
			return 0;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	return v;
}

/* The filesystem holding path (default /), and in *in the path inside
 * it; NULL after saying there is none. */
static struct fs_info *fs_of(const char *cmd, const char *path,
			     const char **in)
{
	return cmd_fs_path(cmd, path ? path : "/", in);
}

int cmd_subvolume_delete(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	int i = 1, commit = 0, by_id = 0, ret = 0;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-c") || !strcmp(argv[i], "--commit-after"))
			commit = 'c';
		else if (!strcmp(argv[i], "-C") ||
			 !strcmp(argv[i], "--commit-each"))
			commit = 'C';
		else if (!strcmp(argv[i], "-i") ||
			 !strcmp(argv[i], "--subvolid"))
			by_id = 1;
		else
			break;
	}
	if (i >= argc || (by_id && (argc - i > 2 || !parse_id(argv[i]))))
		return -EINVAL;
	if (by_id) {	/* -i ID [PATH]: the filesystem PATH is on */
		fs = fs_of("subvolume delete", argv[i + 1], &in);
		if (!fs)
			return -ENOENT;
		argc = i + 1;
	}
	for (; i < argc; i++) {
		int r;

		if (!by_id)
			fs = fs_of("subvolume delete", argv[i], &in);
		if (!fs) {
			ret = -ENOENT;
			continue;
		}
		r = by_id ? fs_subvol_delete(fs, NULL, parse_id(argv[i])) :
			    fs_subvol_delete(fs, in, 0);

		con_printf("Delete subvolume (%s): '%s'\n",
			   commit ? "commit" : "no-commit", argv[i]);
		if (r == 0 && (commit == 'C' || (commit == 'c' && i == argc - 1)))
			r = fs_sync(fs);
		if (r)
			ret = fail("cannot delete", argv[i], r);
	}
	return ret;
}

int cmd_subvolume_sync(int argc, char **argv)
{
	struct fs_info *fs;
	const char *in;
	int i = 1, ret = 0;

	if (i + 1 < argc && !strcmp(argv[i], "-s"))
		i += 2;	/* the poll interval: ghee is woken, it need not poll */
	if (i < argc && argv[i][0] == '-')
		return -EINVAL;
	fs = fs_of("subvolume sync", i < argc ? argv[i] : NULL, &in);
	if (!fs)
		return -ENOENT;
	for (int j = i + 1; j < argc; j++)
		if (!parse_id(argv[j]))
			return -EINVAL;
	if (i + 1 >= argc)
		ret = fs_subvol_sync(fs);
	for (int j = i + 1; j < argc && !ret; j++)
		ret = fs_subvol_sync_id(fs, parse_id(argv[j]));
	return ret ? fail("subvolume sync", "", ret) : 0;
}

/* What subvolume list shows and which subvolumes. */
struct list_opts {
	int parent, all, snaps_only, ro_only, uuid, puuid, below;
	uint64_t below_id;	/* -o: the subvolume PATH names */
};

static int list_print(void *ctx, const struct fs_subvol *sv)
{
	static const uint8_t zero[16];
	const struct list_opts *o = ctx;
	char u[40], when[96];

	if (o->snaps_only && !memcmp(sv->parent_uuid, zero, 16))
		return 0;
	if (o->ro_only && !sv->read_only)
		return 0;
	if (o->below && sv->parent != o->below_id)
		return 0;
	con_printf("ID %llu gen %llu", (unsigned long long)sv->id,
		   (unsigned long long)sv->generation);
	if (o->snaps_only) {
		cmd_fs_time_string(sv->otime.sec, when, sizeof(when));
		con_printf(" cgen %llu", (unsigned long long)sv->otransid);
	}
	if (o->parent)
		con_printf(" parent %llu", (unsigned long long)sv->parent);
	con_printf(" top level %llu", (unsigned long long)sv->parent);
	if (o->snaps_only)
		con_printf(" otime %s", when);
	if (o->puuid) {
		uuid_string(sv->parent_uuid, u);
		con_printf(" parent_uuid %-36s", u);
	}
	if (o->uuid) {
		uuid_string(sv->uuid, u);
		con_printf(" uuid %-36s", u);
	}
	con_printf(" path %s%s\n", o->all ? "<FS_TREE>/" : "", sv->path);
	return 0;
}

/* Parse subvolume list's flags; returns the index of PATH or -1. */
static int list_parse(int argc, char **argv, struct list_opts *o)
{
	int i;
	const char *c;

	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1]; i++)
		for (c = argv[i] + 1; *c; c++) {
			switch (*c) {
			case 'p': o->parent = 1; break;
			case 'a': o->all = 1; break;
			case 's': o->snaps_only = 1; break;
			case 'r': o->ro_only = 1; break;
			case 'u': o->uuid = 1; break;
			case 'q': o->puuid = 1; break;
			case 'o': o->below = 1; break;
			default: return -1;
			}
		}
	return i == argc - 1 ? i : -1;
}

int cmd_subvolume_list(int argc, char **argv)
{
	struct fs_info *fs;
	struct list_opts o;
	struct fs_subvol *sv;
	const char *in;
	int i, ret;

	memset(&o, 0, sizeof(o));
	i = list_parse(argc, argv, &o);
	if (i < 0)
		return -EINVAL;
	fs = fs_of("subvolume list", argv[i], &in);
	if (!fs)
		return -ENOENT;
	sv = kmalloc(sizeof(*sv));
	if (!sv)
		return fail("subvolume list", argv[i], -ENOMEM);
	ret = fs_subvol_get(fs, in, sv);
	if (ret == 0) {
		o.below_id = sv->id;
		ret = fs_subvol_list(fs, list_print, &o);
	}
	if (ret)
		fail("can't list subvolumes", argv[i], ret);
	kfree(sv);
	return ret;
}

/* Print the names of the snapshots of sv (subvolume show). */
struct snaps_ctx {
	const uint8_t *uuid;
};

static int snaps_print(void *ctx, const struct fs_subvol *sv)
{
	const struct snaps_ctx *c = ctx;

	if (!memcmp(sv->parent_uuid, c->uuid, 16))
		con_printf("\t\t\t\t%s\n", sv->path);
	return 0;
}

/* "YYYY-MM-DD HH:MM:SS +0000" of t, or "-" when it is zero (unset). */
static void show_time(const struct fs_time *t, char *out, size_t n)
{
	char when[64];

	if (!t->sec) {
		snprintf(out, n, "-");
		return;
	}
	cmd_fs_time_string(t->sec, when, sizeof(when));
	snprintf(out, n, "%s +0000", when);
}

/* The quota group lines of subvolume show for qgroup 0/id. */
struct show_quota_ctx {
	uint64_t id;
	const struct units *u;
};

static int show_quota(void *ctx, const struct fs_qgroup *g)
{
	const struct show_quota_ctx *c = ctx;
	char a[UNITS_STR_MAX];

	if (g->id != c->id)
		return 0;
	con_printf("\tQuota group:\t\t0/%llu\n", (unsigned long long)c->id);
	if (g->lim_flags & BTRFS_QGROUP_LIMIT_MAX_RFER)
		units_format(c->u, g->max_rfer, a, sizeof(a));
	con_printf("\t  Limit referenced:\t%s\n",
		   g->lim_flags & BTRFS_QGROUP_LIMIT_MAX_RFER ? a : "-");
	if (g->lim_flags & BTRFS_QGROUP_LIMIT_MAX_EXCL)
		units_format(c->u, g->max_excl, a, sizeof(a));
	con_printf("\t  Limit exclusive:\t%s\n",
		   g->lim_flags & BTRFS_QGROUP_LIMIT_MAX_EXCL ? a : "-");
	units_format(c->u, g->rfer, a, sizeof(a));
	con_printf("\t  Usage referenced:\t%s\n", a);
	units_format(c->u, g->excl, a, sizeof(a));
	con_printf("\t  Usage exclusive:\t%s\n", a);
	return 1;
}

/* As btrfs-progs 6.2 prints it, "Send time" included: that line shows
 * the creation time (progs prints the text it formatted last), and the
 * quota group only when quotas are on. */
static void show_one(struct fs_info *fs, const char *arg,
		     const struct fs_subvol *sv, const struct units *u)
{
	struct snaps_ctx c = { sv->uuid };
	struct show_quota_ctx q = { sv->id, u };
	char uuid[40], when[96];

	con_printf("%s\n", sv->id == 5 ? "/" : sv->path);
	con_printf("\tName: \t\t\t%s\n", sv->id == 5 ? "<FS_TREE>" :
		   strrchr(sv->path, '/') ? strrchr(sv->path, '/') + 1 :
		   sv->path);
	uuid_string(sv->uuid, uuid);
	con_printf("\tUUID: \t\t\t%s\n", uuid);
	uuid_string(sv->parent_uuid, uuid);
	con_printf("\tParent UUID: \t\t%s\n", uuid);
	uuid_string(sv->received_uuid, uuid);
	con_printf("\tReceived UUID: \t\t%s\n", uuid);
	show_time(&sv->otime, when, sizeof(when));
	con_printf("\tCreation time: \t\t%s\n", when);
	con_printf("\tSubvolume ID: \t\t%llu\n", (unsigned long long)sv->id);
	con_printf("\tGeneration: \t\t%llu\n",
		   (unsigned long long)sv->generation);
	con_printf("\tGen at creation: \t%llu\n",
		   (unsigned long long)sv->otransid);
	con_printf("\tParent ID: \t\t%llu\n", (unsigned long long)sv->parent);
	con_printf("\tTop level ID: \t\t%llu\n",
		   (unsigned long long)sv->parent);
	con_printf("\tFlags: \t\t\t%s\n", sv->read_only ? "readonly" : "-");
	con_printf("\tSend transid: \t\t%llu\n",
		   (unsigned long long)sv->stransid);
	con_printf("\tSend time: \t\t%s\n", when);
	con_printf("\tReceive transid: \t%llu\n",
		   (unsigned long long)sv->rtransid);
	show_time(&sv->rtime, when, sizeof(when));
	con_printf("\tReceive time: \t\t%s\n", when);
	con_printf("\tSnapshot(s):\n");
	if (fs_subvol_list(fs, snaps_print, &c))
		con_printf("\t\t\t\t(cannot list: %s)\n", arg);
	(void)fs_qgroup_list(fs, show_quota, &q);	/* -ENOTCONN: quotas off */
}

int cmd_subvolume_show(int argc, char **argv)
{
	struct fs_info *fs;
	struct fs_subvol *sv;
	const char *in;
	struct units u;
	int ret;

	argc = units_parse(argc, argv, &u);
	if (argc != 2)
		return -EINVAL;
	fs = fs_of("subvolume show", argv[1], &in);
	if (!fs)
		return -ENOENT;
	sv = kmalloc(sizeof(*sv));
	if (!sv)
		return fail("subvolume show", argv[1], -ENOMEM);
	ret = fs_subvol_get(fs, in, sv);
	if (ret)
		fail("subvolume show", argv[1], ret);
	else
		show_one(fs, argv[1], sv, &u);
	kfree(sv);
	return ret;
}

struct default_ctx {
	uint64_t id;
};

static int default_print(void *ctx, const struct fs_subvol *sv)
{
	const struct default_ctx *c = ctx;

	if (sv->id != c->id)
		return 0;
	con_printf("ID %llu gen %llu top level %llu path %s\n",
		   (unsigned long long)sv->id,
		   (unsigned long long)sv->generation,
		   (unsigned long long)sv->parent, sv->path);
	return 1;
}

int cmd_subvolume_get_default(int argc, char **argv)
{
	struct fs_info *fs;
	struct default_ctx c;
	const char *in;
	int ret;

	if (argc > 2)
		return -EINVAL;
	fs = fs_of("subvolume get-default", argc == 2 ? argv[1] : NULL, &in);
	if (!fs)
		return -ENOENT;
	ret = fs_subvol_default_get(fs, &c.id);
	if (ret)
		return fail("subvolume get-default", "", ret);
	if (c.id == 5) {
		con_printf("ID 5 (FS_TREE)\n");
		return 0;
	}
	ret = fs_subvol_list(fs, default_print, &c);
	return ret ? fail("subvolume get-default", "", ret) : 0;
}

int cmd_subvolume_set_default(int argc, char **argv)
{
	struct fs_info *fs;
	uint64_t id = argc >= 2 ? parse_id(argv[1]) : 0;
	const char *in;
	int ret;

	if (argc < 2 || argc > 3 || !id)
		return -EINVAL;
	fs = fs_of("subvolume set-default", argc == 3 ? argv[2] : NULL, &in);
	if (!fs)
		return -ENOENT;
	ret = fs_subvol_set_default(fs, id);
	return ret ? fail("unable to set a default subvolume", argv[1], ret) :
		     0;
}

