/*
 * The send stream's format, as btrfs-progs and Linux read and write it
 * (btrfs-progs' Documentation/dev/dev-send-stream.rst): shared by send
 * (fs/send*.c, the writer) and receive (fs/receive*.c, the reader).
 *
 * A stream is a header (the 13 bytes "btrfs-stream\0" and a le32 version)
 * then commands. A command is a 10-byte header (le32 length of what
 * follows the header, le16 command, le32 crc32c with seed 0 over the
 * header, with its crc field zero, and the payload) then attributes, each
 * a TLV (le16 type, le16 length, value). From version 2 on, DATA is the
 * last attribute of its command, its header holds only the type, and its
 * value runs to the command's end (so a write can pass 64 KiB).
 * Integers are little-endian; a path is its bytes, not NUL-terminated; a
 * time is le64 seconds and le32 nanoseconds; a UUID is 16 bytes.
 */
#ifndef FS_SEND_FORMAT_H
#define FS_SEND_FORMAT_H

#include <stdint.h>

#define SEND_MAGIC "btrfs-stream"	/* with its NUL: 13 bytes */
#define SEND_MAGIC_LEN 13
#define SEND_STREAM_HEADER_LEN 17	/* magic and le32 version */
#define SEND_CMD_HEADER_LEN 10		/* le32 len, le16 cmd, le32 crc */
#define SEND_TLV_HEADER_LEN 4		/* le16 type, le16 len */

/* Versions ghee writes and reads; 0 on the command line means "newest". */
#define SEND_VERSION_1 1
#define SEND_VERSION_2 2

/* Largest command (header included) in a version 1 stream; version 2
 * allows more for DATA (Linux: 16 KiB plus the largest compressed extent,
 * page aligned). */
#define SEND_BUF_V1 (64 * 1024)
#define SEND_BUF_V2 (16 * 1024 + 128 * 1024)

enum send_cmd {
	SEND_C_UNSPEC = 0,
	/* version 1 */
	SEND_C_SUBVOL = 1,
	SEND_C_SNAPSHOT = 2,
	SEND_C_MKFILE = 3,
	SEND_C_MKDIR = 4,
	SEND_C_MKNOD = 5,
	SEND_C_MKFIFO = 6,
	SEND_C_MKSOCK = 7,
	SEND_C_SYMLINK = 8,
	SEND_C_RENAME = 9,
	SEND_C_LINK = 10,
	SEND_C_UNLINK = 11,
	SEND_C_RMDIR = 12,
	SEND_C_SET_XATTR = 13,
	SEND_C_REMOVE_XATTR = 14,
	SEND_C_WRITE = 15,
	SEND_C_CLONE = 16,
	SEND_C_TRUNCATE = 17,
	SEND_C_CHMOD = 18,
	SEND_C_CHOWN = 19,
	SEND_C_UTIMES = 20,
	SEND_C_END = 21,
	SEND_C_UPDATE_EXTENT = 22,
	/* version 2 */
	SEND_C_FALLOCATE = 23,
	SEND_C_FILEATTR = 24,
	SEND_C_ENCODED_WRITE = 25,
	/* version 3 (not written or read by ghee) */
	SEND_C_ENABLE_VERITY = 26,
};
#define SEND_C_MAX_V1 SEND_C_UPDATE_EXTENT
#define SEND_C_MAX_V2 SEND_C_ENCODED_WRITE

enum send_attr {
	SEND_A_UNSPEC = 0,
	/* version 1 */
	SEND_A_UUID = 1,
	SEND_A_CTRANSID = 2,
	SEND_A_INO = 3,
	SEND_A_SIZE = 4,
	SEND_A_MODE = 5,
	SEND_A_UID = 6,
	SEND_A_GID = 7,
	SEND_A_RDEV = 8,
	SEND_A_CTIME = 9,
	SEND_A_MTIME = 10,
	SEND_A_ATIME = 11,
	SEND_A_OTIME = 12,
	SEND_A_XATTR_NAME = 13,
	SEND_A_XATTR_DATA = 14,
	SEND_A_PATH = 15,
	SEND_A_PATH_TO = 16,
	SEND_A_PATH_LINK = 17,
	SEND_A_FILE_OFFSET = 18,
	SEND_A_DATA = 19,
	SEND_A_CLONE_UUID = 20,
	SEND_A_CLONE_CTRANSID = 21,
	SEND_A_CLONE_PATH = 22,
	SEND_A_CLONE_OFFSET = 23,
	SEND_A_CLONE_LEN = 24,
	/* version 2 */
	SEND_A_FALLOCATE_MODE = 25,
	SEND_A_FILEATTR = 26,
	SEND_A_UNENCODED_FILE_LEN = 27,
	SEND_A_UNENCODED_LEN = 28,
	SEND_A_UNENCODED_OFFSET = 29,
	SEND_A_COMPRESSION = 30,
	SEND_A_ENCRYPTION = 31,
};
#define SEND_A_MAX_V1 SEND_A_CLONE_LEN
#define SEND_A_MAX_V2 SEND_A_ENCRYPTION

/* ENCODED_WRITE's COMPRESSION values (Linux's encoded I/O numbering,
 * not the file extent item's): lzo names the sector size its framing
 * uses, LZO_4K + log2(sector size / 4 KiB). */
#define SEND_ENC_ZLIB 1
#define SEND_ENC_ZSTD 2
#define SEND_ENC_LZO_4K 3
#define SEND_ENC_LZO_64K 7

/* FALLOCATE's mode bits (Linux's fallocate flags). */
#define SEND_FALLOC_KEEP_SIZE 0x01
#define SEND_FALLOC_PUNCH_HOLE 0x02

#endif
