/*
 * The stress workload's file contents (see fs_stress.c): writers, which
 * change their own files and know every byte, and the checks any task
 * makes of a file or symlink it reads.
 *
 * Writer N's file i holds, at each offset, a byte of the pattern of one
 * of the seeds file_seed(N, i) + 0..WRITER_SEEDS-1 (each write picks
 * one), or zero (holes, and truncates that grew the file), or, where a
 * range was cloned (reflinked) from the writer's file j at the same
 * offset, what file j held there. f0 is dense: it is only written from
 * offsets inside it or at its end, never grown by truncate and never a
 * clone's destination, so it holds no zeros but written ones. A reader
 * that does not know which change came last still knows that any other
 * byte was never written to that writer's files: data lost, misplaced,
 * mixed with another writer's, or (in f0) a hole seen while a change was
 * half done. The writer itself keeps the exact bytes, and each file's
 * xattr XATTR_NAME.
 *
 * A namer's file is written once, right after it is made: an 8-byte
 * header naming it (its id, see fs_stress_ns.c), then the pattern of its
 * id's seed, namer_file_len(id) bytes in all, so the file describes
 * itself wherever its names move. Symlink targets do the same.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/alloc.h>

#include "cmd_fs.h"
#include "fs_stress_int.h"

#define VERIFY_EVERY 4		/* writer ops between read-backs */
#define DENSE_FILE 0		/* the writer file without holes */
#define SMALL_MAX 600		/* small writes: may stay inline */
#define MEDIUM_MAX 8192
#define LARGE_MAX 65536
#define NAMER_FILE_MAX 6000	/* namer file bytes after the header */
#define CLONE_BLOCK 4096	/* clone ranges are whole sectors */
#define XATTR_NAME "user.stress"
#define XATTR_MAX 32		/* its longest value, NUL included */

/* One file of a writer. */
struct writer_file {
	struct fs_ino ino;	/* [own] */
	uint64_t size;		/* [own] bytes it holds */
	uint8_t *want;		/* [own] WRITER_FILE_MAX bytes: its expected
				 * contents, zero past size */
	char xattr[XATTR_MAX];	/* [own] XATTR_NAME's value; "": none */
};

struct writer_state {
	struct writer_file f[WRITER_FILES];
};

/* First of the WRITER_SEEDS seeds of writer n's file i. */
static uint64_t file_seed(const struct fs_stress *s, unsigned n, unsigned i)
{
	return (s->o.seed << 24) + ((uint64_t)n << 8) +
	       (uint64_t)i * WRITER_SEEDS;
}

int writer_init(struct stress_task *t)
{
	unsigned i;

	t->w = kzalloc(sizeof(*t->w));
	if (!t->w)
		return -ENOMEM;
	for (i = 0; i < WRITER_FILES; i++) {
		t->w->f[i].want = kzalloc(WRITER_FILE_MAX);
		if (!t->w->f[i].want)
			return -ENOMEM;
	}
	return 0;
}

void writer_free(struct stress_task *t)
{
	unsigned i;

	if (!t->w)
		return;
	for (i = 0; i < WRITER_FILES; i++)
		kfree(t->w->f[i].want);
	kfree(t->w);
	t->w = NULL;
}

static const char *file_path(struct stress_task *t, unsigned i)
{
	return stress_path(t->path, "%s/w%u/f%u", t->s->dir, t->nth, i);
}

/* Report a failed call of what on writer file i. Returns -EIO. */
static int call_failed(struct stress_task *t, unsigned i, const char *what,
		       int err)
{
	return stress_fail(t, "%s %s: %s (errno %d)", what, file_path(t, i),
			   cmd_fs_err_text(err), -err);
}

