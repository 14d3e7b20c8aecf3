#!/usr/bin/env bash
# Gather the hash libraries btrfs's csum types need, from Debian, into
# OUTDIR (one include directory for the kernel and the host programs):
#  - xxhash.h from libxxhash-dev (xxHash 0.8, used header-only: XXH64);
#  - the BLAKE2 reference sources (blake2b-ref.c) from Debian's libb2 source
#    package, and SHA-256 (sha2.c) from Debian's libmd source package,
#    fetched with `apt-get source` through a private apt state under
#    OUTDIR/apt (the machine's own sources list is left as it is).
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
mkdir -p "$out/apt/lists/partial" "$out/src"
cp /usr/include/xxhash.h "$out/"

# deb-src of the suite the machine already uses, signed by Debian's keyring.
suite=$(. /etc/os-release && echo "$VERSION_CODENAME")
echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" > "$out/apt/sources.list"
apt_opts=(-o Dir::Etc::SourceList="$out/apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	  -o Dir::State::Lists="$out/apt/lists" -o APT::Sandbox::User=root)
apt-get "${apt_opts[@]}" update -qq > "$out/apt/update.log" 2>&1 \
	|| { tail -n 20 "$out/apt/update.log" >&2; exit 1; }
(cd "$out/src" && apt-get "${apt_opts[@]}" source --download-only -qq libb2 libmd) > "$out/apt/source.log" 2>&1 \
	|| { tail -n 20 "$out/apt/source.log" >&2; exit 1; }
# extract PACKAGE FILE...: files of the package's upstream tarball, into OUTDIR.
extract() {
	local tarball pkg=$1
	shift
	tarball=$(ls "$out"/src/"$pkg"_*.orig.tar.?z | head -n 1)
	mkdir -p "$out/src/$pkg"
	tar -xf "$tarball" -C "$out/src/$pkg" --strip-components=1
	(cd "$out/src/$pkg" && cp "$@" "$out/")
}
extract libb2 src/blake2b-ref.c src/blake2.h src/blake2-impl.h
extract libmd src/sha2.c src/local-link.h include/sha2.h
# blake2-impl.h and sha2.c include their autoconf "config.h" (sha2.c needs
# nothing from it): x86-64 is little-endian, and no SUFFIX, so the BLAKE2
# reference code keeps its plain names (blake2b(), ...) where libb2
# suffixes them for its run-time dispatch.
printf '#define NATIVE_LITTLE_ENDIAN 1\n#define SUFFIX\n' > "$out/config.h"
rm -rf "$out/src" "$out/apt/lists"
echo "$want" > "$stamp"
