#!/usr/bin/env bash
# Gather the hash libraries btrfs's csum types need, from Debian, into
# OUTDIR (one include directory for the kernel and the host programs):
#  - xxhash.h from libxxhash-dev (xxHash 0.8, used header-only: XXH64);
#  - the BLAKE2 reference sources (blake2b-ref.c) from Debian's libb2 source
#    package, and SHA-256 (sha2.c) from Debian's libmd source package,
#    fetched with `apt-get source` by scripts/debian-source.sh.
# Usage: build-hashes.sh OUTDIR   (cached: a second run does nothing)
set -euo pipefail

out=$(realpath -m "$1")
[ -f /usr/include/xxhash.h ] || { echo "build-hashes: no /usr/include/xxhash.h (package libxxhash-dev)" >&2; exit 1; }
want="xxhash $(dpkg-query -W -f='${Version}' libxxhash-dev) libb2-source libmd-source 3"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

rm -rf "$out"
mkdir -p "$out"
cp /usr/include/xxhash.h "$out/"

"$(dirname "$0")/debian-source.sh" "$out" libb2 libmd
# extract PACKAGE FILE...: files of the package's upstream tree, into OUTDIR.
extract() {
	local pkg=$1
	shift
	(cd "$out/src/$pkg" && cp "$@" "$out/")
}
extract libb2 src/blake2b-ref.c src/blake2.h src/blake2-impl.h
extract libmd src/sha2.c src/local-link.h include/sha2.h
# blake2-impl.h and sha2.c include their autoconf "config.h" (sha2.c needs
# nothing from it): x86-64 is little-endian, and no SUFFIX, so the BLAKE2
# reference code keeps its plain names (blake2b(), ...) where libb2
# suffixes them for its run-time dispatch.
printf '#define NATIVE_LITTLE_ENDIAN 1\n#define SUFFIX\n' > "$out/config.h"
rm -rf "$out/src"
echo "$want" > "$stamp"