/* Make writer file i anew, empty (after unlinking it when asked). */
static int make_file(struct stress_task *t, unsigned i, int unlink_first)
{
	struct writer_file *f = &t->w->f[i];
	int ret = unlink_first ? fs_unlink(t->s->fs, file_path(t, i)) : 0;

	if (ret)
		return call_failed(t, i, "unlink", ret);
	ret = fs_create(t->s->fs, file_path(t, i), 0644, &f->ino);
	if (ret)
		return call_failed(t, i, "create", ret);
	memset(f->want, 0, f->size);
	f->size = 0;
	f->xattr[0] = 0;
	return 0;
}

/* Write len bytes of one of file i's seeds at off; count as kind. */
static int write_at(struct stress_task *t, unsigned i, uint64_t off,
		    uint64_t len, enum fs_stress_count kind)
{
	struct writer_file *f = &t->w->f[i];
	uint64_t seed = file_seed(t->s, t->nth, i) +
			stress_rand(t, WRITER_SEEDS);
	int ret;

	cmd_fs_pattern_fill(seed, off, t->buf, len);
	ret = fs_write(t->s->fs, f->ino, off, t->buf, len);
	if (ret)
		return call_failed(t, i, "write", ret);
	memcpy(f->want + off, t->buf, len);
	if (off + len > f->size)
		f->size = off + len;
	t->count[kind]++;
	return 0;
}

static int truncate_to(struct stress_task *t, unsigned i, uint64_t size)
{
	struct writer_file *f = &t->w->f[i];
	int ret = fs_truncate(t->s->fs, f->ino, size);

	if (ret)
		return call_failed(t, i, "truncate", ret);
	if (size < f->size)
		memset(f->want + size, 0, f->size - size);
	f->size = size;
	t->count[FS_STRESS_TRUNCATE]++;
	return 0;
}

/*
 * Share whole sectors of another of the writer's files with file i (not
 * the dense f0) at the same offset, as cp --reflink of a range does.
 * Falls back to a truncate when the source has no whole sector.
 */
static int clone_into(struct stress_task *t, unsigned i)
{
	unsigned j = (i + 1 + (unsigned)stress_rand(t, WRITER_FILES - 1)) %
		     WRITER_FILES;
	struct writer_file *f = &t->w->f[i], *src = &t->w->f[j];
	uint64_t blocks = src->size / CLONE_BLOCK, off, len;
	int ret;

	if (!blocks)
		return truncate_to(t, i, stress_rand(t, f->size + 1));
	off = stress_rand(t, blocks) * CLONE_BLOCK;
	len = (1 + stress_rand(t, blocks - off / CLONE_BLOCK)) * CLONE_BLOCK;
	ret = fs_clone_range(t->s->fs, src->ino, off, len, f->ino, off);
	if (ret)
		return call_failed(t, i, "clone into", ret);
	memcpy(f->want + off, src->want + off, len);
	if (off + len > f->size)
		f->size = off + len;
	t->count[FS_STRESS_CLONE]++;
	return 0;
}

/* Set file i's xattr to a new value. */
static int set_xattr(struct stress_task *t, unsigned i)
{
	struct writer_file *f = &t->w->f[i];
	int ret;

	snprintf(f->xattr, sizeof(f->xattr), "w%u.f%u.%llu", t->nth, i,
		 (unsigned long long)stress_rand(t, 1000000));
	ret = fs_setxattr(t->s->fs, f->ino, XATTR_NAME, f->xattr,
			  strlen(f->xattr), 0);
	if (ret)
		return call_failed(t, i, "setxattr", ret);
	t->count[FS_STRESS_XATTR]++;
	return 0;
}

/* Check file i's xattr against the value last set. */
static int check_xattr(struct stress_task *t, unsigned i)
{
	struct writer_file *f = &t->w->f[i];
	char got[XATTR_MAX];
	size_t len = 0;
	int ret = fs_getxattr(t->s->fs, f->ino, XATTR_NAME, got,
			      sizeof(got) - 1, &len);

	if (ret == -ENODATA && !f->xattr[0])
		return 0;
	if (ret)
		return call_failed(t, i, "getxattr", ret);
	got[len] = 0;
	if (strcmp(got, f->xattr))
		return stress_fail(t, "%s: xattr %s is \"%s\", want \"%s\"",
				   file_path(t, i), XATTR_NAME, got,
				   f->xattr);
	return 0;
}

