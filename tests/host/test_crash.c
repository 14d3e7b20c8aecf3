/*
 * Crash tests: a workload runs on the fault device (shim/fault_dev.c),
 * whose power is cut at its Nth write. The image that survives must mount,
 * pass ghee's fsck, take new writes and, the oracle, hold as a whole tree
 * one state the workload passed through at or after the last sync that
 * returned before the cut: never files mixed from different commits, never
 * anything older than that sync.
 *
 * The workload (seeded, the same in every run of a case) creates, writes
 * (many blocks at once), overwrites, truncates, renames files and
 * directories (over existing names too), links, symlinks, unlinks and
 * removes directories, one fs call per operation, with a sync every few.
 * A model applies each operation too and, after each, records the whole
 * tree as a listing (a line per name: path, type, size, content hash or
 * target, link count, hard-link group; crash_model.h) with the device's
 * write count. The survivor is walked into a listing made the same way,
 * which must equal one of the states recorded from the last returned
 * sync on.
 *
 * Every run checks that the workload stopped because of the cut (the
 * device was cut and the operation failed), and the uncut run that it
 * completed. Modes: FAULT_CUT, FAULT_REORDER (unflushed writes survive at
 * random) and FAULT_TORN (the write the cut interrupts lands in part).
 * Recovery is cut too: for sampled survivors, the mount, a new file and
 * its sync are cut at each of their writes, and what survives must still
 * be the survivor's state, with or without the new file.
 *
 * A sample of the survivors (CRASH_BTRFS_CHECKS per case) also goes
 * through btrfs check; GHEE_CRASH_ALL=1 (make crash) checks every one,
 * and cuts the large workload at every write too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../fs/fs.h"
#include "../../fs/transaction.h"
#include "crash_model.h"
#include "shim/fault_dev.h"
#include "shim/host.h"
#include "test.h"

#define DEV_SIZE (256ull << 20)
#define CRASH_BTRFS_CHECKS 15	/* btrfs check runs per case (sampled) */
#define RECOVERY_CUTS 2		/* survivors whose recovery is cut */
#define RECOVERY_CUTS_ALL 12	/* the same in make crash */
#define FAILED_IMAGE "/tmp/ghee-crash-failed.img"	/* kept to debug */

#define MAX_INODES 64
#define MAX_NAMES 96
#define MAX_STATES 1200
#define PATH_LEN 48
#define MAX_FILE (192u << 10)

/* An inode of the model. */
struct minode {
	char type;		/* 0: free, 'f' file, 'd' directory, 'l' link */
	int nlink;
	uint8_t *data;		/* a file's bytes (MAX_FILE allocated) */
	size_t len;
	uint64_t hash;		/* of data[0, len), when hash_ok */
	int hash_ok;
	char target[PATH_LEN];	/* a symlink's */
};

/* A name of the model: a full path to an inode. */
struct mname {
	char path[PATH_LEN];	/* "": free */
	int ino;
};

struct model {
	struct minode ino[MAX_INODES];
	struct mname name[MAX_NAMES];
	struct crash_states states;
	uint64_t rng;
};

/* ---- the model -------------------------------------------------------- */

static uint64_t rnd(struct model *m, uint64_t n)
{
	m->rng ^= m->rng << 13;
	m->rng ^= m->rng >> 7;
	m->rng ^= m->rng << 17;
	return m->rng % n;
}

static void model_init(struct model *m, uint64_t seed)
{
	int i;

	for (i = 0; i < MAX_INODES; i++)
		free(m->ino[i].data);
	crash_states_free(&m->states);
	memset(m, 0, sizeof(*m));
	crash_states_init(&m->states, MAX_STATES);
	m->rng = seed * 0x9E3779B97F4A7C15ull + 1;
	m->ino[0].type = 'd';		/* the root, named "" */
	m->ino[0].nlink = 1;
}

static int find_name(const struct model *m, const char *path)
{
	int i;

	for (i = 0; i < MAX_NAMES; i++)
		if (m->name[i].path[0] && strcmp(m->name[i].path, path) == 0)
			return i;
	return -1;
}

/* A random used name (of type type, or any when 0); -1 if none. */
static int pick_name(struct model *m, char type)
{
	int cand[MAX_NAMES], n = 0, i;

	for (i = 0; i < MAX_NAMES; i++)
		if (m->name[i].path[0] &&
		    (!type || m->ino[m->name[i].ino].type == type))
			cand[n++] = i;
	return n ? cand[rnd(m, (uint64_t)n)] : -1;
}

