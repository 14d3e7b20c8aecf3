/*
 * Send's internals, shared by fs/send*.c: the stream writer
 * (send_stream.c), the walk of the subvolume's commit root (send.c), an
 * inode's commands (send_inode.c), its data (send_data.c) and the paths
 * the receiver sees at each point of the stream (send_path.c).
 */
#ifndef FS_SEND_INT_H
#define FS_SEND_INT_H

#include "../lib/u64map.h"
#include "format.h"
#include "fs.h"
#include "send.h"
#include "send_format.h"
#include "tree_block.h"

struct ctree_root;
struct fs_info;
struct subvol_root;

/* The stream being written: one command is built in buf at a time. */
struct send_stream {
	u32 proto;		/* stream version, 1 or 2 */
	u8 *buf;		/* the command being built, cap bytes */
	u32 cap;		/* largest command of this version */
	u32 len;		/* bytes of the command so far */
	fs_send_write_t write;	/* the sink */
	void *ctx;		/* its argument */
	u64 bytes;		/* stream bytes written */
	/* The command's DATA sectors whose CRC is known
	 * (send_put_data_crcs): known_n of 4 KiB from byte data_at of buf,
	 * known_crc[k] valid when known_have[k]. */
	u32 data_at, known_n;
	const u32 *known_crc;
	const u8 *known_have;
};

int send_stream_init(struct send_stream *s, u32 proto, fs_send_write_t write,
		     void *ctx);
void send_stream_free(struct send_stream *s);
int send_stream_header(struct send_stream *s);
void send_begin(struct send_stream *s, enum send_cmd cmd);
int send_put(struct send_stream *s, enum send_attr type, const void *v,
	     u32 len);
int send_put_u64(struct send_stream *s, enum send_attr type, u64 v);
int send_put_str(struct send_stream *s, enum send_attr type, const char *str);
int send_put_time(struct send_stream *s, enum send_attr type, const u8 *ts);
u32 send_stream_data_room(const struct send_stream *s);
int send_put_data(struct send_stream *s, const void *v, u32 len);
int send_put_data_crcs(struct send_stream *s, const void *v, u32 len,
		       const u32 *crc, const u8 *have);
int send_end(struct send_stream *s);

/* Whether mode (an inode's) is of type (S_IF*_ of write_common.h). */
#define SEND_IS(mode, type) (((mode) & S_IFMT_) == (type))

/* Fields of a file extent item at p. */
#define FE64(p, f) D_GET64(struct d_file_extent_item, p, f)
#define FE8(p, f) D_GET8(struct d_file_extent_item, p, f)

/* Bytes of send_ctx's data buffer: file data read at once for WRITEs
 * (send_data.c), at least the largest WRITE (128 KiB) and the largest
 * compressed extent's stored bytes (128 KiB). */
#define SEND_DATA_BUF (1024 * 1024)
/* Buffers of file data read ahead at once (send_data.c). */
#define SEND_READ_AHEAD 4

/* Longest path in the stream (Linux's PATH_MAX). */
#define SEND_PATH_MAX 4096

/* A position in the sent tree: a private copy of a leaf and a slot. */
struct send_cursor {
	struct tree_block *leaf;	/* clone, or NULL past the end */
	u32 slot;
	u64 reloc;		/* relocation count the clone is valid for */
};

/* The inode being sent. */
struct send_inode {
	u64 ino;
	u8 item[sizeof(struct d_inode_item)];	/* its inode item */
	u64 gen, size, rdev;
	u32 mode;
	int ignore;		/* no links (an orphan): send nothing */
	int refs_done;		/* its names are in place */
	int orphan;		/* still under its orphan name */
	u64 next_write;		/* end of the data sent so far */
	u64 recv_size;		/* the receiver's size of it now: its
				 * parent's size, grown by what is sent */
	char path[SEND_PATH_MAX];	/* where it is now, for the receiver */
};

/* An inode that differs between the parent and the sent subvolume
 * (send_diff.c). */
struct send_change {
	u64 ino;
	u64 old_gen;		/* generation in the parent; 0: absent */
	u64 new_gen;		/* in the sent subvolume; 0: absent */
	u32 old_mode, new_mode;	/* modes, where present */
	u8 what;		/* SEND_CH_*: which items differ */
};
#define SEND_CH_INODE 0x01	/* the inode item */
#define SEND_CH_REFS 0x02	/* its names */
#define SEND_CH_XATTR 0x04	/* extended attributes */
#define SEND_CH_DATA 0x08	/* file extents */
#define SEND_CH_OTHER 0x10	/* directory entries and the like */

/* Where an inode of an incremental send is now, for the receiver, when
 * it moved or was made during the stream (send_path.c). */
struct send_loc {
	int orphan;		/* under "o<ino>-<gen>-0" at the top */
	u64 gen;		/* for the orphan name */
	u64 dir;		/* else: its directory */
	u32 len;		/* and name */
	u8 name[BTRFS_NAME_LEN];
};