/* A write length: small, medium or large alike. */
static uint64_t rand_len(struct stress_task *t)
{
	static const uint64_t max[] = { SMALL_MAX, MEDIUM_MAX, LARGE_MAX };

	return 1 + stress_rand(t, max[stress_rand(t, 3)]);
}

/* One random change of file i. */
static int writer_op(struct stress_task *t, unsigned i)
{
	struct writer_file *f = &t->w->f[i];
	uint64_t r = stress_rand(t, 100), off, len = rand_len(t);
	int dense = i == DENSE_FILE;
	enum fs_stress_count kind;

	if (r < 4) {
		t->count[FS_STRESS_RECREATE]++;
		return make_file(t, i, 1);
	}
	if (r < 8 && !dense)
		return clone_into(t, i);
	if (r < 11)
		return set_xattr(t, i);
	if (r < 15 && !dense)	/* grow, leaving zeros */
		return truncate_to(t, i, f->size +
				   stress_rand(t, WRITER_FILE_MAX - f->size + 1));
	if (r < 20)
		return truncate_to(t, i, stress_rand(t, f->size + 1));
	if (r < 45) {
		off = stress_rand(t, dense ? f->size + 1 : WRITER_FILE_MAX);
		kind = FS_STRESS_WRITE;
	} else if (r < 70 && f->size) {
		off = stress_rand(t, f->size);
		kind = FS_STRESS_OVERWRITE;
	} else {
		off = f->size;
		kind = FS_STRESS_APPEND;
	}
	if (off == WRITER_FILE_MAX)	/* full: make room instead */
		return truncate_to(t, i, stress_rand(t, f->size + 1));
	if (len > WRITER_FILE_MAX - off)
		len = WRITER_FILE_MAX - off;
	return write_at(t, i, off, len, kind);
}

/* Read file i whole and compare it with the expected bytes. */
static int writer_verify(struct stress_task *t, unsigned i)
{
	struct writer_file *f = &t->w->f[i];
	struct fs_stat st;
	size_t done, o;
	int ret = fs_stat(t->s->fs, f->ino, &st);

	if (ret)
		return call_failed(t, i, "stat", ret);
	if ((st.mode & S_IFMT_) != S_IFREG_ || st.nlink != 1 ||
	    st.size != f->size)
		return stress_fail(t, "%s: mode %o, %u links, size %llu; want "
				   "a file, 1 link, size %llu",
				   file_path(t, i), st.mode, st.nlink,
				   (unsigned long long)st.size,
				   (unsigned long long)f->size);
	ret = fs_read(t->s->fs, f->ino, 0, t->buf, WRITER_FILE_MAX + 1,
		      &done);
	if (ret)
		return call_failed(t, i, "read", ret);
	t->count[FS_STRESS_VERIFY]++;
	if (done == f->size && !memcmp(t->buf, f->want, done))
		return check_xattr(t, i);
	for (o = 0; o < done && o < f->size && t->buf[o] == f->want[o]; o++)
		;
	return stress_fail(t, "%s: read %llu bytes of %llu; first difference "
			   "at %llu: want %02x got %02x", file_path(t, i),
			   (unsigned long long)done,
			   (unsigned long long)f->size,
			   (unsigned long long)o,
			   o < f->size ? f->want[o] : 0,
			   o < done ? t->buf[o] : 0);
}

int writer_verify_all(struct stress_task *t)
{
	unsigned i;
	int ret = 0;

	for (i = 0; i < WRITER_FILES && ret == 0; i++)
		ret = writer_verify(t, i);
	return ret;
}