/* A directory's path ("" for the root) picked at random. */
static const char *pick_dir(struct model *m)
{
	int i = pick_name(m, 'd');

	return i < 0 || rnd(m, 3) == 0 ? "" : m->name[i].path;
}

static int dir_empty(const struct model *m, const char *dir)
{
	size_t n = strlen(dir);
	int i;

	for (i = 0; i < MAX_NAMES; i++)
		if (m->name[i].path[0] && !strncmp(m->name[i].path, dir, n) &&
		    m->name[i].path[n] == '/')
			return 0;
	return 1;
}

/* A fresh path in a random directory; 0 when there is no room. */
static int new_path(struct model *m, char *out)
{
	static const char *const stems[] = { "a", "bb", "file", "x", "dir",
					     "y" };
	const char *dir = pick_dir(m);
	int tries;

	for (tries = 0; tries < 20; tries++) {
		if (snprintf(out, PATH_LEN, "%s/%s%u", dir,
			     stems[rnd(m, 6)], (unsigned)rnd(m, 40)) >= PATH_LEN)
			return 0;
		if (find_name(m, out) < 0)
			return 1;
	}
	return 0;
}

static int add_name(struct model *m, const char *path, int ino)
{
	int i;

	for (i = 0; i < MAX_NAMES && m->name[i].path[0]; i++)
		;
	if (i == MAX_NAMES)
		return -1;
	snprintf(m->name[i].path, PATH_LEN, "%s", path);
	m->name[i].ino = ino;
	m->ino[ino].nlink++;
	return 0;
}

static int new_inode(struct model *m, char type)
{
	int i;

	for (i = 1; i < MAX_INODES && m->ino[i].type; i++)
		;
	if (i == MAX_INODES)
		return -1;
	m->ino[i].type = type;
	m->ino[i].nlink = 0;
	m->ino[i].len = 0;
	m->ino[i].hash_ok = 0;
	if (type == 'f' && !m->ino[i].data)
		m->ino[i].data = malloc(MAX_FILE);
	return i;
}

static void drop_name(struct model *m, int n)
{
	struct minode *in = &m->ino[m->name[n].ino];

	m->name[n].path[0] = 0;
	if (--in->nlink == 0 || in->type == 'd')
		in->type = 0;
}

/* Record the tree after an operation. */
static void model_record(struct model *m, struct fault_dev *f, int synced)
{
	static struct crash_entry e[MAX_NAMES];
	int i, n = 0;

	for (i = 0; i < MAX_NAMES; i++) {
		struct minode *in = &m->ino[m->name[i].ino];

		if (!m->name[i].path[0])
			continue;
		memset(&e[n], 0, sizeof(e[n]));
		snprintf(e[n].path, CRASH_PATH_LEN, "%s", m->name[i].path);
		e[n].type = in->type;
		e[n].key = (uint64_t)m->name[i].ino;
		if (in->type == 'f') {
			if (!in->hash_ok)
				in->hash = crash_fnv(CRASH_FNV0, in->data,
						     in->len);
			in->hash_ok = 1;
			e[n].size = in->len;
			e[n].hash = in->hash;
			e[n].nlink = (uint32_t)in->nlink;
		} else if (in->type == 'l') {
			snprintf(e[n].target, CRASH_PATH_LEN, "%s", in->target);
		}
		n++;
	}
	crash_states_add(&m->states, crash_listing_of(e, n),
			 fault_dev_writes(f), synced);
}

/* ---- the workload: one fs call per operation ---------------------------- */

/* Bytes written by operation op at file offset off. */
static void fill(uint8_t *buf, uint64_t op, uint64_t off, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t x = (op << 32) ^ ((off + i) / 8) ^ 0x5bd1e995ull;

		x *= 0xBF58476D1CE4E5B9ull;
		x ^= x >> 29;
		buf[i] = (uint8_t)(x >> (8 * ((off + i) % 8)));
	}
}

