/*
 * Clone sources: an extent of the sent file that the receiver already
 * has goes as CLONE, not as data. The receiver has the parent snapshot,
 * the clone sources named with -c, and what this stream made so far (an
 * inode of the sent subvolume below the current one). The back-reference
 * walker (backref.c, at the commit roots: each search under
 * commit_root_sem for that search only, the caller's function run with
 * nothing held) names every (subvolume, inode, file offset) using the
 * extent; the first one that is such a source and whose own extent item
 * holds the whole range at the same place in the extent is cloned from.
 * A clone stops at the source's end (the rest is sent as data); one that
 * ends off a sector boundary is sent only when it ends at or past the
 * receiver's file's end (FICLONERANGE's rule); else the data is sent.
 *
 * The lookup takes many searches, and a relocation or a dedupe into a
 * read-only subvolume may commit between them, moving the extent or the
 * source's item. So, as the reference says, a source found across such a
 * commit is not trusted: the relocation count is read before the walk,
 * and after it the sent item is searched afresh; the clone is sent only
 * when that search ran at the same count and finds the item unchanged
 * (the walk and the source's checks then all saw one state, which the
 * item was part of). Otherwise the range goes as data, which is exact
 * whatever moved.
 */
#include <ghee/errno.h>


#include "backref.h"
#include "commit_root.h"
#include "fs.h"
#include "fs_info.h"
#include "send_int.h"
#include "subvol.h"


/* The extent range looked for, and the source found. */
struct clone_find {
	struct send_ctx *c;
	u64 disk_bytenr;	/* the extent */
	u64 ext_pos;		/* where in the extent the range starts */
	u64 len;		/* bytes of the range */
	u8 compression;
	const struct subvol_root *root;	/* found: source subvolume */
	u64 ino, offset;		/* found: inode and file offset */
	u64 src_size;			/* found: the source file's size */
};

/* Whether subvolume id is one the receiver has; its root in *sv. */
static int known_root(struct send_ctx *c, u64 id, u64 ino,
		      const struct subvol_root **sv)
{
	u32 i;

	if (id == c->sv->root.objectid) {
		*sv = c->sv;
		return ino < c->in.ino;
	}
	if (c->parent && id == c->parent->root.objectid) {
		*sv = c->parent;
		return 1;
	}
	for (i = 0; i < c->nclones; i++) {
		if (id == c->clones[i]->root.objectid) {
			*sv = c->clones[i];
			return 1;
		}
	}
	return 0;
}

/* Whether the item of the extent at [offset, +len) of inode ino in sv
 * is one item over the whole range, at the same place in the extent. */
static int item_fits(struct clone_find *f, const struct subvol_root *sv,
		     u64 ino, u64 offset)
{
	struct key k = { ino, BTRFS_EXTENT_DATA_KEY, 0 };
	struct send_cursor cur = { 0 };
	int ok = 0, ret = send_search_in(f->c, &sv->root, &k, &cur);

	while (ret == 0) {
		const u8 *p = tb_item_data(cur.leaf, cur.slot);
		u32 size = tb_item_size(cur.leaf, cur.slot);

		tb_item_key(cur.leaf, cur.slot, &k);
		if (k.objectid != ino || k.type != BTRFS_EXTENT_DATA_KEY ||
		    k.offset > offset)
			break;
		if (size >= sizeof(struct d_file_extent_item) &&
		    FE8(p, type) == BTRFS_FILE_EXTENT_REG &&
		    k.offset + FE64(p, num_bytes) > offset) {
			ok = FE8(p, compression) == f->compression &&
			     FE64(p, disk_bytenr) == f->disk_bytenr &&
			     offset - k.offset + FE64(p, offset) ==
			     f->ext_pos &&
			     k.offset + FE64(p, num_bytes) >= offset + f->len;
			break;
		}
		ret = send_next(f->c, &sv->root, &cur);
	}
	send_cursor_release(&cur);
	return ok;
}

/* Whether the source range fits (see item_fits) and starts before the
 * source file's end; its size in f->src_size. */
static int source_fits(struct clone_find *f, const struct subvol_root *sv,
		       u64 ino, u64 offset)
{
	u8 ii[sizeof(struct d_inode_item)];

	if (!item_fits(f, sv, ino, offset) ||
	    send_read_inode_in(f->c, &sv->root, ino, ii))
		return 0;
	f->src_size = D_GET64(struct d_inode_item, ii, size);
	return f->src_size > offset;
}

