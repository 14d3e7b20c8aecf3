#!/bin/bash
# Interop: images written by the Linux kernel's btrfs (the host kernel, by
# a loop mount of a fresh mkfs.btrfs image) hold what mkfs.btrfs cannot
# make: subvolumes, a read-only snapshot, compressed extents, preallocated
# extents, inline files. ghee must list the subvolumes, read every file
# exactly, the zstd-compressed one included, and find the image
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

. tests/interop/lib.sh
cases="subvolumes_listed subvolume_files_exact snapshot_files_exact prealloc_and_inline_exact compressed_exact fsck_clean readonly_snapshot_unchanged linux_snapshots_changed_in_ghee orphan_fsck_clean"
skip_all() { for c in $cases; do skip "$c" "$1"; done; finish; }

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
mkdir "$m/sv/many"	# enough names for a tree of several blocks,
for i in $(seq 1 3000); do : >"$m/sv/many/file-with-a-long-name-$i"; done	# shared by the snapshot
fallocate -l 1M "$m/sv/prealloc.bin"			# unwritten extent
fallocate -l 1M "$m/sv/half.bin"
dd if=/dev/urandom of="$m/sv/half.bin" bs=4096 count=16 seek=64 conv=notrunc 2>/dev/null
btrfs -q subvolume snapshot -r "$m/sv" "$m/snap" >/dev/null
sync
(cd "$m" && sha256sum sv/random.bin sv/inline.txt sv/prealloc.bin sv/half.bin \
	snap/random.bin snap/half.bin sv/nested/compressible.txt) > "$W/want.txt"
umount "$m"

if ! btrfs check "$img" >"$W/check.txt" 2>&1; then
	notok linux_image_checks "btrfs check failed on Linux's own image"
	finish
fi

run() { printf '%s\n' "mount vda ro" "$@" | timeout 60 "$GHEE" "ro:$img" 2>&1; }

out=$(run "subvolume list /")
ro=$(run "subvolume list -r /")
echo "$out" | grep "^ID " | sed 's/^/# /'
if echo "$out" | grep -q "path sv$" && echo "$out" | grep -q "path sv/nested$" &&
   echo "$ro" | grep "^ID " | grep -q "path snap$" &&
   [ "$(echo "$ro" | grep -c "^ID ")" = 1 ]; then
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

check_files compressed_exact /sv/nested/compressible.txt

# Linux's image is valid (btrfs check said so): ghee's fsck must agree,
# compressed, preallocated and half-written extents included.
out=$(run "fsck")
echo "$out" | grep "^fsck:\|^error" | head -n 6 | sed 's/^/# /'
if echo "$out" | grep -q "^fsck: .*: no errors$"; then
	ok fsck_clean
else
	notok fsck_clean "ghee fsck finds errors in Linux's image"
fi

# Linux's read-only snapshot, mounted read-write: every change inside it
# (data, names, attributes, truncate, rename in or out) fails with EROFS
# and changes nothing; the same changes in the writable sv still work.
rw=$W/rosnap.img
cp --sparse=always "$img" "$rw"
out=$(printf '%s\n' "mount vda" "write /snap/random.bin 0 100 3" \
	"mkdir /snap/newdir" "touch /snap/newfile" "touch /snap/half.bin" \
	"truncate /snap/random.bin 0" "chmod 600 /snap/half.bin" \
	"utimes /snap/half.bin 1 1" "rm /snap/inline.txt" \
	"mv /snap/half.bin /snap/h2" "mv /snap/half.bin /sv/moved" \
	"mv /sv/inline.txt /snap/in" "ln /snap/half.bin /snap/l" \
	"ln -s x /snap/sym" "mkdir /sv/newdir" "sync" "umount" |
	timeout 60 "$GHEE" "$rw" 2>&1)
nrofs=$(echo "$out" | grep -c "(errno 30)$")
got=$(printf '%s\n' "mount vda ro" "sha256sum /snap/random.bin /snap/half.bin" \
	"ls /snap" | timeout 60 "$GHEE" "ro:$rw" 2>&1)
sums=$(echo "$got" | grep -E '^[0-9a-f]{64}  /' | sed 's#  /#  #' | sort)
want=$(grep "  snap/" "$W/want.txt" | sort)
names=$(echo "$got" | sed -n '/^ghee> ls \/snap/,$p' | grep -v "^ghee>" | sort | tr '\n' ' ')
svnames=$(printf '%s\n' "mount vda ro" "ls /sv" | timeout 60 "$GHEE" "ro:$rw" 2>&1)
if [ "$nrofs" -ne 13 ]; then
	echo "$out" | grep -v "^ghee>" | head -n 20 | sed 's/^/# /'
	notok readonly_snapshot_unchanged "$nrofs of 13 changes refused with EROFS"
elif [ "$sums" != "$want" ] ||
     [ "$names" != "half.bin inline.txt many nested prealloc.bin random.bin " ]; then
	echo "# names: $names"
	echo "$got" | head -n 20 | sed 's/^/# /'
	notok readonly_snapshot_unchanged "the snapshot changed"
elif ! echo "$svnames" | grep -q "^newdir$"; then
	notok readonly_snapshot_unchanged "mkdir in the writable sv failed"
elif ! btrfs check "$rw" >"$W/rosnap-check.txt" 2>&1; then
	notok readonly_snapshot_unchanged "btrfs check fails after the refused changes"
else
	ok readonly_snapshot_unchanged
fi

# Linux's subvolume and snapshot share blocks: ghee changes the
# subvolume (copying shared blocks), snapshots it, deletes Linux's
# read-only snapshot and waits for the cleaner; btrfs check and ghee's
# fsck must find the image clean, and the new snapshot hold the change.
chg=$W/changed.img
cp --sparse=always "$img" "$chg"
out=$(printf '%s\n' "mount vda" "write /sv/random.bin 4096 8192 5" \
	"rm /sv/inline.txt" "rm /sv/many/file-with-a-long-name-1500" \
	"touch /sv/many/new" "subvolume snapshot /sv /sv2" \
	"write /sv2/new 0 70000 6" "subvolume delete /snap" "subvolume sync" \
	"sha256sum /sv/random.bin /sv2/random.bin" "fsck" "umount" |
	timeout 120 "$GHEE" "$chg" 2>&1)
n=$(echo "$out" | grep -E '^[0-9a-f]{64}  /' | awk '{print $1}' | sort -u | wc -l)
if echo "$out" | grep -qE "errno|aborted|^error"; then
	echo "$out" | grep -E -B1 "errno|aborted|^error" | head -n 6 | sed 's/^/# /'
	notok linux_snapshots_changed_in_ghee "a command failed"
elif [ "$n" != 1 ] || ! echo "$out" | grep -q "^fsck: .*: no errors$"; then
	echo "$out" | grep -E "^fsck|^[0-9a-f]{64}" | sed 's/^/# /'
	notok linux_snapshots_changed_in_ghee "contents or fsck wrong"
elif ! btrfs check "$chg" >"$W/changed-check.txt" 2>&1; then
	grep -iE "error|mismatch|missing" "$W/changed-check.txt" | head -n 6 | sed 's/^/# /'
	notok linux_snapshots_changed_in_ghee "btrfs check fails"
else
	ok linux_snapshots_changed_in_ghee
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