static int op_write(struct fs_info *fs, struct model *m, uint64_t op)
{
	static uint8_t buf[MAX_FILE];
	struct minode *in;
	struct fs_ino ino;
	uint64_t off, len;
	int n = pick_name(m, 'f'), ret;

	if (n < 0)
		return 1;
	in = &m->ino[m->name[n].ino];
	off = rnd(m, 2) ? rnd(m, in->len + 1) : in->len;
	off = off > MAX_FILE - 4096 ? MAX_FILE - 4096 : off;
	len = 1 + rnd(m, MAX_FILE - off < 100000 ? MAX_FILE - off : 100000);
	fill(buf, op, off, len);
	ret = fs_lookup(fs, m->name[n].path, 0, &ino);
	if (ret == 0)
		ret = fs_write(fs, ino, off, buf, len);
	if (ret)
		return ret;
	if (off > in->len)
		memset(in->data + in->len, 0, off - in->len);
	memcpy(in->data + off, buf, len);
	in->len = off + len > in->len ? off + len : in->len;
	in->hash_ok = 0;
	return 0;
}

static int op_truncate(struct fs_info *fs, struct model *m)
{
	struct minode *in;
	struct fs_ino ino;
	uint64_t size;
	int n = pick_name(m, 'f'), ret;

	if (n < 0)
		return 1;
	in = &m->ino[m->name[n].ino];
	size = rnd(m, 3) ? rnd(m, in->len + 1) : in->len + rnd(m, 20000);
	size = size > MAX_FILE ? MAX_FILE : size;
	ret = fs_lookup(fs, m->name[n].path, 0, &ino);
	if (ret == 0)
		ret = fs_truncate(fs, ino, size);
	if (ret)
		return ret;
	if (size > in->len)
		memset(in->data + in->len, 0, size - in->len);
	in->len = size;
	in->hash_ok = 0;
	return 0;
}

/* create, mkdir or symlink at a new path */
static int op_make(struct fs_info *fs, struct model *m, char type)
{
	char p[PATH_LEN], t[PATH_LEN];
	struct fs_ino ino;
	int i, ret;

	if (!new_path(m, p) || (i = new_inode(m, type)) < 0)
		return 1;
	snprintf(t, sizeof(t), "../target-%u", (unsigned)rnd(m, 1000));
	if (type == 'f')
		ret = fs_create(fs, p, 0644, &ino);
	else if (type == 'd')
		ret = fs_mkdir(fs, p, 0755);
	else
		ret = fs_symlink(fs, t, p);
	if (ret) {
		m->ino[i].type = 0;
		return ret;
	}
	snprintf(m->ino[i].target, PATH_LEN, "%s", t);
	return add_name(m, p, i) ? -ENOSPC : 0;
}

static int op_link(struct fs_info *fs, struct model *m)
{
	char p[PATH_LEN];
	int n = pick_name(m, 'f'), ret;

	if (n < 0 || !new_path(m, p))
		return 1;
	ret = fs_link(fs, m->name[n].path, p);
	return ret ? ret : add_name(m, p, m->name[n].ino) ? -ENOSPC : 0;
}

/* unlink a file or symlink, or rmdir an empty directory */
static int op_remove(struct fs_info *fs, struct model *m)
{
	int n = pick_name(m, 0), ret;

	if (n < 0)
		return 1;
	if (m->ino[m->name[n].ino].type == 'd') {
		if (!dir_empty(m, m->name[n].path))
			return 1;
		ret = fs_rmdir(fs, m->name[n].path);
	} else {
		ret = fs_unlink(fs, m->name[n].path);
	}
	if (ret == 0)
		drop_name(m, n);
	return ret;
}

/* Rename a name to a new path, or a file over another file. */
static int op_rename(struct fs_info *fs, struct model *m)
{
	char to[PATH_LEN], from[PATH_LEN];
	int n = pick_name(m, 0), over = -1, i, ret;
	size_t fl;

	if (n < 0)
		return 1;
	snprintf(from, sizeof(from), "%s", m->name[n].path);
	fl = strlen(from);
	if (m->ino[m->name[n].ino].type == 'f' && rnd(m, 2)) {
		over = pick_name(m, 'f');
		if (over < 0 || m->name[over].ino == m->name[n].ino)
			return 1;
		snprintf(to, sizeof(to), "%s", m->name[over].path);
	} else if (!new_path(m, to)) {
		return 1;
	}
	if (!strncmp(to, from, fl) && to[fl] == '/')
		return 1;		/* a directory into itself */
	for (i = 0; i < MAX_NAMES; i++)	/* names below it would not fit */
		if (m->name[i].path[0] && !strncmp(m->name[i].path, from, fl) &&
		    m->name[i].path[fl] == '/' &&
		    strlen(m->name[i].path) - fl + strlen(to) >= PATH_LEN)
			return 1;
	ret = fs_rename(fs, from, to);
	if (ret)
		return ret;
	if (over >= 0)
		drop_name(m, over);
	for (i = 0; i < MAX_NAMES; i++) {	/* lengths checked above */
		char *p = m->name[i].path;

		if (!p[0] || strncmp(p, from, fl) || (p[fl] && p[fl] != '/'))
			continue;
		memmove(p + strlen(to), p + fl, strlen(p + fl) + 1);
		memcpy(p, to, strlen(to));
	}
	return 0;
}

