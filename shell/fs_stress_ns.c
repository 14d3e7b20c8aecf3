/*
 * The stress workload's namespace side (see fs_stress.c): namers, which
 * make, link, rename and remove names, and readers, which walk the tree
 * and check every name they meet.
 *
 * Names. A namer makes each name once, as KIND N_S: kind f (file), l
 * (symlink) or d (directory), N the namer, S its serial number. A link or
 * rename gives the inode a new name of the same kind (or an existing one
 * of that kind, for a rename that replaces). So a name always tells the
 * kind of its inode; N << 32 | S is the name's id, and a file or symlink
 * holds the contents of the id it was made with (fs_stress_data.c).
 *
 * Places. OWN is DIR/nN: only namer N changes it, and N keeps the exact
 * list of its names. SHARED is DIR/shared, SUB a directory in SHARED that
 * any namer may remove or move at any time. Directories are made only in
 * OWN and SHARED and moved only into SHARED or, from OWN, within OWN, so
 * a directory in OWN is always empty and SUB holds no directories. A
 * change whose source is in OWN and whose target directory is OWN or
 * SHARED must succeed; any other may find a name gone (-ENOENT) or a
 * directory not empty (-ENOTEMPTY, rmdir): raced.
 *
 * Pins. Namer N also keeps a file DIR/shared/pN, which no one else
 * touches, and now and then replaces it by renaming a new file over it.
 * A rename is atomic, so once pN is made every lookup of it must
 * succeed: readers check.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>

#include "cmd_fs.h"
#include "fs_stress_int.h"

#define VERIFY_EVERY 16		/* namer ops between checks of OWN */

enum place { OWN, SHARED, SUB };

/* Where a directory is, which says what names it may hold. */
enum where {
	AT_TOP,		/* DIR: wN, nN, shared */
	AT_WRITER,	/* DIR/wN: f0.. */
	AT_OWN,		/* DIR/nN: f, l and d names */
	AT_SHARED,	/* DIR/shared: f, l, d names and pins */
	AT_SUB,		/* a d directory away from OWN: f and l names */
	AT_EMPTY,	/* a d directory in OWN: nothing */
};

_Static_assert(NS_PRIVATE_MAX <= 64, "namer_verify_own marks names in a u64");

struct namer_state {
	char own[NS_PRIVATE_MAX][STRESS_NAME_MAX];	/* [own] names in OWN */
	unsigned nown;		/* [own] entries of own[] */
	uint32_t serial;	/* [own] last serial number used */
};

int namer_init(struct stress_task *t)
{
	t->ns = kzalloc(sizeof(*t->ns));
	return t->ns ? 0 : -ENOMEM;
}

void namer_free(struct stress_task *t)
{
	kfree(t->ns);
	t->ns = NULL;
}

/* Parse name as KIND N_S into *kind and *id. 0 or -EINVAL. */
static int parse_name(const char *name, char *kind, uint64_t *id)
{
	const char *p = name + 1;
	uint64_t n, serial;

	*kind = name[0];
	if ((*kind != 'f' && *kind != 'l' && *kind != 'd') ||
	    stress_parse_num(&p, &n) || *p++ != '_' ||
	    stress_parse_num(&p, &serial) || *p || n >> 31 ||
	    serial >> 32)
		return -EINVAL;
	*id = n << 32 | serial;
	return 0;
}

/* Make a new name of kind into name (STRESS_NAME_MAX bytes); its id. */
static uint64_t new_name(struct stress_task *t, char kind, char *name)
{
	uint32_t serial = ++t->ns->serial;

	snprintf(name, STRESS_NAME_MAX, "%c%u_%u", kind, t->nth, serial);
	return (uint64_t)t->nth << 32 | serial;
}

static int own_find(const struct namer_state *ns, const char *name)
{
	unsigned i;

	for (i = 0; i < ns->nown; i++)
		if (!strcmp(ns->own[i], name))
			return (int)i;
	return -1;
}

static void own_add(struct namer_state *ns, const char *name)
{
	strcpy(ns->own[ns->nown++], name);
}

static void own_del(struct namer_state *ns, const char *name)
{
	unsigned i = (unsigned)own_find(ns, name);

	if (i != --ns->nown)
		strcpy(ns->own[i], ns->own[ns->nown]);
}

