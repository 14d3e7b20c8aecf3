/*
 * A send stream gathered in memory, for tests that send while something
 * else changes the filesystem (tests/host/test_send_sink.c).
 */
#ifndef TESTS_HOST_SEND_SINK_H
#define TESTS_HOST_SEND_SINK_H

#include <stddef.h>
#include <stdint.h>

struct fs_info;

struct sink {
	unsigned char *buf;	/* malloc'd; free it */
	size_t len, cap;
};

/* fs_send's write callback: append to the sink (ctx). */
int sink_write(void *ctx, const void *b, size_t n);
/* A full version 2 send of the read-only subvolume at path into s (its
 * len set to 0 first); *restarts gets how often send searched again
 * after a commit moved its restart counter. 0 or <0. */
int sink_send(struct fs_info *fs, const char *path, struct sink *s,
	      uint64_t *restarts);
/* Whether two streams differ past their SUBVOL commands (SUBVOL carries
 * the ctransid, which a dedupe into the subvolume moves, as in Linux). */
int sink_streams_differ(const struct sink *a, const struct sink *b);

/* Whether the subvolumes (or directories) at paths a and b hold different
 * names, kinds, modes, sizes, bytes or link targets: 0 or 1, or <0 when
 * a read failed. */
int sink_trees_differ(struct fs_info *fs, const char *a, const char *b);
/* Receive s into directory dir (made if missing) of fs, inflating
 * ENCODED_WRITE's data when force_decompress. 0 or <0. */
int sink_receive(struct fs_info *fs, const struct sink *s, const char *dir,
		 int force_decompress);
/* Receive s into directory dir (made if missing) of fs and compare the
 * subvolume it makes with the one at path orig: 0 when both hold the
 * same names, kinds, modes, sizes, bytes and link targets, 1 when they
 * differ, <0 when the receive or a read failed. For streams that may
 * differ in bytes yet mean the same (data sent where a clone was). */
int sink_received_differs(struct fs_info *fs, const struct sink *s,
			  const char *dir, const char *orig);

#endif