/* One operation chosen by the model; 0 done (recorded), 1 none possible
 * (try another), or the fs call's error. */
static int one_op(struct fs_info *fs, struct fault_dev *f, struct model *m,
		  uint64_t op)
{
	uint64_t k = rnd(m, 100);
	int ret, synced = 0;

	if (k < 10)
		ret = op_make(fs, m, 'd');
	else if (k < 24)
		ret = op_make(fs, m, 'f');
	else if (k < 44)
		ret = op_write(fs, m, op);
	else if (k < 52)
		ret = op_truncate(fs, m);
	else if (k < 60)
		ret = op_make(fs, m, 'l');
	else if (k < 66)
		ret = op_link(fs, m);
	else if (k < 78)
		ret = op_rename(fs, m);
	else if (k < 88)
		ret = op_remove(fs, m);
	else {
		ret = fs_sync(fs);
		synced = 1;
	}
	if (ret == 0)
		model_record(m, f, synced);
	return ret;
}

/* Run nops operations (and a last sync); stops at the first error. */
static int workload(struct fs_info *fs, struct fault_dev *f, int nops,
		    uint64_t seed, struct model *m)
{
	int done = 0, ret = 0;
	uint64_t op = 0;

	model_init(m, seed);
	model_record(m, f, 1);		/* the empty filesystem */
	while (done < nops && ret == 0) {
		ret = one_op(fs, f, m, ++op);
		if (ret == 1)
			ret = 0;
		else if (ret == 0)
			done++;
	}
	if (ret == 0 && (ret = fs_sync(fs)) == 0)
		model_record(m, f, 1);
	return ret;
}

/* ---- the survivor -------------------------------------------------------- */

/* The last recorded sync that returned by write cut (cut 0: the last
 * one); the survivor may hold it or any state after it. */
static int first_candidate(const struct model *m, uint64_t cut)
{
	int k, first = 0;

	for (k = 0; k < m->states.n; k++)
		if (m->states.st[k].synced &&
		    (!cut || m->states.st[k].writes <= cut))
			first = k;
	return first;
}

/* Is the tree one state from the last synced one on? 0 yes, or -1 with
 * the difference from the nearest state printed. */
static int tree_is_a_commit(struct fs_info *fs, const struct model *m,
			    uint64_t cut, char **listing)
{
	*listing = crash_listing(fs);
	return *listing ? crash_states_match(&m->states, *listing,
					     first_candidate(m, cut),
					     m->states.n - 1) : -1;
}

/* ---- the runs ------------------------------------------------------------ */

/* A fresh filesystem made once; each run starts from a copy. */
static struct fault_dev *template_dev(uint32_t nodesize)
{
	struct fs_mkfs_opts o = { NULL, nodesize, 0, NULL };
	struct fault_dev *t = fault_dev_new(DEV_SIZE);

	if (t && fs_mkfs(fault_dev_blk(t), &o)) {
		fault_dev_free(t);
		return NULL;
	}
	return t;
}

struct crash_case {
	uint32_t nodesize;
	int nops;
	uint64_t step;		/* cut at every step-th write */
	enum fault_mode mode;
};

/*
 * Run the workload with the power cut at write cut (0: never); the
 * survivor is *out. NULL, or why the run itself went wrong: the workload
 * must stop because of the cut and only then, and the uncut run must end.
 * *writes receives the workload's device writes (without umount's).
 */