/* A random place among the first n of OWN, SHARED, SUB; not OWN when it
 * is full and the change adds a name there. */
static enum place rand_place(struct stress_task *t, unsigned n, int adds)
{
	enum place p = (enum place)stress_rand(t, n);

	return p == OWN && adds && t->ns->nown == NS_PRIVATE_MAX ? SHARED : p;
}

/* Pick a random name of one of kinds in OWN into name. 0, 1: none. */
static int pick_own(struct stress_task *t, const char *kinds, char *name)
{
	const struct namer_state *ns = t->ns;
	unsigned i, n = 0, k;

	for (i = 0; i < ns->nown; i++)
		n += strchr(kinds, ns->own[i][0]) != NULL;
	if (n == 0)
		return 1;
	k = (unsigned)stress_rand(t, n);
	for (i = 0; strchr(kinds, ns->own[i][0]) == NULL || k--; i++)
		;
	strcpy(name, ns->own[i]);
	return 0;
}

/* Pick a random name of one of kinds in directory dir into name. 0; 1:
 * none; -ENOENT: dir is gone, which only a SUB dir may be; -EIO: failed
 * (reported). */
static int pick_in(struct stress_task *t, const char *dir, const char *kinds,
		   enum place p, char *name)
{
	struct cmd_fs_dir d = { 0 };
	struct fs_ino ino;
	uint32_t i, n = 0, k;
	int ret = fs_lookup(t->s->fs, dir, 0, &ino);

	if (ret == 0)
		ret = cmd_fs_dir_read(t->s->fs, ino, &d);
	if (ret == 0) {
		t->count[FS_STRESS_READDIR]++;
		for (i = 0; i < d.n; i++)
			n += d.v[i].name[0] && strchr(kinds, d.v[i].name[0]);
		ret = n == 0;
	}
	if (ret == 0) {
		k = (uint32_t)stress_rand(t, n);
		for (i = 0; !d.v[i].name[0] ||
			    !strchr(kinds, d.v[i].name[0]) || k--; i++)
			;
		snprintf(name, STRESS_NAME_MAX, "%s", d.v[i].name);
	}
	cmd_fs_dir_free(&d);
	if (ret < 0 && (ret != -ENOENT || p != SUB))
		ret = stress_fail(t, "list %s: %s (errno %d)", dir,
				  cmd_fs_err_text(ret), -ret);
	return ret;
}

/* Put the path of place p into buf; for SUB pick a directory in SHARED
 * (SHARED itself when there is none). Returns the place used, -ENOENT
 * or -EIO. */
static int place_dir(struct stress_task *t, enum place p, char *buf)
{
	char name[STRESS_NAME_MAX];
	int ret;

	if (p == OWN) {
		stress_path(buf, "%s/n%u", t->s->dir, t->nth);
		return OWN;
	}
	stress_path(buf, "%s/shared", t->s->dir);
	if (p == SHARED)
		return SHARED;
	ret = pick_in(t, buf, "d", SHARED, name);
	if (ret < 0)
		return ret;
	if (ret == 1)
		return SHARED;
	strcat(buf, "/");
	strcat(buf, name);
	return SUB;
}

/* Pick a source name of one of kinds in place p: its path into t->path
 * and its name into name. 0; 1: none; -ENOENT; -EIO. */
static int pick_source(struct stress_task *t, enum place p,
		       const char *kinds, char *name)
{
	int ret = place_dir(t, p, t->path);

	if (ret < 0)
		return ret;
	ret = p == OWN ? pick_own(t, kinds, name) :
			 pick_in(t, t->path, kinds, p, name);
	if (ret == 0) {
		strcat(t->path, "/");
		strcat(t->path, name);
	}
	return ret;
}

/*
 * Judge the result ret of change what (on t->path, and t->path2 when
 * two): 0 done (counted as kind); 1 raced, allowed unless must; -EIO.
 */
static int outcome(struct stress_task *t, int ret, int must,
		   enum fs_stress_count kind, const char *what, int two)
{
	if (ret == 0) {
		t->count[kind]++;
		return 0;
	}
	if (!must && (ret == -ENOENT ||
		      (kind == FS_STRESS_RMDIR && ret == -ENOTEMPTY))) {
		t->count[FS_STRESS_RACED]++;
		return 1;
	}
	return stress_fail(t, "%s %s%s%s: %s (errno %d)", what, t->path,
			   two ? " " : "", two ? t->path2 : "",
			   cmd_fs_err_text(ret), -ret);
}