static int clone_hit(void *ctx, const struct backref_hit *h)
{
	struct clone_find *f = ctx;
	const struct subvol_root *sv;

	if (!known_root(f->c, h->root, h->ino, &sv) ||
	    (sv == f->c->sv && h->ino == f->c->in.ino) ||
	    !source_fits(f, sv, h->ino, h->offset))
		return 0;
	f->root = sv;
	f->ino = h->ino;
	f->offset = h->offset;
	return 1;
}

static int source_path(struct send_ctx *c, const struct clone_find *f,
		       char *out);

/* CLONE [off, +len) of the current inode from what f found. */
static int send_clone(struct send_ctx *c, const struct clone_find *f,
		      u64 off, u64 len)
{
	char *path = (char *)c->data;
	int ret = source_path(c, f, path);

	if (ret)
		return ret;
	send_begin(&c->out, SEND_C_CLONE);
	ret = send_put_str(&c->out, SEND_A_PATH, c->in.path);
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_FILE_OFFSET, off);
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_CLONE_LEN, len);
	if (ret == 0)
		ret = send_put_identity(c, f->root->root.objectid,
					SEND_A_CLONE_UUID,
					SEND_A_CLONE_CTRANSID);
	if (ret == 0)
		ret = send_put_str(&c->out, SEND_A_CLONE_PATH, path);
	if (ret == 0)
		ret = send_put_u64(&c->out, SEND_A_CLONE_OFFSET, f->offset);
	return ret ? ret : send_end(&c->out);
}

/* Whether the current inode's extent item at file offset off is still
 * fe (its fixed part), found by a search at relocation count reloc. */
static int item_unmoved(struct send_ctx *c, u64 off, const u8 *fe, u64 reloc)
{
	struct key k = { c->in.ino, BTRFS_EXTENT_DATA_KEY, off }, found;
	struct send_cursor cur = { 0 };
	int same = 0;

	if (send_search(c, &k, &cur) == 0 && cur.reloc == reloc) {
		tb_item_key(cur.leaf, cur.slot, &found);
		same = !key_cmp(&found, &k) &&
		       tb_item_size(cur.leaf, cur.slot) >=
		       sizeof(struct d_file_extent_item) &&
		       !memcmp(tb_item_data(cur.leaf, cur.slot), fe,
			       sizeof(struct d_file_extent_item));
	}
	send_cursor_release(&cur);
	return same;
}

/*
 * Send [off, end) of the current inode, regular extent fe, as CLONE when
 * a source has it. Returns how many bytes from off were cloned (0: none,
 * send the data), or <0. The clone stops at the source's end; a clone
 * ending off a sector boundary (there) is sent only when it also ends at
 * or past the receiver's file's end (FICLONERANGE's rule).
 */
int64_t send_try_clone(struct send_ctx *c, u64 off, u64 end, const u8 *fe)
{
	struct clone_find f = { .c = c };
	u64 reloc = commit_root_reloc_count(c->fs), len;
	int ret;

	f.disk_bytenr = FE64(fe, disk_bytenr);
	f.ext_pos = FE64(fe, offset);
	f.compression = FE8(fe, compression);
	f.len = end - off;
	ret = backref_data(c->fs, f.disk_bytenr + f.ext_pos, BACKREF_COMMIT,
			   0, clone_hit, &f, NULL);
	if (ret == -ENOENT || (ret == 0 && !f.root))
		return 0;
	if (ret)
		return ret;
	len = f.src_size - f.offset < f.len ? f.src_size - f.offset : f.len;
	if ((len & (c->fs->sectorsize - 1)) &&
	    (f.offset + len != f.src_size || off + len < c->in.recv_size))
		return 0;
	if (!item_unmoved(c, off, fe, reloc)) {
		c->stale_clones++;
		return 0;
	}
	ret = send_clone(c, &f, off, len);
	return ret ? ret : (int64_t)len;
}

/* The first path fs_inode_paths gives, without a leading '/'. */
static int first_path(void *ctx, const char *p)
{
	char *out = ctx;

	while (*p == '/')
		p++;
	if (strlen(p) >= SEND_PATH_MAX)
		return -ENAMETOOLONG;
	strcpy(out, p);
	return 1;
}

/* The path of the source found, as the receiver has it. */
static int source_path(struct send_ctx *c, const struct clone_find *f,
		       char *out)
{
	struct fs_ino ino = { f->root->root.objectid, f->ino };

	if (f->root == c->sv)
		return send_path_of(c, f->ino, out);
	out[0] = 0;
	return fs_inode_paths(c->fs, ino, first_path, out);
}
