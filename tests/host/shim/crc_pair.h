/*
 * Names that hash alike, for tests of items that hold several names of
 * one hash (DIR_ITEM, XATTR_ITEM): tests/host/shim/crc_pair.c.
 */
#ifndef HOST_SHIM_CRC_PAIR_H
#define HOST_SHIM_CRC_PAIR_H

/*
 * Fill a and b (9 bytes each) with two 8-byte strings of one crc32c.
 * CRC-32C is linear, so strings of equal length that collide from one
 * seed collide from every seed: any string built from blocks of a and b,
 * block count, prefix and suffix fixed, has one name hash. Returns 1, or
 * 0 when none was found (or memory ran out).
 */
int crc_pair(char *a, char *b);

#endif