/* One send. */
struct send_ctx {
	struct fs_info *fs;
	const struct subvol_root *sv;	/* the subvolume sent */
	struct send_stream out;
	unsigned flags;			/* FS_SEND_* */
	struct send_cursor cur;		/* the walk */
	u64 restarts;			/* searches repeated after relocation */
	u64 stale_clones;		/* clone sources sent as data: a
					 * relocation came during the lookup */
	u64 compared;			/* incremental: items compared */
	u64 progress;			/* inodes below are in place */
	struct send_inode in;		/* the inode being sent */
	struct u64map created;		/* directories made ahead of their
					 * turn (orphan-named): ino -> gen */
	struct u64map dirs;		/* directories whose times go at the
					 * end: a set of inos */
	struct u64map orphans;		/* orphan names given: ino ->
					 * gen << 8 | n (send_orphan_name) */
	const struct subvol_root **clones;	/* -c clone sources */
	u32 nclones;
	/* Incremental send only: */
	const struct subvol_root *parent;	/* the parent snapshot */
	struct send_change *changes;	/* what differs, in inode order */
	u32 nchanges, changes_cap;
	struct u64map loc;		/* ino -> struct send_loc * */
	struct u64map kept;		/* inodes pass A left at their one
					 * old name, to move straight to
					 * their one new name (send_incr.c):
					 * ino -> 1 while there, 0 once
					 * moved */
	u8 *data;			/* file data bounce buffer */
	struct fs_read_crcs data_crcs;	/* checksums of data's sectors, as
					 * fs_read_crcs verified them */
	u8 *ahead[SEND_READ_AHEAD];	/* the next file data, read ahead
					 * (send_data.c), SEND_DATA_BUF each */
	struct fs_read_crcs ahead_crcs[SEND_READ_AHEAD]; /* the same of
					 * ahead's */
	char tmp[SEND_PATH_MAX];	/* scratch path */
};

/* send.c: searching the sent tree (and the parent) */
int send_search_in(struct send_ctx *c, const struct ctree_root *root,
		   const struct key *key, struct send_cursor *cur);
int send_search(struct send_ctx *c, const struct key *key,
		struct send_cursor *cur);
int send_next(struct send_ctx *c, const struct ctree_root *root,
	      struct send_cursor *cur);
int send_put_identity(struct send_ctx *c, u64 id, enum send_attr uuid,
		      enum send_attr ctransid);

/* send_clone.c */
int64_t send_try_clone(struct send_ctx *c, u64 off, u64 end, const u8 *fe);
void send_cursor_release(struct send_cursor *cur);
int send_read_inode_in(struct send_ctx *c, const struct ctree_root *root,
		       u64 ino, u8 *item);
int send_read_inode(struct send_ctx *c, u64 ino, u8 *item);

/* send_path.c */
int send_orphan_name(struct send_ctx *c, u64 ino, u64 gen, char *out);
int send_path_of(struct send_ctx *c, u64 ino, char *out);
int send_join(char *out, const char *dir, const u8 *name, u32 len);
int send_path_find_in(struct send_ctx *c, u64 ino, const struct u64map *s,
		      u64 *found);

/* send_diff.c */
int send_diff(struct send_ctx *c);
struct send_change *send_change_find(struct send_ctx *c, u64 ino);

/* send_path.c, incremental: moved inodes */
int send_loc_set(struct send_ctx *c, u64 ino, const struct send_loc *l);
void send_loc_free_all(struct send_ctx *c);

/* send_inode.c */
int send_inode_create(struct send_ctx *c, u64 ino, u32 mode, u64 rdev,
		      const char *path);
int send_paths_cmd(struct send_ctx *c, enum send_cmd cmd, enum send_attr a1,
		   const char *p1, enum send_attr a2, const char *p2);
int send_inode_load(struct send_ctx *c, const struct key *k, const u8 *item);
int send_inode_begin(struct send_ctx *c, const struct key *k,
		     const u8 *item);
int send_inode_refs(struct send_ctx *c, const struct key *k, const u8 *item,
		    u32 size);
int send_inode_refs_done(struct send_ctx *c);
int send_inode_xattrs(struct send_ctx *c, const u8 *item, u32 size);
int send_inode_finish(struct send_ctx *c);
int send_inode_finish_changed(struct send_ctx *c);
int send_dir_times(struct send_ctx *c);
int send_utimes(struct send_ctx *c, const char *path, const u8 *ii);

/* send_data.c */
int send_extent(struct send_ctx *c, const struct key *k, const u8 *fe,
		u32 size);
int send_truncate(struct send_ctx *c, u64 size);
int send_data_diff(struct send_ctx *c);

/* send_incr.c */
int send_incremental(struct send_ctx *c);
int send_xattrs_diff(struct send_ctx *c);

#endif
