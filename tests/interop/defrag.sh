#!/bin/bash
# Interop: snapshot-aware `filesystem defragment` (fs/defrag*.c) judged
# by btrfs-progs and the host kernel's btrfs.
#   1. ghee builds the reference's case small: a 2 MiB file written as one
#      extent, a read-only snapshot, every other 4 KiB block written
#      again, a reflink and a dedupe of the file, read-only and writable
#      snapshots, quotas on; `btrfs check` is clean;
#   2. as root: Linux mounts it and counts the extents of the file in a
#      read-only snapshot (filefrag), and its contents;
#   3. ghee defragments the file (-v), which repoints every snapshot:
#      ghee's own checksums of every file are unchanged, used space did
#      not grow past the bytes rewritten, `btrfs check` and
#      `btrfs check --qgroup-report` are clean, ghee's fsck too;
#   4. Linux mounts it again: the same contents, and the snapshot's
#      file now has fewer extents (it was defragmented too).
# Output: KTAP and '#' lines. Scratch files in build/interop-defrag/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-defrag
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

command -v btrfs >/dev/null || { skip defrag "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok defrag "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/defrag.img
truncate -s 512M "$img"
FILES="/sv/f /sv/g /sv/h /early/f /s1/f /s2/h /rw/f /rw/g"

# ghee OUT COMMAND...: run the commands on the mounted image into OUT.
ghee() {
	local out=$1
	shift
	printf '%s\n' "mount vda" "$@" "umount" | ghee_run "$out" "$img"
}

# used OUT: the filesystem's used bytes as `filesystem df -b` shows them.
used() { awk '/used=/{ for (i = 1; i <= NF; i++) if ($i ~ /^used=/) { sub("used=", "", $i); s += $i } } END { print s + 0 }' "$1"; }

# 1. Build.
printf 'mkfs vda\n' | "$GHEE" "$img" >/dev/null 2>&1
cmds=("quota enable /" "subvolume create /sv" "write /sv/f 0 2097152 1"
      "sync" "subvolume snapshot -r /sv /early")
for ((off = 4096; off < 2097152; off += 8192)); do
	cmds+=("write /sv/f $off 4096 2")
done
cmds+=("sync" "clone /sv/f 0 1048576 /sv/g 0" "cp /sv/f /sv/h"
       "dedupe /sv/f 0 2097152 /sv/h 0" "subvolume snapshot -r /sv /s1"
       "subvolume snapshot -r /sv /s2" "subvolume snapshot /sv /rw" "sync")
if ghee "$W/build.txt" "${cmds[@]}"; then
	ok ghee_builds_fragmented_shared_file
else
	notok ghee_builds_fragmented_shared_file "a command failed"
	finish
fi
if btrfs_check "$img"; then
	ok btrfs_check_clean_before
else
	notok btrfs_check_clean_before "btrfs check finds errors"
	finish
fi

# 2. Linux's view before.
linux_view() {	# OUT: sha256 of FILES, then the extents of /s1/f
	mount -o loop,ro "$img" "$W/mnt" || return 1
	(cd "$W/mnt" && for f in $FILES; do sha256sum ".$f"; done) >"$1"
	filefrag "$W/mnt/s1/f" | awk '{print $2}' >"$1.frag"
	umount "$W/mnt"
}
root=1
[ "$(id -u)" = 0 ] && command -v filefrag >/dev/null || root=0
if [ $root = 1 ] && linux_view "$W/linux-before.txt"; then
	ok linux_reads_before
	echo "Linux: /s1/f has $(cat "$W/linux-before.txt.frag") extents" | say
else
	root=0
	skip linux_reads_before "no loop mount or filefrag (needs root)"
fi

# 3. Defragment.
ghee "$W/before.txt" "sha256sum $FILES" "filesystem df -b /"
ghee "$W/defrag.txt" "filesystem defragment -v /sv/f"
ghee "$W/after.txt" "sha256sum $FILES" "filesystem df -b /"
say <"$W/defrag.txt"
if grep -q "^defragmented 1 ranges, 2097152 bytes" "$W/defrag.txt"; then
	ok ghee_defragments
else
	notok ghee_defragments "no range rewritten"
fi
if diff <(grep -v used= "$W/before.txt") <(grep -v used= "$W/after.txt") >/dev/null &&
   [ "$(grep -c '^[0-9a-f]\{64\} ' "$W/after.txt")" = 8 ]; then
	ok same_contents
else
	diff "$W/before.txt" "$W/after.txt" | head -n 8 | say
	notok same_contents "a file changed"
fi
b=$(used "$W/before.txt")
a=$(used "$W/after.txt")
echo "used $b -> $a bytes" | say
if [ "$b" -gt 0 ] && [ "$a" -le $((b + 2097152)) ]; then
	ok space_within_bound
else
	notok space_within_bound "used $b -> $a, more than 2 MiB more"
fi
if btrfs_check "$img"; then ok btrfs_check_clean_after
else notok btrfs_check_clean_after "btrfs check finds errors"; fi
if btrfs check --qgroup-report "$img" >"$W/qgroups.txt" 2>&1 &&
   ! grep -q "are different" "$W/qgroups.txt"; then
	ok qgroups_exact
else
	grep -B2 -A4 "are different" "$W/qgroups.txt" | head -n 12 | say
	notok qgroups_exact "btrfs check --qgroup-report finds differences"
fi
if fsck_clean "$img"; then ok ghee_fsck_clean
else notok ghee_fsck_clean "ghee's fsck finds errors"; fi

# 4. Linux's view after.
if [ $root = 1 ] && linux_view "$W/linux-after.txt"; then
	bf=$(cat "$W/linux-before.txt.frag") af=$(cat "$W/linux-after.txt.frag")
	echo "Linux: /s1/f has $af extents" | say
	if cmp -s "$W/linux-before.txt" "$W/linux-after.txt"; then
		ok linux_same_contents
	else
		notok linux_same_contents "Linux reads other bytes"
	fi
	if [ "$af" -lt "$bf" ]; then ok linux_snapshot_defragmented
	else notok linux_snapshot_defragmented "$bf -> $af extents"; fi
else
	skip linux_same_contents "no loop mount"
fi
finish