static const char *run_cut(struct fault_dev *tmpl, const struct crash_case *cc,
			   uint64_t cut, struct model *m, struct fault_dev **out,
			   uint64_t *writes)
{
	struct fault_dev *f = fault_dev_clone(tmpl);
	const char *why = NULL;
	struct fs_info *fs;
	int ret;

	fault_dev_arm(f, cut, cc->mode, cut);
	ret = fs_mount(fault_dev_blk(f), 0, &fs);
	if (ret == 0) {
		/* no commit on the wall clock: write N is the same one in
		 * every run, however slow (crash_driver.c, run_once) */
		trans_stop_committer(fs);
		ret = workload(fs, f, cc->nops, test_seed(), m);
		*writes = fault_dev_writes(f);
		fs_umount(fs);
	} else {
		why = "the template does not mount";
	}
	if (!why && !cut && ret)
		why = "the uncut workload failed";
	else if (!why && cut && ret && !fault_dev_is_cut(f))
		why = "the workload failed before the cut";
	else if (!why && cut && !ret)
		why = "the workload ended before the cut (it wrote less)";
	*out = fault_dev_crash_image(f);
	fault_dev_free(f);
	return why;
}

/* After the checks of a survivor: a new file, written and synced. */
static int recover_and_write(struct fs_info *fs)
{
	struct fs_ino ino;
	int ret = fs_create(fs, "/after-crash", 0644, &ino);

	if (ret == 0)
		ret = fs_write(fs, ino, 0, "x", 1);
	return ret ? ret : fs_sync(fs);
}

/* Mount the survivor: fsck, the oracle, new writes, fsck again. NULL or
 * why not; *listing receives the survivor's tree. */
static const char *verify(struct fault_dev *c, const struct model *m,
			  uint64_t cut, char **listing)
{
	struct fs_check_report rep;
	struct fs_info *fs;
	int ret;

	*listing = NULL;
	if (fs_mount(fault_dev_blk(c), 0, &fs))
		return "the image does not mount";
	ret = fs_check(fs, &rep);
	if (ret == 0 && tree_is_a_commit(fs, m, cut, listing))
		ret = -ENODATA;
	if (ret == 0)
		ret = recover_and_write(fs);
	if (ret == 0)
		ret = fs_check(fs, &rep);
	fs_umount(fs);
	if (ret == -ENODATA)
		return "the tree is not one committed state";
	return ret ? "fsck found errors, or the image takes no new writes" :
		     NULL;
}

/* What a survivor whose recovery was cut may hold: its own tree (want),
 * with or without /after-crash (empty or written). 0 or -1. */
static int recovered_ok(struct fs_info *fs, const char *want)
{
	static const char *const extra[] = {
		"/after-crash f 0 cbf29ce484222325 links 1 group /after-crash\n",
		"/after-crash f 1 af63f54c86021707 links 1 group /after-crash\n",
	};
	char *got = crash_listing(fs), *at;
	int ok = got && strcmp(got, want) == 0, i;

	for (i = 0; got && !ok && i < 2; i++) {
		at = strstr(got, extra[i]);
		if (at) {
			memmove(at, at + strlen(extra[i]),
				strlen(at + strlen(extra[i])) + 1);
			ok = strcmp(got, want) == 0;
		}
	}
	if (!ok && got)
		crash_print_diff(got, want);
	free(got);
	return ok ? 0 : -1;
}

/* Cut the recovery of survivor c (whose tree is want) at each of its
 * writes; every result must mount, check clean and hold want. */
static const char *cut_recovery(struct fault_dev *c, const char *want,
				uint64_t *cuts)
{
	struct fs_check_report rep;
	struct fault_dev *f, *r;
	struct fs_info *fs;
	uint64_t cut, total = 0;
	const char *why = NULL;

	for (cut = 0; cut <= total && !why; cut++) {
		f = fault_dev_clone(c);
		fault_dev_arm(f, cut, FAULT_TORN, cut);
		if (fs_mount(fault_dev_blk(f), 0, &fs) == 0) {
			recover_and_write(fs);
			fs_umount(fs);
		}
		if (cut == 0) {		/* count the recovery's writes */
			total = fault_dev_writes(f);
			fault_dev_free(f);
			continue;
		}
		r = fault_dev_crash_image(f);
		fault_dev_free(f);
		if (fs_mount(fault_dev_blk(r), 0, &fs)) {
			why = "a cut recovery leaves an image that does not mount";
		} else {
			if (fs_check(fs, &rep) || recovered_ok(fs, want))
				why = "a cut recovery changed the tree or its fsck";
			fs_umount(fs);
		}
		fault_dev_free(r);
		(*cuts)++;
	}
	return why;
}

/* Keep a failing survivor for debugging, and say where. */
static void keep(struct fault_dev *c)
{
	if (fault_dev_save(c, FAILED_IMAGE) == 0)
		printf("# the failing image is %s\n", FAILED_IMAGE);
}

