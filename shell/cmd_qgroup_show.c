/*
 * `qgroup show [-p] [-c] [-r] [-e] [-f|-F] [--sort=...] [units] PATH`,
 * laid out as btrfs-progs 6.2 lays it out: columns Qgroupid, Referenced,
 * Exclusive, then (asked for) Max referenced, Max exclusive, Parent,
 * Child, and Path last. Each column starts at a minimum width (9, 12,
 * 12, 15, 14, 8, 5, 6) and grows to its widest value; the header and
 * dash rows end with a blank, the qgroup rows do not. Path is the
 * subvolume's path from the top ("<toplevel>" for 5, "<stale>" when the
 * subvolume is gone); for a higher-level qgroup btrfs-progs 6.2 lists
 * the groups it is a member of and then "<N member qgroups>" counting
 * those (with a NUL byte for the 's' when N is 1), which is what is
 * printed here too, byte for byte.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/format.h"
#include "cmd_fs.h"
#include "cmd_qgroup.h"
#include "units.h"

#define LEVEL_SHIFT BTRFS_QGROUP_LEVEL_SHIFT
#define NUM_MASK ((1ULL << LEVEL_SHIFT) - 1)

enum col { C_ID, C_RFER, C_EXCL, C_MAXR, C_MAXE, C_PARENT, C_CHILD, C_PATH,
	   C_N };
static const char *const col_name[C_N] = {
	"Qgroupid", "Referenced", "Exclusive", "Max referenced",
	"Max exclusive", "Parent", "Child", "Path"
};
static const int col_min[C_N] = { 9, 12, 12, 15, 14, 8, 5, 6 };

/* Sort keys of --sort, in btrfs-progs' names. */
enum sort_key { S_ID, S_PATH, S_RFER, S_EXCL, S_MAXR, S_MAXE };
static const char *const sort_name[] = { "qgroupid", "path", "rfer", "excl",
					 "max_rfer", "max_excl" };

struct row {
	struct fs_qgroup g;
	char path[1024];	/* level 0: subvolume path; "" for none */
	int has_path;
};

struct show {
	struct row *v;
	uint32_t n, cap;
	int show[C_N];		/* columns printed */
	int width[C_N];
	struct units u;
	int nsort;
	enum sort_key sort[6];
	int desc[6];
	struct fs_subvol *svs;	/* subvolumes, for paths */
	uint32_t nsv, svcap;
};

static int add_row(void *ctx, const struct fs_qgroup *g)
{
	struct show *s = ctx;

	if (s->n == s->cap) {
		uint32_t cap = s->cap ? s->cap * 2 : 16;
		struct row *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (s->n)
			memcpy(v, s->v, s->n * sizeof(*v));
		kfree(s->v);
		s->v = v;
		s->cap = cap;
	}
	memset(&s->v[s->n], 0, sizeof(s->v[s->n]));
	s->v[s->n++].g = *g;
	return 0;
}

