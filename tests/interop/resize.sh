#!/bin/bash
# Interop: `filesystem resize` on an image, judged by btrfs check and
# Linux.
#   1. ghee makes a 512 MiB filesystem with a file; the image file then
#      grows to 1 GiB and `resize max` takes the filesystem to it;
#   2. files fill chunks past 400 MiB, one is deleted, and a shrink to
#      400 MiB then by -10M moves those chunks below the new end; the
#      files read the same;
#   3. refusals that change nothing: below 256 MiB (Invalid argument),
#      past the disk's end (no enough free space), a shrink whose data
#      cannot fit below the new end (No space left on device), a devid
#      the filesystem does not have;
#   4. btrfs check passes, and Linux (as root, loop mount) sees the new
#      size and the same file contents, and shrinks it further itself.
# Output: KTAP and '#' lines, the plan last. Scratch in build/interop-resize/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-resize
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check

command -v btrfs >/dev/null || { skip resize "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok resize "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/resize.img
truncate -s 512M "$img"

# size_of OUT: the size `filesystem show` printed last in OUT.
size_of() { grep "devid *1 size" "$1" | tail -n 1 | awk '{print $4}'; }

# 1. Grow.
printf '%s\n' "mkfs vda" "mount vda /" "write /a 0 50M 1" "umount /" |
	ghee_run "$W/make.txt" "$img" || { notok ghee_makes_image "see make.txt"; finish; }
truncate -s 1G "$img"
printf '%s\n' "mount vda /" "filesystem resize max /" "filesystem show" |
	ghee_run "$W/grow.txt" "$img"
if grep -q "^Resize device id 1 (vda) from 512.00MiB to max$" "$W/grow.txt" &&
	[ "$(size_of "$W/grow.txt")" = 1.00GiB ]; then
	ok grow_to_the_disk
else
	say <"$W/grow.txt"
	notok grow_to_the_disk "build/interop-resize/grow.txt"
fi

# 2. Shrink past chunks in use.
printf '%s\n' "mount vda /" "write /b 0 300M 2" "write /c 0 100M 3" "rm /b" \
	"sync" "filesystem resize 400M /" "filesystem resize -10M /" \
	"filesystem show" "sha256sum /a /c" | ghee_run "$W/shrink.txt" "$img"
sums=$(grep -E '  /[ac]$' "$W/shrink.txt")
if [ "$(size_of "$W/shrink.txt")" = 390.00MiB ] &&
	grep -q "^Resize device id 1 (vda) from 400.00MiB to 390.00MiB$" "$W/shrink.txt" &&
	[ "$(echo "$sums" | wc -l)" = 2 ]; then
	ok shrink_moves_the_tail
else
	say <"$W/shrink.txt"
	notok shrink_moves_the_tail "build/interop-resize/shrink.txt"
fi

# 3. Refusals.
printf '%s\n' "mount vda /" "filesystem resize 200M /" "filesystem resize 2G /" \
	"filesystem resize 2:max /" "filesystem resize 260M /" \
	"filesystem show" | "$GHEE" "$img" >"$W/refused.txt" 2>&1
if grep -q "^ERROR: unable to resize '/': Invalid argument$" "$W/refused.txt" &&
	grep -q "^ERROR: unable to resize '/': no enough free space$" "$W/refused.txt" &&
	grep -q "^ERROR: cannot find devid: 2$" "$W/refused.txt" &&
	grep -q "^ERROR: unable to resize '/': No space left on device$" "$W/refused.txt" &&
	[ "$(size_of "$W/refused.txt")" = 390.00MiB ]; then
	ok refusals_change_nothing
else
	say <"$W/refused.txt"
	notok refusals_change_nothing "build/interop-resize/refused.txt"
fi

# 4. The judges.
if btrfs_check "$img"; then
	ok btrfs_check_clean
else
	notok btrfs_check_clean "btrfs check failed"
	finish
fi
if [ "$(id -u)" != 0 ]; then
	skip linux_reads_resized "needs root for a loop mount"
	finish
fi
mount -o loop "$img" "$W/mnt" || { notok linux_mount "mount failed"; finish; }
linux_size=$(btrfs filesystem show "$W/mnt" | awk '/devid/ {print $4}')
linux_sums=$(cd "$W/mnt" && sha256sum a c | sed 's#  #  /#')
btrfs filesystem resize -10M "$W/mnt" >/dev/null 2>&1
linux_rc=$?
umount "$W/mnt"
if [ "$linux_size" = 390.00MiB ] && [ "$linux_sums" = "$sums" ] &&
	[ $linux_rc = 0 ] && btrfs_check "$img"; then
	ok linux_reads_resized
else
	echo "# Linux: size $linux_size, resize status $linux_rc" 
	echo "$linux_sums" | say
	notok linux_reads_resized "Linux saw another size or other contents"
fi
finish
