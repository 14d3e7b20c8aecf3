/*
 * The property group in btrfs-progs 6.2's shape:
 *	property get [-t TYPE] OBJECT [NAME]
 *	property set [-f] [-t TYPE] OBJECT NAME VALUE
 *	property list [-t TYPE] OBJECT
 * An object is a path (an inode; a subvolume when it is one's top
 * directory; the filesystem when it is the mount's root) or a disk name
 * (a device). -t names the type (inode, subvol, filesystem, device, or
 * their first letters) when the object has several that a property
 * applies to. Properties: ro (subvolume), label (filesystem, device),
 * compression (inode). `get` without NAME prints every property the
 * object has, in that order; the messages are btrfs-progs'.
 */
#include <ghee/errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/blk.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"

/* Object types, in btrfs-progs' order (get and list go through them so). */
#define OBJ_INODE (1u << 0)
#define OBJ_SUBVOL (1u << 1)
#define OBJ_ROOT (1u << 2)	/* the filesystem */
#define OBJ_DEV (1u << 3)
#define OBJ_ALL 0xfu

/* What an object argument names. */
struct object {
	const char *arg;	/* as typed */
	struct fs_info *fs;
	const char *in;		/* path inside fs (NULL: a device) */
	struct fs_ino ino;	/* the inode (paths only) */
	unsigned types;		/* OBJ_* it is */
};

struct prop {
	const char *name;
	const char *desc;
	unsigned types;
	/* Print "name=value" (value NULL), or set it; 0 or <0 after
	 * saying why. */
	int (*fn)(const struct object *o, const char *value, int force);
};

/* Print "ERROR: what" as btrfs-progs does and return ret. */
static int fail(int ret, const char *what, const char *arg)
{
	con_eprintf("ERROR: %s%s\n", what, arg);
	return ret;
}

static int prop_ro(const struct object *o, const char *value, int force)
{
	static const uint8_t none[16];
	struct fs_subvol *sv = kmalloc(sizeof(*sv));
	int ro = value && !strcmp(value, "true"), ret, received;

	if (!sv)
		return fail(-ENOMEM, "out of memory: ", o->arg);
	ret = fs_subvol_get(o->fs, o->in, sv);
	if (ret) {
		fail(ret, "failed to read the subvolume of ", o->arg);
		goto out;
	}
	if (!value) {
		con_printf("ro=%s\n", sv->read_only ? "true" : "false");
		goto out;
	}
	if (!ro && strcmp(value, "false")) {
		ret = fail(-EINVAL, "invalid value for property: ", value);
		goto out;
	}
	received = memcmp(sv->received_uuid, none, sizeof(none)) != 0;
	if (sv->read_only == ro)
		goto out;
	if (sv->read_only && received && !force) {
		ret = fail(-EPERM, "cannot flip ro->rw with received_uuid "
			   "set, use force if you really want that", "");
		goto out;
	}
	if (!sv->read_only && received)
		con_eprintf("WARNING: read-write subvolume with received_uuid, "
			    "this is bad\n");
	ret = fs_subvol_set_ro(o->fs, o->in, ro);
	if (ret)
		fail(ret, "failed to set the read-only flag of ", o->arg);
	/* -f: a writable subvolume no longer matches what it received */
	else if (!ro && received &&
		 fs_subvol_set_received(o->fs, o->in, none, 0))
		con_eprintf("WARNING: failed to clear received_uuid\n");
out:
	kfree(sv);
	return ret;
}

static int prop_label(const struct object *o, const char *value, int force)
{
	struct fs_ident *id;
	int ret;

	(void)force;
	if (value) {
		if (strlen(value) >= 256)
			return fail(-EINVAL, "label is too long (max 255): ",
				    value);
		ret = fs_label_set(o->fs, value);
		return ret ? fail(ret, "cannot set the label of ", o->arg) : 0;
	}
	id = kmalloc(sizeof(*id));
	ret = id ? fs_ident(o->fs, id) : -ENOMEM;
	if (ret == 0)
		con_printf("label=%s\n", id->label);
	else
		fail(ret, "cannot read the label of ", o->arg);
	kfree(id);
	return ret;
}

static int prop_compression(const struct object *o, const char *value,
			    int force)
{
	char v[32];
	int ret;

	(void)force;
	if (value) {
		ret = fs_compress_prop_set(o->fs, o->ino, value);
		if (ret == -EINVAL)
			return fail(ret, "invalid compression (want zlib, lzo, "
				    "zstd, no, none or ''): ", value);
		return ret ? fail(ret, "failed to set compression for ",
				  o->arg) : 0;
	}
	ret = fs_compress_prop_get(o->fs, o->ino, v, sizeof(v));
	if (ret == 0)
		con_printf("compression=%s\n", v);
	else if (ret != -ENODATA)	/* none set: nothing to print */
		return fail(ret, "failed to get compression for ", o->arg);
	return 0;
}

static const struct prop props[] = {
	{ "ro", "read-only status of a subvolume", OBJ_SUBVOL, prop_ro },
	{ "label", "label of the filesystem", OBJ_DEV | OBJ_ROOT, prop_label },
	{ "compression", "compression algorithm for the file or directory",
	  OBJ_INODE, prop_compression },
};
#define NPROPS (sizeof(props) / sizeof(props[0]))