static int add_subvol(void *ctx, const struct fs_subvol *sv)
{
	struct show *s = ctx;

	if (s->nsv == s->svcap) {
		uint32_t cap = s->svcap ? s->svcap * 2 : 16;
		struct fs_subvol *v = kmalloc(cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		if (s->nsv)
			memcpy(v, s->svs, s->nsv * sizeof(*v));
		kfree(s->svs);
		s->svs = v;
		s->svcap = cap;
	}
	s->svs[s->nsv++] = *sv;
	return 0;
}

/* Give each level-0 row its subvolume's path. */
static void fill_paths(struct show *s)
{
	uint32_t i, j;

	for (i = 0; i < s->n; i++) {
		struct row *r = &s->v[i];

		if (r->g.id >> LEVEL_SHIFT || !r->g.subvol_exists)
			continue;
		if (r->g.id == BTRFS_FS_TREE_OBJECTID) {
			r->has_path = 1;
			continue;
		}
		for (j = 0; j < s->nsv; j++)
			if (s->svs[j].id == r->g.id) {
				snprintf(r->path, sizeof(r->path), "%s",
					 s->svs[j].path);
				r->has_path = 1;
			}
	}
}

static int cmp_u64(uint64_t a, uint64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_rows(const struct show *s, const struct row *a,
		    const struct row *b)
{
	int i, c = 0;

	for (i = 0; i < s->nsort && !c; i++) {
		switch (s->sort[i]) {
		case S_ID:
			c = cmp_u64(a->g.id, b->g.id);
			break;
		case S_PATH:
			c = a->g.id >> LEVEL_SHIFT != b->g.id >> LEVEL_SHIFT ?
			    cmp_u64(a->g.id, b->g.id) : strcmp(a->path, b->path);
			break;
		case S_RFER:
			c = cmp_u64(a->g.rfer, b->g.rfer);
			break;
		case S_EXCL:
			c = cmp_u64(a->g.excl, b->g.excl);
			break;
		case S_MAXR:
			c = cmp_u64(a->g.max_rfer, b->g.max_rfer);
			break;
		case S_MAXE:
			c = cmp_u64(a->g.max_excl, b->g.max_excl);
			break;
		}
		if (s->desc[i])
			c = -c;
	}
	return c ? c : cmp_u64(a->g.id, b->g.id);
}

/* Insertion sort: a few rows. */
static void sort_rows(struct show *s)
{
	uint32_t i, j;

	for (i = 1; i < s->n; i++) {
		struct row t = s->v[i];

		for (j = i; j > 0 && cmp_rows(s, &s->v[j - 1], &t) > 0; j--)
			s->v[j] = s->v[j - 1];
		s->v[j] = t;
	}
}

/* "1/5,2/7" of ids into out; "-" for none. Returns its length. */
static int id_list(const uint64_t *ids, uint32_t n, char *out, size_t cap)
{
	uint64_t v[FS_QGROUP_REL_MAX];
	uint32_t i, j;
	int len = 0;

	memcpy(v, ids, n * sizeof(*v));
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			uint64_t t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	out[0] = 0;
	for (i = 0; i < n && (size_t)len < cap; i++)
		len += snprintf(out + len, cap - (size_t)len, "%s%llu/%llu",
				i ? "," : "",
				(unsigned long long)(v[i] >> LEVEL_SHIFT),
				(unsigned long long)(v[i] & NUM_MASK));
	if (!n)
		len = snprintf(out, cap, "-");
	return len;
}

/* The text of column c of row r into out (sizes in s's units). */
static void cell(const struct show *s, const struct row *r, enum col c,
		 char *out, size_t cap)
{
	switch (c) {
	case C_ID:
		snprintf(out, cap, "%llu/%llu",
			 (unsigned long long)(r->g.id >> LEVEL_SHIFT),
			 (unsigned long long)(r->g.id & NUM_MASK));
		break;
	case C_RFER:
		units_format(&s->u, r->g.rfer, out, cap);
		break;
	case C_EXCL:
		units_format(&s->u, r->g.excl, out, cap);
		break;
	case C_MAXR:
		if (r->g.lim_flags & BTRFS_QGROUP_LIMIT_MAX_RFER)
			units_format(&s->u, r->g.max_rfer, out, cap);
		else
			snprintf(out, cap, "none");
		break;
	case C_MAXE:
		if (r->g.lim_flags & BTRFS_QGROUP_LIMIT_MAX_EXCL)
			units_format(&s->u, r->g.max_excl, out, cap);
		else
			snprintf(out, cap, "none");
		break;
	case C_PARENT:
		id_list(r->g.parents, r->g.nparents, out, cap);
		break;
	case C_CHILD:
		id_list(r->g.children, r->g.nchildren, out, cap);
		break;
	default:
		out[0] = 0;
	}
}

/* The Path column of r (after its two leading blanks). */
static void print_path(const struct row *r)
{
	uint32_t i;

	if (r->g.id >> LEVEL_SHIFT) {
		for (i = 0; i < r->g.nparents; i++)
			con_printf("%s%llu/%llu", i ? " " : "",
				   (unsigned long long)(r->g.parents[i] >>
							LEVEL_SHIFT),
				   (unsigned long long)(r->g.parents[i] &
							NUM_MASK));
		/* btrfs-progs prints the plural's 's' with %c, and a NUL
		 * byte in its place for one. */
		con_printf("<%u member qgroup", r->g.nparents);
		con_write(r->g.nparents != 1 ? "s>" : "\0>", 2);
	} else if (r->has_path) {
		con_printf("%s", r->path[0] ? r->path : "<toplevel>");
	} else {
		con_printf("<stale>");
	}
}

static int left_aligned(enum col c)
{
	return c == C_ID || c == C_PARENT || c == C_CHILD;
}

static void print_table(struct show *s, char *buf, size_t cap)
{
	uint32_t i;
	int c, k;

	for (c = 0; c < C_N; c++) {
		s->width[c] = col_min[c];
		for (i = 0; c != C_PATH && i < s->n; i++) {
			cell(s, &s->v[i], (enum col)c, buf, cap);
			if ((int)strlen(buf) > s->width[c])
				s->width[c] = (int)strlen(buf);
		}
	}
	for (c = 0; c < C_N; c++)
		if (s->show[c])
			con_printf(left_aligned((enum col)c) ? "%-*s " : "%*s ",
				   s->width[c], col_name[c]);
	con_printf("\n");
	for (c = 0; c < C_N; c++) {
		int name = (int)strlen(col_name[c]);

		if (!s->show[c])
			continue;
		for (k = 0; k < s->width[c]; k++)
			con_printf("%c", left_aligned((enum col)c) ?
				   (k < name ? '-' : ' ') :
				   (k < s->width[c] - name ? ' ' : '-'));
		con_printf(" ");
	}
	con_printf("\n");
	for (i = 0; i < s->n; i++) {
		for (c = 0; c < C_N; c++) {
			if (!s->show[c])
				continue;
			if (c == C_PATH) {
				con_printf("  ");
				print_path(&s->v[i]);
				continue;
			}
			cell(s, &s->v[i], (enum col)c, buf, cap);
			con_printf(left_aligned((enum col)c) ? "%-*s " : "%*s ",
				   s->width[c], buf);
		}
		con_printf("\n");
	}
}

/* Parse --sort=[+|-]key[,...] into s. */
static int parse_sort(struct show *s, const char *arg)
{
	char item[32];
	size_t i, len;
	int k;

	while (*arg) {
		len = strcspn(arg, ",");
		if (len >= sizeof(item) || s->nsort == 6)
			return -EINVAL;
		memcpy(item, arg, len);
		item[len] = 0;
		arg += len + (arg[len] == ',');
		i = item[0] == '+' || item[0] == '-';
		for (k = 0; k < 6 && strcmp(item + i, sort_name[k]); k++)
			;
		if (k == 6) {
			con_printf("ERROR: unrecognized format of sort string: "
				   "%s\n", item);
			return -EINVAL;
		}
		s->desc[s->nsort] = item[0] == '-';
		s->sort[s->nsort++] = (enum sort_key)k;
	}
	return 0;
}

/* Keep the rows -f (only) or -F (and every group above it) names. */
static void filter_rows(struct show *s, uint64_t id, int all)
{
	uint64_t keep[256];
	uint32_t nkeep = 1, i, j, k, n = 0;

	keep[0] = id;
	for (k = 0; all && k < nkeep; k++)
		for (i = 0; i < s->n; i++) {
			if (s->v[i].g.id != keep[k])
				continue;
			for (j = 0; j < s->v[i].g.nparents && nkeep < 256; j++)
				keep[nkeep++] = s->v[i].g.parents[j];
		}
	for (i = 0; i < s->n; i++) {
		for (k = 0; k < nkeep && keep[k] != s->v[i].g.id; k++)
			;
		if (k < nkeep)
			s->v[n++] = s->v[i];
	}
	s->n = n;
}

static int parse_opts(struct show *s, int argc, char **argv, int *filter)
{
	int i;

	for (i = 1; i < argc - 1; i++) {
		const char *a = argv[i];

		if (!strncmp(a, "--sort=", 7)) {
			if (parse_sort(s, a + 7))
				return -EINVAL;
			continue;
		}
		if (a[0] != '-' || !a[1] || a[1] == '-')
			return -EINVAL;
		for (a++; *a; a++) {
			if (*a == 'p')
				s->show[C_PARENT] = 1;
			else if (*a == 'c')
				s->show[C_CHILD] = 1;
			else if (*a == 'r')
				s->show[C_MAXR] = 1;
			else if (*a == 'e')
				s->show[C_MAXE] = 1;
			else if (*a == 'f' || *a == 'F')
				*filter = *a;
			else
				return -EINVAL;
		}
	}
	return argc >= 2 ? 0 : -EINVAL;
}

int cmd_qgroup_show(int argc, char **argv)
{
	struct show *s = kzalloc(sizeof(*s));
	struct fs_info *fs;
	struct fs_ino ino;
	const char *in;
	char *buf = kmalloc(4096);
	int filter = 0, ret = s && buf ? 0 : -ENOMEM;

	if (ret)
		goto out;
	argc = units_parse(argc, argv, &s->u);
	s->show[C_ID] = s->show[C_RFER] = s->show[C_EXCL] = 1;
	s->show[C_PATH] = 1;
	ret = parse_opts(s, argc, argv, &filter);
	if (ret)
		goto out;
	fs = cmd_fs_path("qgroup show", argv[argc - 1], &in);
	if (!fs) {
		ret = -ENOENT;
		goto out;
	}
	ret = fs_qgroup_list(fs, add_row, s);
	if (ret == 0)
		ret = fs_subvol_list(fs, add_subvol, s);
	if (ret == 0 && filter)
		ret = fs_lookup(fs, in, FS_LOOKUP_FOLLOW, &ino);
	if (ret) {
		con_printf("ERROR: cannot query qgroups: %s\n",
			   ret == -ENOTCONN ? "quota not enabled" :
			   cmd_fs_err_text(ret));
		goto out;
	}
	if (filter)
		filter_rows(s, ino.root, filter == 'F');
	fill_paths(s);
	sort_rows(s);
	print_table(s, buf, 4096);
out:
	if (s) {
		kfree(s->v);
		kfree(s->svs);
	}
	kfree(s);
	kfree(buf);
	return ret;
}