/* Make DIR/wN and its files, then change and check them. */
int writer_run(void *arg)
{
	struct stress_task *t = arg;
	uint64_t n;
	unsigned i;
	int ret = fs_mkdir(t->s->fs, stress_path(t->path, "%s/w%u",
						 t->s->dir, t->nth), 0755);

	if (ret)
		return stress_fail(t, "mkdir %s: %s (errno %d)", t->path,
				   cmd_fs_err_text(ret), -ret);
	for (i = 0; i < WRITER_FILES && ret == 0; i++)
		ret = make_file(t, i, 0);
	for (n = 0; n < t->s->o.ops && ret == 0 && !stress_stopping(t);
	     n++, stress_op_done(t)) {
		if (n == t->s->o.ops / 2)
			share_await_scan(t);
		i = (unsigned)stress_rand(t, WRITER_FILES);
		ret = writer_op(t, i);
		if (ret == 0 && n % VERIFY_EVERY == VERIFY_EVERY - 1)
			ret = writer_verify(t, i);
	}
	return ret;
}

/* Whether byte b at offset o can have been written to a writer file whose
 * possible pattern words at o are words[0..n): a byte of one of them, or
 * zero when the file may have holes. */
static int byte_possible(const uint64_t *words, unsigned n, uint64_t o,
			 uint8_t b, int holes)
{
	unsigned k;

	if (b == 0 && holes)
		return 1;
	for (k = 0; k < n; k++)
		if ((uint8_t)(words[k] >> (8 * (o & 7))) == b)
			return 1;
	return 0;
}

/*
 * Read writer n's file i (inode ino, at path) as a bystander: every byte
 * must be one that was written to that file (or, for a clone's
 * destination, to any of the writer's files), or a zero of a hole (not in
 * the dense file). 0, or -EIO after reporting a failure.
 */
int writer_check_read(struct stress_task *t, const char *path,
		      struct fs_ino ino, unsigned n, unsigned i)
{
	/* A writer's files' seeds follow each other: f0's first. */
	uint64_t seed = file_seed(t->s, n, 0), x;
	uint64_t words[WRITER_FILES * WRITER_SEEDS];
	int holes = i != DENSE_FILE;
	unsigned k, nw = holes ? WRITER_FILES * WRITER_SEEDS : WRITER_SEEDS;
	size_t done, o, j;
	int ret = fs_read(t->s->fs, ino, 0, t->buf, WRITER_FILE_MAX + 1,
			  &done);

	if (ret)
		return stress_vanished(t, path, ino, ret);
	t->count[FS_STRESS_READ]++;
	if (done > WRITER_FILE_MAX)
		return stress_fail(t, "%s: %llu bytes, more than was written",
				   path, (unsigned long long)done);
	for (o = 0; o < done; o += 8) {
		for (x = 0, j = 0; j < 8 && o + j < done; j++)
			x |= (uint64_t)t->buf[o + j] << (8 * j);
		for (k = 0; k < nw; k++)
			words[k] = cmd_fs_pattern_word(seed + k, o >> 3);
		for (k = 0; k < nw && x != words[k]; k++)
			;
		if ((k < nw || (x == 0 && holes)) && done - o >= 8)
			continue;
		for (j = o; j < o + 8 && j < done; j++)
			if (!byte_possible(words, nw, j, t->buf[j], holes))
				return stress_fail(t, "%s: byte %llu is %02x, "
						   "which was never written "
						   "there", path,
						   (unsigned long long)j,
						   t->buf[j]);
	}
	return 0;
}

/* Bytes of namer file id: an 8-byte header, then up to NAMER_FILE_MAX. */
uint32_t namer_file_len(uint64_t id)
{
	return 8 + (uint32_t)(cmd_fs_pattern_word(0, id) %
			      (NAMER_FILE_MAX + 1));
}