/* What types the object o->arg is (all of them unless -t said one). */
static int object_find(struct object *o, unsigned only)
{
	struct fs_ino top;
	int ret;

	o->types = 0;
	o->in = NULL;
	if (!strchr(o->arg, '/') && blk_lookup(o->arg)) {
		o->fs = cmd_fs_by_disk(o->arg);
		if (!o->fs)
			return fail(-ENOENT, "not mounted (mount it first): ",
				    o->arg);
		o->types = OBJ_DEV;
	} else {
		o->fs = cmd_fs_path("property", o->arg, &o->in);
		if (!o->fs)
			return -ENOENT;
		ret = fs_lookup(o->fs, o->in, FS_LOOKUP_FOLLOW, &o->ino);
		if (ret == 0)
			ret = fs_lookup(o->fs, "/", 0, &top);
		if (ret) {
			con_eprintf("ERROR: failed to detect object type: "
				    "%s\n", cmd_fs_strerror(ret));
			return ret;
		}
		o->types = OBJ_INODE;
		if (o->ino.ino == 256)
			o->types |= OBJ_SUBVOL;
		if (o->ino.root == top.root && o->ino.ino == top.ino)
			o->types |= OBJ_ROOT;
	}
	if (only)
		o->types &= only;
	return 0;
}

/* Parse [-f] [-t TYPE] OBJECT [ARGS...]: *obj the index of OBJECT.
 * 0, -EINVAL (usage) or 1 (said why). */
static int parse(int argc, char **argv, int allow_force, int *obj,
		 unsigned *only, int *force)
{
	static const char *const names[] = { "inode", "subvol", "filesystem",
					     "device" };
	int i = 1, t;

	*only = 0;
	*force = 0;
	for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (allow_force && !strcmp(argv[i], "-f")) {
			*force = 1;
			continue;
		}
		if (strcmp(argv[i], "-t") || i + 1 == argc)
			return -EINVAL;
		for (t = 0, i++; t < 4; t++)
			if (!strcmp(argv[i], names[t]) ||
			    (argv[i][0] == names[t][0] && !argv[i][1]))
				break;
		if (t == 4)
			return fail(1, "invalid object type: ", argv[i]);
		*only = 1u << t;
	}
	*obj = i;
	return i < argc ? 0 : -EINVAL;
}

/* Print every property the object has: values (get), or names and
 * descriptions (list). */
static int dump(const struct object *o, int names)
{
	unsigned t;
	size_t p;
	int ret;

	for (p = 0; p < NPROPS; p++) {
		for (t = 1; t <= OBJ_ALL; t <<= 1) {
			if (!(o->types & t & props[p].types))
				continue;
			if (names) {
				con_printf("%-20s%s\n", props[p].name,
					   props[p].desc);
				continue;
			}
			ret = props[p].fn(o, NULL, 0);
			if (ret)
				return 1;
		}
	}
	return 0;
}

/* get or set property name of o (value NULL: get). */
static int get_or_set(struct object *o, const char *name, const char *value,
		      int force)
{
	const struct prop *p = NULL;
	size_t i;

	for (i = 0; i < NPROPS && !p; i++)
		if (!strcmp(props[i].name, name))
			p = &props[i];
	if (!p)
		return fail(1, "unknown property: ", name);
	if (!(o->types & p->types))
		return fail(1, "object is not compatible with property: ",
			    name);
	if ((o->types & p->types) & ((o->types & p->types) - 1))
		return fail(1, "type of object is ambiguous, please use "
			    "option -t", "");
	return p->fn(o, value, force) ? 1 : 0;
}

/* The start every property command shares: its options, then OBJECT
 * and between min and max arguments after it; o is the object found,
 * *i OBJECT's index. 0, -EINVAL (usage) or 1 (said why). */
static int begin(int argc, char **argv, int allow_force, int min, int max,
		 struct object *o, int *i, int *force)
{
	unsigned only;
	int ret = parse(argc, argv, allow_force, i, &only, force);

	if (ret)
		return ret;
	if (argc - *i - 1 < min || argc - *i - 1 > max)
		return -EINVAL;
	o->arg = argv[*i];
	return object_find(o, only) ? 1 : 0;
}

int cmd_property_get(int argc, char **argv)
{
	struct object o;
	int force, i, ret = begin(argc, argv, 0, 0, 1, &o, &i, &force);

	if (ret)
		return ret;
	return i + 1 < argc ? get_or_set(&o, argv[i + 1], NULL, 0) :
			      dump(&o, 0);
}

int cmd_property_set(int argc, char **argv)
{
	struct object o;
	int force, i, ret = begin(argc, argv, 1, 2, 2, &o, &i, &force);

	return ret ? ret : get_or_set(&o, argv[i + 1], argv[i + 2], force);
}

int cmd_property_list(int argc, char **argv)
{
	struct object o;
	int force, i, ret = begin(argc, argv, 0, 0, 0, &o, &i, &force);

	return ret ? ret : dump(&o, 1);
}
