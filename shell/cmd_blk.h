/* Block device commands (shell/cmd_blk*.c). */
#ifndef SHELL_CMD_BLK_H
#define SHELL_CMD_BLK_H

#include <stddef.h>
#include <stdint.h>

#include <ghee/blk.h>

int cmd_blk(int argc, char **argv);
/* blk bench DISK seq|rand read|write BS QD SECONDS (argv[1] is "bench"). */
int blk_bench(char **argv);
/* blk stress DISK QD SECONDS SEED (argv[1] is "stress"). */
int blk_stress(char **argv);
/* The pattern word at disk byte offset 8 * word for seed, and a buffer of
 * it (len bytes for disk offset off, both multiples of 8). */
uint64_t blk_pattern_word(uint64_t seed, uint64_t word);
void blk_pattern_fill(uint64_t *buf, uint64_t off, size_t len, uint64_t seed);
/* The disk called name, or NULL after saying so. */
struct blkdev *blk_disk_arg(const char *name);
/* A page-aligned buffer of n bytes; kfree(*raw) frees it. NULL: no
 * memory. */
void *blk_alloc_aligned(size_t n, void **raw);

#endif