/* The header that names file id in this run. */
static uint64_t namer_header(const struct fs_stress *s, uint64_t id)
{
	return id ^ cmd_fs_pattern_word(s->o.seed, ~0ull);
}

static uint64_t namer_seed(const struct fs_stress *s, uint64_t id)
{
	return ~(s->o.seed << 24) ^ id;
}

/* Fill buf with the namer_file_len(id) bytes of namer file id. */
void namer_file_fill(const struct fs_stress *s, uint64_t id, uint8_t *buf)
{
	uint64_t h = namer_header(s, id);
	unsigned k;

	for (k = 0; k < 8; k++)
		buf[k] = (uint8_t)(h >> (8 * k));
	cmd_fs_pattern_fill(namer_seed(s, id), 8, buf + 8,
			    namer_file_len(id) - 8);
}

/*
 * Read a namer's file ino (at path) and check it against its header. It
 * may be empty (made, not yet written) until the run has settled; else
 * it must be whole. 0, or -EIO after reporting a failure.
 */
int namer_check_read(struct stress_task *t, const char *path,
		     struct fs_ino ino)
{
	uint8_t want[256];
	uint64_t h = 0, id, off, n;
	size_t done;
	unsigned k;
	int ret = fs_read(t->s->fs, ino, 0, t->buf, WRITER_FILE_MAX + 1,
			  &done);

	if (ret)
		return stress_vanished(t, path, ino, ret);
	t->count[FS_STRESS_READ]++;
	if (done == 0 && !t->s->settled)
		return 0;
	for (k = 0; k < 8 && k < done; k++)
		h |= (uint64_t)t->buf[k] << (8 * k);
	id = h ^ namer_header(t->s, 0);
	if (done < 8 || done != namer_file_len(id) ||
	    (id >> 32) >= stress_namers(t->s))
		return stress_fail(t, "%s: %llu bytes of a file whose header "
				   "says %llu", path,
				   (unsigned long long)done,
				   (unsigned long long)namer_file_len(id));
	for (off = 8; off < done; off += n) {
		n = done - off < sizeof(want) ? done - off : sizeof(want);
		cmd_fs_pattern_fill(namer_seed(t->s, id), off, want, n);
		if (memcmp(want, t->buf + off, n))
			return stress_fail(t, "%s: bytes %llu..%llu differ from "
					   "what was written", path,
					   (unsigned long long)off,
					   (unsigned long long)(off + n));
	}
	return 0;
}

/* Write namer symlink id's target into buf (LINK_TARGET_MAX + 1 bytes,
 * NUL-terminated); returns its length. */
size_t namer_link_target(uint64_t id, char *buf)
{
	size_t len = (size_t)snprintf(buf, LINK_TARGET_MAX + 1,
				      "stress-%llu-", (unsigned long long)id);
	size_t end = len + id % (LINK_TARGET_MAX - 30);

	for (; len < end; len++)
		buf[len] = (char)('a' + len % 26);
	buf[len] = 0;
	return len;
}

/* Read namer symlink ino (at path): its target must be one
 * namer_link_target made. 0, or -EIO after reporting a failure. */
int namer_check_link(struct stress_task *t, const char *path,
		     struct fs_ino ino)
{
	char *got = (char *)t->buf, want[LINK_TARGET_MAX + 1];
	const char *p = got + 7;
	uint64_t id = 0;
	size_t done;
	int ret = fs_readlink(t->s->fs, ino, got, LINK_TARGET_MAX + 1, &done);

	if (ret)
		return stress_vanished(t, path, ino, ret);
	t->count[FS_STRESS_READ]++;
	got[done] = 0;
	if (strncmp(got, "stress-", 7) || stress_parse_num(&p, &id) ||
	    namer_link_target(id, want) != done || memcmp(want, got, done))
		return stress_fail(t, "%s: symlink target '%s' is not one "
				   "that was made", path, got);
	return 0;
}