/* Make a name of kind f, l or d; fill a file. */
static int op_make(struct stress_task *t, char kind)
{
	enum fs_stress_count c = kind == 'f' ? FS_STRESS_CREATE :
				 kind == 'l' ? FS_STRESS_SYMLINK :
				 FS_STRESS_MKDIR;
	char name[STRESS_NAME_MAX], *target = (char *)t->buf;
	struct fs_info *fs = t->s->fs;
	struct fs_ino ino;
	uint64_t id;
	int p = place_dir(t, rand_place(t, kind == 'd' ? 2 : 3, 1), t->path),
	    ret;

	if (p < 0)
		return p == -ENOENT ? 0 : p;
	id = new_name(t, kind, name);
	strcat(t->path, "/");
	strcat(t->path, name);
	if (kind == 'f') {
		ret = fs_create(fs, t->path, 0644, &ino);
	} else if (kind == 'l') {
		namer_link_target(id, target);
		ret = fs_symlink(fs, target, t->path);
	} else {
		ret = fs_mkdir(fs, t->path, 0755);
	}
	ret = outcome(t, ret, p != SUB, c, "make", 0);
	if (ret)
		return ret < 0 ? ret : 0;
	if (p == OWN)
		own_add(t->ns, name);
	if (kind != 'f')
		return 0;
	namer_file_fill(t->s, id, t->buf);
	ret = fs_write(fs, ino, 0, t->buf, namer_file_len(id));
	/* Outside OWN, someone may have removed the new file already. */
	if (ret == -ENOENT && p != OWN)
		t->count[FS_STRESS_RACED]++;
	else if (ret)
		return stress_fail(t, "write %s: %s (errno %d)", t->path,
				   cmd_fs_err_text(ret), -ret);
	return 0;
}

/* Link a file or symlink to a new name. */
static int op_link(struct stress_task *t)
{
	char name[STRESS_NAME_MAX];
	enum place ps = rand_place(t, 3, 0);
	int ret = pick_source(t, ps, "fl", name), pd;

	if (ret)
		return ret == 1 || ret == -ENOENT ? 0 : ret;
	pd = place_dir(t, rand_place(t, 3, 1), t->path2);
	if (pd < 0)
		return pd == -ENOENT ? 0 : pd;
	new_name(t, name[0], name);
	strcat(t->path2, "/");
	strcat(t->path2, name);
	ret = outcome(t, fs_link(t->s->fs, t->path, t->path2),
		      ps == OWN && pd != SUB, FS_STRESS_LINK, "link", 1);
	if (ret == 0 && pd == OWN)
		own_add(t->ns, name);
	return ret < 0 ? ret : 0;
}

/* After renaming t->path (in OWN) to t->path2: the source name is gone,
 * unless both named one inode (then rename does nothing). */
static int renamed_from_own(struct stress_task *t, const char *src, int pd)
{
	struct fs_ino a, b;
	int ret = fs_lookup(t->s->fs, t->path, 0, &a);

	if (ret == -ENOENT) {
		own_del(t->ns, src);
		return 0;
	}
	if (ret == 0 && pd == OWN)
		ret = fs_lookup(t->s->fs, t->path2, 0, &b);
	if (ret == 0 && (pd != OWN || a.ino == b.ino))
		return 0;
	return stress_fail(t, "rename %s %s left the source behind", t->path,
			   t->path2);
}

