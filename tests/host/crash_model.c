/*
 * The crash tests' listings and states (crash_model.h): a tree walked
 * from the top level through every subvolume into one sorted line per
 * name, and the states a workload passed through, which a survivor's
 * listing must be one of. Files are read whole and hashed; extended
 * attributes are hashed in the order listxattr gives them; a subvolume's
 * read-only flag comes from the subvolume list.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../fs/fs.h"
#include "crash_model.h"
#include "shim/host.h"
#include "test.h"

#define MAX_ENTRIES 4096	/* names a listing holds */
#define MAX_SUBVOLS 256

const char *const crash_mode_names[] = { "cut", "reorder", "torn" };

uint64_t crash_fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--)
		h = (h ^ *b++) * 0x100000001b3ull;
	return h;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct crash_entry *)a)->path,
		      ((const struct crash_entry *)b)->path);
}

/* One listing line (a file's hard-link group is named by its first path,
 * so a line does not change when a name is added elsewhere). */
static int line_of(char *out, const struct crash_entry *e, const char *group)
{
	int n;

	if (e->type == 'd')
		n = sprintf(out, "%s d", e->path);
	else if (e->type == 'l')
		n = sprintf(out, "%s l -> %s", e->path, e->target);
	else
		n = sprintf(out, "%s f %llu %016llx links %u group %s",
			    e->path, (unsigned long long)e->size,
			    (unsigned long long)e->hash, e->nlink, group);
	if (e->subvol)
		n += sprintf(out + n, " subvol %s",
			     e->subvol == 'o' ? "ro" : "rw");
	if (e->nxattr)
		n += sprintf(out + n, " xattrs %u %016llx", e->nxattr,
			     (unsigned long long)e->xhash);
	out[n++] = '\n';
	out[n] = 0;
	return n;
}

char *crash_listing_of(struct crash_entry *e, int n)
{
	char *out = malloc((size_t)n * CRASH_LINE_LEN + 1), *p = out;
	int i, g;

	qsort(e, (size_t)n, sizeof(*e), entry_cmp);
	*p = 0;
	for (i = 0; i < n; i++) {
		for (g = 0; g < i && e[g].key != e[i].key; g++)
			;
		p += line_of(p, &e[i], e[g].path);
	}
	return out;
}

/* ---- walking a mounted tree -------------------------------------------- */

struct walk {
	struct fs_info *fs;
	struct crash_entry *e;
	int n;
	char dir[CRASH_PATH_LEN];	/* the directory being read */
	uint64_t dir_root;		/* its subvolume */
	uint64_t ro[MAX_SUBVOLS];	/* read-only subvolumes */
	int nro;
};

static int note_ro(void *ctx, const struct fs_subvol *sv)
{
	struct walk *w = ctx;

	if (sv->read_only && w->nro < MAX_SUBVOLS)
		w->ro[w->nro++] = sv->id;
	return 0;
}

static int is_ro(const struct walk *w, uint64_t id)
{
	int i;

	for (i = 0; i < w->nro; i++)
		if (w->ro[i] == id)
			return 1;
	return 0;
}

/* A file's content hash, its size bytes read whole. */
static int hash_file(struct fs_info *fs, struct fs_ino ino, uint64_t size,
		     uint64_t *hash)
{
	static uint8_t buf[1 << 16];
	uint64_t off = 0;
	size_t n;

	*hash = CRASH_FNV0;
	while (off < size) {
		if (fs_read(fs, ino, off, buf, sizeof(buf), &n) || n == 0)
			return -EIO;
		*hash = crash_fnv(*hash, buf, n);
		off += n;
	}
	return 0;
}

/* The count and hash of an inode's extended attributes, in name order
 * as listxattr gives them (the order of their keys). */
static int hash_xattrs(struct fs_info *fs, struct fs_ino ino,
		       struct crash_entry *e)
{
	static char names[8192];
	static uint8_t val[65536];
	size_t len, vlen, at;
	int ret = fs_listxattr(fs, ino, names, sizeof(names), &len);

	e->xhash = CRASH_FNV0;
	for (at = 0; ret == 0 && at < len; at += strlen(names + at) + 1) {
		ret = fs_getxattr(fs, ino, names + at, val, sizeof(val),
				  &vlen);
		e->xhash = crash_fnv(e->xhash, names + at,
				     strlen(names + at) + 1);
		e->xhash = crash_fnv(e->xhash, val, vlen);
		e->nxattr++;
	}
	return ret;
}

static int walk_entry(void *ctx, const char *name, size_t len,
		      struct fs_ino ino, unsigned type)
{
	struct walk *w = ctx;
	struct crash_entry *e;
	struct fs_stat st;
	size_t dl = strlen(w->dir), n;