/* The survivor of the cut at write cut: verify it, and sometimes cut its
 * recovery and btrfs check it. */
static const char *one_cut(struct fault_dev *tmpl, const struct crash_case *cc,
			   uint64_t cut, int check, int cut_rec,
			   uint64_t *rec_cuts)
{
	static struct model m;
	struct fault_dev *c;
	uint64_t writes;
	char *listing = NULL;
	const char *why = run_cut(tmpl, cc, cut, &m, &c, &writes);

	if (!why)
		why = verify(c, &m, cut, &listing);
	if (!why && check &&
	    test_btrfs_check(__FILE__, __LINE__, fault_dev_btrfs_check(c)))
		why = "btrfs check";
	if (why)
		keep(c);
	fault_dev_free(c);
	if (!why && cut_rec) {
		/* verify wrote to its copy: cut the recovery of a new one */
		why = run_cut(tmpl, cc, cut, &m, &c, &writes);
		if (!why)
			why = cut_recovery(c, listing, rec_cuts);
		if (why)
			keep(c);
		fault_dev_free(c);
	}
	free(listing);
	return why;
}

/*
 * Cut at every step-th write of the workload (the first to fail is the
 * one after the cut); every survivor is verified,
 * CRASH_BTRFS_CHECKS of them (or all: GHEE_CRASH_ALL) btrfs checked and
 * RECOVERY_CUTS of them (make crash: RECOVERY_CUTS_ALL) have their
 * recovery cut at every write.
 */
static void crash_run(const struct crash_case *cc)
{
	static struct model m;
	struct fault_dev *tmpl = template_dev(cc->nodesize), *c;
	uint64_t total = 0, cut, runs = 0, checks = 0, rec = 0, rec_cuts = 0;
	uint64_t every_check, every_rec, step;
	int all = getenv("GHEE_CRASH_ALL") != NULL;
	const char *why;

	CHECK(tmpl != NULL);
	CHECK(cc->nops + 2 <= MAX_STATES);
	host_console_capture(1);	/* the aborts' messages */
	why = run_cut(tmpl, cc, 0, &m, &c, &total);
	fault_dev_free(c);
	if (!why && m.states.n < cc->nops / 2)
		why = "the workload recorded too few states";
	step = all ? 1 : cc->step;	/* make crash: every write */
	every_check = all ? 1 : total / step / CRASH_BTRFS_CHECKS + 1;
	every_rec = total / step /
		    (all ? RECOVERY_CUTS_ALL : RECOVERY_CUTS) + 1;
	/* A cut at write total (all landed) is no cut of the workload. */
	for (cut = 1; cut < total && !why; cut += step, runs++) {
		int check = runs % every_check == 0;
		int cut_rec = runs % every_rec == every_rec / 2;

		why = one_cut(tmpl, cc, cut, check, cut_rec, &rec_cuts);
		checks += check;
		rec += cut_rec;
	}
	host_console_capture(0);
	fault_dev_free(tmpl);
	printf("# nodesize %u, %d operations (%d states), %llu recoveries "
	       "cut %llu times\n", cc->nodesize, cc->nops, m.states.n,
	       (unsigned long long)rec, (unsigned long long)rec_cuts);
	crash_summary(cc->nodesize == 4096 ? "namespace-4k" : "namespace",
		      cc->mode, total, runs + rec_cuts, checks, why ? 1 : 0);
	if (why)
		test_fail(__FILE__, __LINE__, "cut at write %llu (%s): %s",
			  (unsigned long long)(runs ? cut - step : 0),
			  crash_mode_names[cc->mode], why);
}

/* Small workload, cut at every write; writes up to the cut land. */
TEST(crash, every_write_small)
{
	static const struct crash_case cc = { 16384, 60, 1, FAULT_CUT };

	crash_run(&cc);
}

/* The same, unflushed writes kept or lost at random. */
TEST(crash, every_write_reordered)
{
	static const struct crash_case cc = { 16384, 60, 1, FAULT_REORDER };

	crash_run(&cc);
}

/* The same, the write at the cut torn (some of its pages land). */
TEST(crash, every_write_torn)
{
	static const struct crash_case cc = { 16384, 60, 1, FAULT_TORN };

	crash_run(&cc);
}

/* A larger workload whose 4K-node trees split, cut at sampled writes. */
TEST(crash, sampled_large_reordered)
{
	static const struct crash_case cc = { 4096, 400, 46, FAULT_REORDER };

	crash_run(&cc);
}