/* Rename a name to a new name, or over one of the same kind. */
static int op_rename(struct stress_task *t)
{
	char src[STRESS_NAME_MAX], dst[STRESS_NAME_MAX];
	enum place ps = rand_place(t, 3, 0);
	int ret = pick_source(t, ps, ps == SUB ? "fl" : "fld", src), pd,
	    replace;

	if (ret)
		return ret == 1 || ret == -ENOENT ? 0 : ret;
	if (src[0] == 'd')	/* see "Places" above */
		pd = ps == OWN ? rand_place(t, 2, 1) : SHARED;
	else
		pd = rand_place(t, 3, 1);
	pd = place_dir(t, (enum place)pd, t->path2);
	if (pd < 0)
		return pd == -ENOENT ? 0 : pd;
	ret = 1;
	replace = src[0] != 'd' && stress_rand(t, 4) == 0;
	if (replace && pd == OWN)
		ret = pick_own(t, src[0] == 'f' ? "f" : "l", dst);
	else if (replace)
		ret = pick_in(t, t->path2, src[0] == 'f' ? "f" : "l",
			      (enum place)pd, dst);
	if (ret < 0)
		return ret == -ENOENT ? 0 : ret;
	if (ret == 1)
		new_name(t, src[0], dst);
	strcat(t->path2, "/");
	strcat(t->path2, dst);
	ret = outcome(t, fs_rename(t->s->fs, t->path, t->path2),
		      ps == OWN && pd != SUB, FS_STRESS_RENAME, "rename", 1);
	if (ret)
		return ret < 0 ? ret : 0;
	if (pd == OWN && own_find(t->ns, dst) < 0)
		own_add(t->ns, dst);
	return ps == OWN ? renamed_from_own(t, src, pd) : 0;
}

/* Unlink a file or symlink, or remove a directory. */
static int op_remove(struct stress_task *t, int dir)
{
	char name[STRESS_NAME_MAX];
	enum place ps = rand_place(t, dir ? 2 : 3, 0);
	int ret = pick_source(t, ps, dir ? "d" : "fl", name);

	if (ret)
		return ret == 1 || ret == -ENOENT ? 0 : ret;
	ret = dir ? fs_rmdir(t->s->fs, t->path) : fs_unlink(t->s->fs, t->path);
	ret = outcome(t, ret, ps == OWN,
		      dir ? FS_STRESS_RMDIR : FS_STRESS_UNLINK,
		      dir ? "rmdir" : "unlink", 0);
	if (ret == 0 && ps == OWN)
		own_del(t->ns, name);
	return ret < 0 ? ret : 0;
}

/* Make a file in OWN and rename it over DIR/shared/pN. */
static int op_pin(struct stress_task *t)
{
	char name[STRESS_NAME_MAX];
	struct fs_info *fs = t->s->fs;
	struct fs_ino ino;
	uint64_t id = new_name(t, 'f', name);
	int ret;

	stress_path(t->path, "%s/n%u/%s", t->s->dir, t->nth, name);
	stress_path(t->path2, "%s/shared/p%u", t->s->dir, t->nth);
	ret = fs_create(fs, t->path, 0644, &ino);
	if (ret == 0) {
		namer_file_fill(t->s, id, t->buf);
		ret = fs_write(fs, ino, 0, t->buf, namer_file_len(id));
	}
	if (ret == 0)
		ret = fs_rename(fs, t->path, t->path2);
	if (ret)
		return stress_fail(t, "pin %s as %s: %s (errno %d)", t->path,
				   t->path2, cmd_fs_err_text(ret), -ret);
	t->count[FS_STRESS_CREATE]++;
	t->count[FS_STRESS_RENAME]++;
	__atomic_store_n(&t->pinned, 1, __ATOMIC_RELEASE);
	return 0;
}

static int namer_op(struct stress_task *t)
{
	uint64_t r = stress_rand(t, 100);

	if (r < 5)
		return op_pin(t);
	if (r < 18)
		return op_make(t, 'f');
	if (r < 23)
		return op_make(t, 'l');
	if (r < 30)
		return op_make(t, 'd');
	if (r < 41)
		return op_link(t);
	if (r < 62)
		return op_rename(t);
	return op_remove(t, r >= 85);
}

/* Make DIR/nN and pN, then change names and check OWN now and then. */
int namer_run(void *arg)
{
	struct stress_task *t = arg;
	uint64_t n;
	int ret = fs_mkdir(t->s->fs, stress_path(t->path, "%s/n%u",
						 t->s->dir, t->nth), 0755);

	if (ret)
		return stress_fail(t, "mkdir %s: %s (errno %d)", t->path,
				   cmd_fs_err_text(ret), -ret);
	ret = op_pin(t);
	for (n = 0; n < t->s->o.ops && ret == 0 && !stress_stopping(t);
	     n++, stress_op_done(t)) {
		ret = namer_op(t);
		if (ret == 0 && n % VERIFY_EVERY == VERIFY_EVERY - 1)
			ret = namer_verify_own(t);
	}
	return ret;
}