	if (w->n == MAX_ENTRIES)
		return -E2BIG;
	e = &w->e[w->n++];
	memset(e, 0, sizeof(*e));
	if (dl + 1 + len >= CRASH_PATH_LEN)
		return -ENAMETOOLONG;
	memcpy(e->path, w->dir, dl);
	e->path[dl] = '/';
	memcpy(e->path + dl + 1, name, len + 1);
	e->key = ino.root << 32 | ino.ino;
	if (fs_stat(w->fs, ino, &st) || hash_xattrs(w->fs, ino, e))
		return -EIO;
	if (type == FS_FT_DIR) {
		e->type = 'd';
		if (ino.root != w->dir_root)
			e->subvol = is_ro(w, ino.root) ? 'o' : 'w';
	} else if (type == FS_FT_SYMLINK) {
		e->type = 'l';
		if (fs_readlink(w->fs, ino, e->target, CRASH_PATH_LEN - 1, &n))
			return -EIO;
		e->target[n] = 0;
	} else {
		e->type = 'f';
		e->size = st.size;
		e->nlink = st.nlink;
		if (hash_file(w->fs, ino, st.size, &e->hash))
			return -EIO;
	}
	return 0;
}

static int walk_dir(struct walk *w, const char *dir, struct fs_ino ino)
{
	int first = w->n, last, i, ret;

	snprintf(w->dir, CRASH_PATH_LEN, "%s", dir);
	w->dir_root = ino.root;
	ret = fs_readdir(w->fs, ino, walk_entry, w);
	last = w->n;
	for (i = first; i < last && ret == 0; i++) {
		struct fs_ino sub = { w->e[i].key >> 32,
				      w->e[i].key & 0xffffffffu };

		if (w->e[i].type == 'd')
			ret = walk_dir(w, w->e[i].path, sub);
	}
	return ret;
}

char *crash_listing(struct fs_info *fs)
{
	static struct crash_entry e[MAX_ENTRIES];
	static struct walk w;
	struct fs_ino root;
	int ret;

	memset(&w, 0, sizeof(w));
	w.fs = fs;
	w.e = e;
	ret = fs_subvol_list(fs, note_ro, &w);
	if (ret == 0)
		ret = fs_lookup(fs, "/", 0, &root);
	if (ret == 0)
		ret = walk_dir(&w, "", root);
	if (ret) {
		printf("# walking the tree failed: %d at %s\n", ret, w.dir);
		return NULL;
	}
	return crash_listing_of(e, w.n);
}

/* Lines of got missing from want, printed (up to max) or counted. */
static int missing_lines(const char *got, const char *want, const char *say,
			 int max)
{
	char line[CRASH_LINE_LEN];
	const char *p;
	int n = 0;

	for (p = got; *p; p = strchr(p, '\n') + 1) {
		size_t len = (size_t)(strchr(p, '\n') - p);

		snprintf(line, sizeof(line), "%.*s\n", (int)len, p);
		if (strstr(want, line) || ++n > max)
			continue;
		if (say)
			printf("#   %s: %s", say, line);
	}
	return n;
}

void crash_print_diff(const char *got, const char *want)
{
	missing_lines(got, want, "only on disk", 10);
	missing_lines(want, got, "only in the model", 10);
}

/* ---- states ------------------------------------------------------------ */

void crash_states_init(struct crash_states *s, int max)
{
	s->st = calloc((size_t)max, sizeof(*s->st));
	s->n = 0;
	s->max = s->st ? max : 0;
}

void crash_states_free(struct crash_states *s)
{
	int i;

	for (i = 0; i < s->n; i++)
		free(s->st[i].listing);
	free(s->st);
	memset(s, 0, sizeof(*s));
}

int crash_states_add(struct crash_states *s, char *listing, uint64_t writes,
		     int synced)
{
	if (s->n == s->max) {
		free(listing);
		return -1;
	}
	s->st[s->n].listing = listing;
	s->st[s->n].writes = writes;
	s->st[s->n].synced = synced;
	s->n++;
	return 0;
}

int crash_states_find(const struct crash_states *s, const char *listing,
		      int first, int last)
{
	int k;

	for (k = first; k <= last && k < s->n; k++)
		if (strcmp(listing, s->st[k].listing) == 0)
			return k;
	return -1;
}

int crash_states_match(const struct crash_states *s, const char *listing,
		       int first, int last)
{
	int k, d, best = first, least = -1;

	if (crash_states_find(s, listing, first, last) >= 0)
		return 0;
	for (k = first; k <= last && k < s->n; k++) {
		d = missing_lines(listing, s->st[k].listing, NULL, 1 << 30) +
		    missing_lines(s->st[k].listing, listing, NULL, 1 << 30);
		if (least < 0 || d < least) {
			least = d;
			best = k;
		}
	}
	printf("# the tree is none of states %d..%d; against state %d, the "
	       "nearest:\n", first, last, best);
	crash_print_diff(listing, s->st[best].listing);
	return -1;
}
