#!/bin/bash
# Interop: ghee's `filesystem du` (and `inspect-internal rootid` and
# `subvolume find-new`) against btrfs-progs 6.2's on Linux, and ghee's
# `du` against coreutils' du, on one image that holds every kind of
# sharing du tells apart.
#   1. ghee makes the image: a subvolume with a file, its reflink copy and
#      a partial overwrite of the original; a range cloned inside one file;
#      a hard link; a symlink; a preallocated file; a compressed file; a
#      nested subvolume; a read-only snapshot; `btrfs check` must pass;
#   2. ghee's du in several forms (per file, -s over several paths, raw
#      units, a file alone, the top level), then, as root, Linux's on a
#      read-only loop mount of the same image: each must equal ghee's once
#      the mount point is taken out of Linux's paths; and the subvolume
#      ids rootid prints for directories in the top level, a subvolume, a
#      nested one and a snapshot; and find-new's listings of a subvolume
#      and a snapshot since generation 0 and since a later one;
#   3. coreutils' du (-a, -s, -c, -h, --si, -H; a hard link counted once, in
#      the directory met first) against ghee's du, the same way.
# Output: KTAP and '#' lines, the plan last. Scratch in build/interop-du/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-du
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check

command -v btrfs >/dev/null || { skip du "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok du "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/du.img
truncate -s 300M "$img"

# 1. Build.
if printf '%s\n' "mkfs vda" "mount vda / -o compress=zstd" \
	"btrfs subvolume create /sv" "mkdir /sv/d" \
	"write /sv/d/a 0 1048576 1" "cp --reflink /sv/d/a /sv/d/a2" \
	"write /sv/b 0 300000 2" "clone /sv/b 0 65536 /sv/b 131072" \
	"ln /sv/b /sv/d/blink" "ln -s a /sv/d/sym" \
	"btrfs subvolume create /sv/nested" "write /sv/nested/n 0 50000 4" \
	"umount /" "mount vda / -o compress=zstd" \
	"write /sv/z 0 200000 0" "umount /" "mount vda /" \
	"btrfs subvolume snapshot -r /sv /snap" "write /sv/d/a 0 65536 9" \
	"fallocate -l 200000 /sv/pre" "umount /" |
	ghee_run "$W/build.txt" "$img"; then
	ok ghee_builds_image
else
	notok ghee_builds_image "a command failed (build/interop-du/build.txt)"
	finish
fi
if btrfs_check "$img"; then
	ok btrfs_check_clean
else
	notok btrfs_check_clean "btrfs check failed"
	finish
fi

# 2. ghee's du, then Linux's. Each form: its arguments with MNT for the
# mount point.
FORMS=("MNT/sv" "-s MNT/sv MNT/snap MNT/sv/d/a MNT/sv/pre MNT/sv/z"
       "-s --raw MNT/" "MNT/snap/d/a" "--kbytes MNT/sv/d" "MNT/")
CFORMS=("-a MNT/" "-s MNT/sv MNT/snap MNT/sv/b" "-sh MNT/" \
	"-ac MNT/sv/d MNT/snap/d" "--si MNT/sv" "MNT/sv/d/sym" "-H MNT/sv/d/sym")
ROOTIDS=(/ /sv/d /sv/nested /snap/d)
FINDNEW=("/sv 0" "/snap 0" "/sv/nested 0" "/sv 6")
cmds=()
for f in "${FORMS[@]}"; do cmds+=("btrfs filesystem du ${f//MNT/}"); done
printf '%s\n' "mount vda" "${cmds[@]}" |
	"$GHEE" "ro:$img" >"$W/ghee.txt" 2>&1
ccmds=()
for f in "${CFORMS[@]}"; do ccmds+=("du ${f//MNT/}"); done
printf '%s\n' "mount vda" "${ccmds[@]}" |
	"$GHEE" "ro:$img" >"$W/ghee-cdu.txt" 2>&1
printf '%s\n' "mount vda" "${FINDNEW[@]/#/subvolume find-new }" |
	"$GHEE" "ro:$img" 2>&1 | grep -E "^(inode|transid|ERROR)" >"$W/ghee.findnew"
printf '%s\n' "mount vda" "${ROOTIDS[@]/#/inspect-internal rootid }" |
	"$GHEE" "ro:$img" 2>&1 | grep -E "^[0-9]+$" >"$W/ghee.rootid"
# and back: each subvolume's path from its id (5: an empty line)
printf '%s\n' "mount vda" "inspect-internal subvolid-resolve 256 /" \
	"inspect-internal subvolid-resolve 257 /sv" \
	"inspect-internal subvolid-resolve 258 /" \
	"inspect-internal subvolid-resolve 5 /" |
	"$GHEE" "ro:$img" 2>&1 | grep -v -e "^ghee> " -e "^mounted " -e "^warning: " \
	>"$W/ghee.subvolid"
if [ "$(id -u)" != 0 ]; then
	skip linux_du "needs root for a loop mount"
	finish
fi
mount -o loop,ro "$img" "$W/mnt" || { notok linux_mount "mount failed"; finish; }
for i in "${!FORMS[@]}"; do
	f=${FORMS[$i]}
	# shellcheck disable=SC2086
	btrfs filesystem du ${f//MNT/$W/mnt} 2>&1 | sed "s#$W/mnt##" >"$W/linux.$i"
	ghee_said "$W/ghee.txt" "${cmds[$i]}" >"$W/ghee.$i"
done
for i in "${!CFORMS[@]}"; do
	f=${CFORMS[$i]}
	# shellcheck disable=SC2086
	du ${f//MNT/$W/mnt} 2>&1 | sed -e "s#$W/mnt/\$#/#" -e "s#$W/mnt##" \
		>"$W/linux.c$i"
	ghee_said "$W/ghee-cdu.txt" "${ccmds[$i]}" >"$W/ghee.c$i"
done
for p in "${ROOTIDS[@]}"; do
	btrfs inspect-internal rootid "$W/mnt$p" 2>&1
done >"$W/linux.rootid"
for a in "256 $W/mnt" "257 $W/mnt/sv" "258 $W/mnt" "5 $W/mnt"; do
	# shellcheck disable=SC2086
	btrfs inspect-internal subvolid-resolve $a 2>&1
done >"$W/linux.subvolid"
for a in "${FINDNEW[@]}"; do
	# shellcheck disable=SC2086
	btrfs subvolume find-new "$W/mnt"$a 2>&1
done >"$W/linux.findnew"
umount "$W/mnt"
if [ -s "$W/ghee.rootid" ] && diff "$W/linux.rootid" "$W/ghee.rootid" >"$W/diff.rootid"; then
	ok rootid_as_linux
else
	say <"$W/diff.rootid"
	notok rootid_as_linux "ghee's ids differ from btrfs-progs' (build/interop-du/diff.rootid)"
fi
if grep -q "^sv/nested$" "$W/linux.subvolid" &&
   diff "$W/linux.subvolid" "$W/ghee.subvolid" >"$W/diff.subvolid"; then
	ok subvolid_resolve_as_linux
else
	say <"$W/diff.subvolid"
	notok subvolid_resolve_as_linux "ghee's paths differ from btrfs-progs' (build/interop-du/diff.subvolid)"
fi
if [ -s "$W/ghee.findnew" ] && diff "$W/linux.findnew" "$W/ghee.findnew" >"$W/diff.findnew"; then
	ok find_new_as_linux
else
	head -n 12 "$W/diff.findnew" | say
	notok find_new_as_linux "ghee's listing differs from btrfs-progs' (build/interop-du/diff.findnew)"
fi
# judge NAME SUFFIX WHOSE: Linux's output (linux.SUFFIX) against ghee's
# (ghee.SUFFIX), WHOSE naming the tool Linux ran.
judge() {
	if [ ! -s "$W/ghee.$2" ]; then
		notok "$1" "ghee printed nothing (build/interop-du/ghee.$2)"
	elif diff "$W/linux.$2" "$W/ghee.$2" >"$W/diff.$2"; then
		ok "$1"
	else
		head -n 12 "$W/diff.$2" | say
		notok "$1" "ghee's output differs from $3 (build/interop-du/diff.$2)"
	fi
}
for i in "${!FORMS[@]}"; do
	judge "du_$(echo "${FORMS[$i]//MNT/}" | tr ' /-' '___' | tr -s _)" \
		"$i" "btrfs-progs'"
done
for i in "${!CFORMS[@]}"; do
	judge "coreutils_du_$(echo "${CFORMS[$i]//MNT/}" | tr ' /-' '___' | tr -s _)" \
		"c$i" "coreutils'"
done
finish