/*
 * The walk. Each entry's name must be one made in that place, its type
 * the kind the name says, its inode there (stat) with that type and at
 * least one link, and its contents what was written (fs_stress_data.c).
 */
static int walk_dir(struct stress_task *t, struct fs_ino ino,
		    enum where at, unsigned n);

/* Whether name may be in a directory at `at`: 0 and the type it must
 * have, the place of its entries (directories) and its number (wN, nN,
 * fN of a writer), or -EINVAL. */
static int name_rule(const struct stress_task *t, const char *name,
		     enum where at, unsigned *type, enum where *child,
		     uint64_t *num)
{
	const char *p = name + 1;
	char kind;

	if (at == AT_TOP && !strcmp(name, "shared")) {
		*type = FS_FT_DIR;
		*child = AT_SHARED;
		*num = 0;
		return 0;
	}
	if (at == AT_TOP || at == AT_WRITER) {
		*type = at == AT_TOP ? FS_FT_DIR : FS_FT_REG;
		*child = name[0] == 'w' ? AT_WRITER : AT_OWN;
		if (stress_parse_num(&p, num) || *p)
			return -EINVAL;
		if (at == AT_WRITER)
			return name[0] == 'f' && *num < WRITER_FILES ? 0 :
			       -EINVAL;
		return (name[0] == 'w' && *num < stress_writers(t->s)) ||
		       (name[0] == 'n' && *num < stress_namers(t->s)) ? 0 :
		       -EINVAL;
	}
	if (at == AT_SHARED && name[0] == 'p') {
		*type = FS_FT_REG;
		return stress_parse_num(&p, num) || *p ||
		       *num >= stress_namers(t->s) ? -EINVAL : 0;
	}
	if (at == AT_EMPTY || parse_name(name, &kind, num) ||
	    *num >> 32 >= stress_namers(t->s) ||
	    (kind == 'd' && at == AT_SUB))
		return -EINVAL;
	*type = kind == 'f' ? FS_FT_REG : kind == 'l' ? FS_FT_SYMLINK :
		FS_FT_DIR;
	/* Only the owner, or anyone once settled, knows that a directory
	 * in OWN stays there (and so empty) while it is walked. */
	*child = at == AT_OWN && (t->s->settled || t->role == ROLE_NAMER) ?
		 AT_EMPTY : AT_SUB;
	return 0;
}

/* Check entry e, whose path is t->path, of a directory at `at` (number n
 * of its kind for wN). */
static int check_entry(struct stress_task *t, const struct cmd_fs_dirent *e,
		       enum where at, unsigned n)
{
	static const uint32_t fmt[] = {
		[FS_FT_REG] = S_IFREG_, [FS_FT_DIR] = S_IFDIR_,
		[FS_FT_SYMLINK] = S_IFLNK_,
	};
	struct fs_stat st;
	enum where child;
	unsigned type;
	uint64_t num;
	int ret;

	if (name_rule(t, e->name, at, &type, &child, &num))
		return stress_fail(t, "%s: a name no task makes there",
				   t->path);
	if (e->type != type)
		return stress_fail(t, "%s: entry of type %u, want %u", t->path,
				   e->type, type);
	ret = fs_stat(t->s->fs, e->ino, &st);
	if (ret)
		return stress_vanished(t, t->path, e->ino, ret);
	t->count[FS_STRESS_STAT]++;
	if ((st.mode & S_IFMT_) != fmt[type] || st.nlink == 0)
		return stress_fail(t, "%s: inode %llu has mode %o and %u "
				   "links; its entry says type %u", t->path,
				   (unsigned long long)e->ino.ino, st.mode,
				   st.nlink, type);
	if (type == FS_FT_DIR)
		return walk_dir(t, e->ino, child, (unsigned)num);
	if (type == FS_FT_SYMLINK)
		return namer_check_link(t, t->path, e->ino);
	if (at == AT_WRITER)
		return writer_check_read(t, t->path, e->ino, n,
					 (unsigned)num);
	return namer_check_read(t, t->path, e->ino);
}

