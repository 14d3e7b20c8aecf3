#!/bin/bash
# Interop: images written by the Linux kernel's btrfs (the host kernel, by
# a loop mount of a fresh mkfs.btrfs image) hold what mkfs.btrfs cannot
# make: subvolumes, a read-only snapshot, compressed extents, preallocated
# extents, inline files. ghee must list the subvolumes, read every plain
# file exactly, refuse the compressed one clearly, and find the image
# clean with its fsck; also an image with an orphan item (a file unlinked
# while open, copied as a crash would leave it).
#
# Output: KTAP and '#' lines. Needs root and loop devices; without them
# every case is reported as skipped, with the reason.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-linux
N=0
FAILED=0

echo "KTAP version 1"
ok() { N=$((N + 1)); echo "ok $N $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N $1 # $2"; }
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; exit $?; }
cases="subvolumes_listed subvolume_files_exact snapshot_files_exact prealloc_and_inline_exact compressed_refused fsck_clean orphan_fsck_clean"
skip_all() { for c in $cases; do N=$((N + 1)); echo "ok $N $c # SKIP $1"; done; finish; }

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
[ -x "$GHEE" ] || { notok linux_made "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/linux.img
truncate -s 512M "$img"
mkfs.btrfs -q -f "$img" >/dev/null 2>&1 || skip_all "mkfs.btrfs failed"
mount -o loop,compress=zstd "$img" "$W/mnt" 2>"$W/mount.err" ||
	skip_all "loop mount failed: $(head -n1 "$W/mount.err")"

m=$W/mnt
btrfs -q subvolume create "$m/sv" >/dev/null
btrfs -q subvolume create "$m/sv/nested" >/dev/null
head -c 300000 /dev/urandom > "$m/sv/random.bin"	# incompressible
echo "small inline file" > "$m/sv/inline.txt"
seq 1 200000 > "$m/sv/nested/compressible.txt"		# zstd-compressed
fallocate -l 1M "$m/sv/prealloc.bin"			# unwritten extent
fallocate -l 1M "$m/sv/half.bin"
dd if=/dev/urandom of="$m/sv/half.bin" bs=4096 count=16 seek=64 conv=notrunc 2>/dev/null
btrfs -q subvolume snapshot -r "$m/sv" "$m/snap" >/dev/null
sync
(cd "$m" && sha256sum sv/random.bin sv/inline.txt sv/prealloc.bin sv/half.bin \
	snap/random.bin snap/half.bin) > "$W/want.txt"
umount "$m"

if ! btrfs check "$img" >"$W/check.txt" 2>&1; then
	notok linux_image_checks "btrfs check failed on Linux's own image"
	finish
fi

run() { printf '%s\n' "mount vda ro" "$@" | timeout 60 "$GHEE" "ro:$img" 2>&1; }

out=$(run "subvolume list")
echo "$out" | grep "^ID " | sed 's/^/# /'
if echo "$out" | grep -q "path sv$" && echo "$out" | grep -q "path sv/nested$" &&
   echo "$out" | grep -q "path snap (read-only)$"; then
	ok subvolumes_listed
else
	echo "$out" | sed 's/^/# /' | head -n 20
	notok subvolumes_listed "sv, sv/nested and snap not all listed"
fi

# sha256sum lines in ghee's layout ("HEX  /PATH") against the host's.
digests() {
	run "sha256sum $*" | grep -E '^[0-9a-f]{64}  /' | sed 's#  /#  #'
}
check_files() {
	local name=$1
	shift
	local got want
	got=$(digests "$@" | sort)
	want=$(for p in "$@"; do grep "  ${p#/}$" "$W/want.txt"; done | sort)
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok "$name"
	else
		echo "# want: $want" | head -n 4
		echo "# got:  $got" | head -n 4
		notok "$name" "digests differ"
	fi
}
check_files subvolume_files_exact /sv/random.bin /sv/inline.txt
check_files snapshot_files_exact /snap/random.bin /snap/half.bin
check_files prealloc_and_inline_exact /sv/prealloc.bin /sv/half.bin /sv/inline.txt

out=$(run "cat /sv/nested/compressible.txt")
echo "$out" | grep -i "compress" | head -n 2 | sed 's/^/# /'
if echo "$out" | grep -qi "compress" && ! echo "$out" | grep -q "^199999$"; then
	ok compressed_refused
else
	notok compressed_refused "no clear refusal of the compressed extent"
fi

# Linux's image is valid (btrfs check said so): ghee's fsck must agree,
# compressed, preallocated and half-written extents included.
out=$(run "fsck")
echo "$out" | grep "^fsck:\|^error" | head -n 6 | sed 's/^/# /'
if echo "$out" | grep -q "^fsck: .*: no errors$"; then
	ok fsck_clean
else
	notok fsck_clean "ghee fsck finds errors in Linux's image"
fi

# A file unlinked while still open: Linux commits the inode with nlink 0
# and no name, and an orphan item for it; a copy of the image taken then
# is what a crash leaves. btrfs check accepts it, so must ghee's fsck.
orph=$W/orphan.img
img=$W/orphan-crash.img		# what run() checks from here on
truncate -s 256M "$orph"
if mkfs.btrfs -q -f "$orph" >/dev/null 2>&1 && mount -o loop "$orph" "$m"; then
	head -c 200000 /dev/urandom >"$m/gone"
	exec 3<"$m/gone"
	rm "$m/gone"
	sync
	cp --sparse=always "$orph" "$img"
	exec 3<&-
	umount "$m"
fi
if [ ! -f "$img" ]; then
	notok orphan_fsck_clean "mkfs.btrfs or the loop mount failed"
elif ! btrfs inspect-internal dump-tree -t 5 "$img" | grep -q "ORPHAN_ITEM"; then
	N=$((N + 1))
	echo "ok $N orphan_fsck_clean # SKIP the copy holds no orphan item"
elif ! btrfs check "$img" >"$W/orphan-check.txt" 2>&1; then
	notok orphan_fsck_clean "btrfs check rejects the copy (taken mid-commit?)"
else
	out=$(run "fsck")
	echo "$out" | grep "^fsck:\|^error" | head -n 6 | sed 's/^/# /'
	if echo "$out" | grep -q "^fsck: .*: no errors$"; then
		ok orphan_fsck_clean
	else
		notok orphan_fsck_clean "ghee fsck rejects an orphan inode"
	fi
fi
finish
