/*
 * SHA-2 from Debian's libmd (sha2.c, BSD licence), taken unchanged from
 * its source package into build/hashes by scripts/build-hashes.sh and
 * compiled here once, with the kernel's own flags in the kernel: portable
 * C, no run-time dispatch. lib/sha256.c is ghee's interface to it.
 */
#include <sha2.c>