/* Every pin made must be there. */
static int check_pins(struct stress_task *t)
{
	const struct fs_stress *s = t->s;
	struct fs_ino ino;
	unsigned i;
	int ret;

	for (i = 0; i < s->o.tasks; i++) {
		if (s->t[i].role != ROLE_NAMER ||
		    !__atomic_load_n(&s->t[i].pinned, __ATOMIC_ACQUIRE))
			continue;
		ret = fs_lookup(s->fs, stress_path(t->path2, "%s/shared/p%u",
						   s->dir, s->t[i].nth),
				0, &ino);
		if (ret)
			return stress_fail(t, "%s: %s (errno %d), while a "
					   "rename replaces it", t->path2,
					   cmd_fs_err_text(ret), -ret);
	}
	return 0;
}

/* Check every entry of directory ino, whose path is t->path. */
static int walk_dir(struct stress_task *t, struct fs_ino ino,
		    enum where at, unsigned n)
{
	struct cmd_fs_dir d;
	size_t len = strlen(t->path);
	uint32_t i;
	int ret = check_pins(t);

	if (ret)
		return ret;
	ret = cmd_fs_dir_read(t->s->fs, ino, &d);
	if (ret) {
		cmd_fs_dir_free(&d);
		return stress_vanished(t, t->path, ino, ret);
	}
	t->count[FS_STRESS_READDIR]++;
	if (at == AT_EMPTY && d.n)
		ret = stress_fail(t, "%s: holds %s, but nothing is made "
				  "there", t->path, d.v[0].name);
	for (i = 0; i < d.n && ret == 0 && !stress_stopping(t); i++) {
		snprintf(t->path + len, STRESS_PATH_MAX - len, "/%s",
			 d.v[i].name);
		ret = check_entry(t, &d.v[i], at, n);
		t->path[len] = 0;
	}
	cmd_fs_dir_free(&d);
	return ret;
}

/* Walk and check the whole tree under DIR once. */
int reader_walk(struct stress_task *t)
{
	struct fs_ino ino;
	int ret = fs_lookup(t->s->fs, stress_path(t->path, "%s", t->s->dir),
			    0, &ino);

	if (ret)
		return stress_fail(t, "lookup %s: %s (errno %d)", t->path,
				   cmd_fs_err_text(ret), -ret);
	return walk_dir(t, ino, AT_TOP, 0);
}

/* Walk the tree over and over until stopped. */
int reader_run(void *arg)
{
	struct stress_task *t = arg;
	int ret;

	do
		ret = reader_walk(t);
	while (ret == 0 && !stress_stopping(t));
	return ret;
}

/* Check OWN against the list of names kept for it: the same names, each
 * holding what it should; its directories empty. */
int namer_verify_own(struct stress_task *t)
{
	struct namer_state *ns = t->ns;
	struct cmd_fs_dir d = { 0 };
	uint64_t seen = 0;
	struct fs_ino ino;
	size_t len;
	uint32_t i;
	int ret = fs_lookup(t->s->fs, stress_path(t->path, "%s/n%u",
						  t->s->dir, t->nth), 0, &ino);

	if (ret == 0)
		ret = cmd_fs_dir_read(t->s->fs, ino, &d);
	if (ret) {
		cmd_fs_dir_free(&d);
		return stress_fail(t, "list %s: %s (errno %d)", t->path,
				   cmd_fs_err_text(ret), -ret);
	}
	t->count[FS_STRESS_READDIR]++;
	len = strlen(t->path);
	if (d.n != ns->nown)
		ret = stress_fail(t, "%s holds %u names, want %u", t->path,
				  d.n, ns->nown);
	for (i = 0; i < d.n && ret == 0; i++) {
		int k = own_find(ns, d.v[i].name);

		snprintf(t->path + len, STRESS_PATH_MAX - len, "/%s",
			 d.v[i].name);
		if (k < 0 || (seen >> k & 1)) {
			ret = stress_fail(t, "%s: not made here, or listed "
					  "twice", t->path);
			break;
		}
		seen |= 1ull << k;
		ret = check_entry(t, &d.v[i], AT_OWN, t->nth);
		t->path[len] = 0;
	}
	cmd_fs_dir_free(&d);
	return ret;
}
