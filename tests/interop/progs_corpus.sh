#!/bin/bash
# Fetch btrfs-progs' own test images (tests/fsck-tests and tests/misc-tests
# of the Debian 12 source package btrfs-progs 6.2) once into
# build/progs/images, ready to use: raw images decompressed, btrfs-image
# metadata dumps restored with `btrfs-image -r`, tarred images unpacked.
#
# apt-get runs on a sources list, state and cache of the build's own
# (build/progs/apt), so the system's apt configuration and state are left
# alone; the package comes from Debian's archive, signed by the Debian
# archive keyring.
#
# Prints what it did; on failure prints "progs-corpus: REASON" on stderr
# and exits non-zero, so that the comparison can report a SKIP with it.
# build/progs/images/.done marks a complete fetch.
set -u
cd "$(dirname "$0")/../.."
P=$PWD/build/progs
IMG=$P/images
MIRROR=${PROGS_MIRROR:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

fail() { echo "progs-corpus: $*" >&2; exit 1; }

[ -e "$IMG/.done" ] && { echo "progs-corpus: already in $IMG"; exit 0; }
for t in apt-get btrfs-image xz tar; do
	command -v $t >/dev/null || fail "$t is not installed"
done
[ -r $KEYRING ] || fail "no Debian archive keyring ($KEYRING)"

A=$P/apt
rm -rf "$A" "$IMG" "$P/src"
mkdir -p "$A/state/lists/partial" "$A/cache/archives/partial" "$IMG" "$P/src"
touch "$A/state/status"
echo "deb-src [signed-by=$KEYRING] $MIRROR bookworm main" > "$A/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$A/sources.list" -o "Dir::Etc::SourceParts=-"
	-o "Dir::State=$A/state" -o "Dir::State::status=$A/state/status"
	-o "Dir::Cache=$A/cache" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
# apt-get update exits 0 when a fetch fails: look for the index too.
apt-get -q "${apt_opts[@]}" update > "$A/update.log" 2>&1 &&
	ls "$A"/state/lists/*Sources* > /dev/null 2>&1 ||
	fail "apt-get update failed: $(grep -m1 -E '^(E|W):' "$A/update.log")"
(cd "$A" && apt-get -q "${apt_opts[@]}" source --download-only \
	btrfs-progs=6.2-1+deb12u2 > source.log 2>&1 ||
	apt-get -q "${apt_opts[@]}" source --download-only btrfs-progs >> source.log 2>&1) ||
	fail "apt-get source btrfs-progs failed: $(grep -m1 -E '^(E|W):' "$A/source.log")"
orig=$(ls "$A"/btrfs-progs_6.2*.orig.tar.xz 2>/dev/null | head -n1)
[ -n "$orig" ] || fail "no btrfs-progs 6.2 source tarball in $A"
tar -xJf "$orig" -C "$P/src" --wildcards --strip-components=1 \
	'*/tests/fsck-tests/*' '*/tests/misc-tests/*' ||
	fail "cannot unpack $orig"

# Name each image after its test folder and file: 020-extent-ref-cases/
# keyed_block_ref.img becomes fsck-020-extent-ref-cases.keyed_block_ref.
# Extensions as btrfs-progs' own tests read them: .img a btrfs-image dump,
# .raw a raw image, .xz either one compressed, .tar.xz a tarred image.
n=0
while IFS= read -r f; do
	rel=${f#"$P/src/tests/"}
	dir=$(dirname "$rel")
	name=$(basename "$rel")
	base=${dir%%-tests/*}-${dir#*-tests/}.${name%%.*}
	out=$IMG/$base.img
	case $name in
	*.tar.xz)
		t=$(mktemp -d "$P/tar.XXXX")
		tar -xJf "$f" -C "$t" || fail "cannot untar $rel"
		inner=$(find "$t" -type f | head -n1)
		mv "$inner" "$out" ;;
	*.raw.xz) xz -dc "$f" > "$out" || fail "cannot decompress $rel" ;;
	*.img.xz) xz -dc "$f" > "$out.dump" &&
		btrfs-image -r "$out.dump" "$out" > /dev/null 2>&1 ||
		fail "btrfs-image -r failed on $rel"
		rm -f "$out.dump" ;;
	*.raw) cp "$f" "$out" ;;
	*.img|*.btrfs-image) btrfs-image -r "$f" "$out" > /dev/null 2>&1 ||
		fail "btrfs-image -r failed on $rel" ;;
	*) continue ;;
	esac
	rm -rf "${t:-}"; t=
	n=$((n + 1))
done < <(find "$P/src/tests" -type f \( -name '*.img' -o -name '*.raw' \
	-o -name '*.raw.xz' -o -name '*.img.xz' -o -name '*.tar.xz' \
	-o -name '*.btrfs-image' \) | sort)
[ $n -gt 0 ] || fail "no images found in the btrfs-progs source"
touch "$IMG/.done"
echo "progs-corpus: $n images in $IMG"
