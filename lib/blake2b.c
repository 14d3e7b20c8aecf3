/*
 * BLAKE2b for btrfs's blake2 checksum type (fs/csum_type.c): the reference
 * implementation of the BLAKE2 authors (blake2b-ref.c, CC0), taken
 * unchanged from Debian's libb2 source package into build/hashes by
 * scripts/build-hashes.sh and compiled here once, for the kernel and the
 * host alike: the portable reference code built with the kernel's own
 * flags (no red zone, no PIC), where Debian's prebuilt libb2 is built for
 * Linux user space.
 */
#include <blake2b-ref.c>
