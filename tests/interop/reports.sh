#!/bin/bash
# Interop: ghee's `filesystem show|label|usage [-T]` and `device
# stats|usage` against btrfs-progs 6.2 on Linux, on one image.
#   1. ghee makes a filesystem with a label, files, and a new label set
#      by `filesystem label`; `btrfs check` must pass;
#   2. as root: the image is loop mounted (read-only) and btrfs-progs
#      prints the same reports, in human and raw units; each must equal
#      ghee's with the loop device's name replaced by ghee's disk name
#      (runs of spaces in `usage -T`, whose path column is as wide as
#      the device's name, count as one). Linux's global
#      reserve is a figure of its own (ghee reserves none), and its statfs
#      free space on a read-only mount leaves out the free space in data
#      chunks (on a read-write mount it printed ghee's figure): those two
#      lines are compared without their values.
# Output: KTAP and '#' lines, the plan last. Scratch in build/interop-reports/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-reports
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

command -v btrfs >/dev/null || { skip reports "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok reports "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/reports.img
truncate -s 300M "$img"

REPORTS=("filesystem show MNT" "filesystem label MNT" "filesystem usage MNT"
	 "filesystem usage -T MNT" "filesystem usage -b MNT"
	 "filesystem usage -T -b MNT" "device stats MNT" "device usage MNT"
	 "device usage -b MNT")

# 1. Build.
out=$(printf '%s\n' "mkfs vda --label first" "mount vda" "mkdir /d" \
	"write /d/a 0 3000000 1" "write /d/b 0 20000 2" \
	"filesystem label / second-label" "sync" "umount" | "$GHEE" "$img" 2>&1)
if echo "$out" | grep -qE "errno|^error|^usage|aborted|ERROR"; then
	echo "$out" | grep -E -B1 "errno|^error|^usage|aborted|ERROR" | head -n 8 | say
	notok ghee_builds_image "a command failed"
	finish
fi
ok ghee_builds_image
if btrfs check "$img" >"$W/check.txt" 2>&1; then
	ok btrfs_check_clean
else
	tail -n 5 "$W/check.txt" | say
	notok btrfs_check_clean "btrfs check failed"
	finish
fi

# 2. ghee's reports, then Linux's.
cmds=()
for r in "${REPORTS[@]}"; do cmds+=("${r/MNT//}"); done
printf '%s\n' "mount vda" "${cmds[@]}" | "$GHEE" "ro:$img" >"$W/ghee.txt" 2>&1
if [ "$(id -u)" != 0 ]; then
	skip linux_reports "needs root for a loop mount"
	finish
fi
mount -o loop,ro "$img" "$W/mnt" || { notok linux_mount "mount failed"; finish; }
loop=$(findmnt -n -o SOURCE "$W/mnt")
for i in "${!REPORTS[@]}"; do
	r=${REPORTS[$i]}
	# shellcheck disable=SC2086
	btrfs ${r/MNT/$W/mnt} >"$W/linux.$i" 2>&1
	ghee_said "$W/ghee.txt" "${cmds[$i]}" >"$W/ghee.$i"
done
umount "$W/mnt"
if [ "$(cat "$W/linux.1")" = second-label ]; then
	ok label_set_by_ghee_read_by_linux
else
	notok label_set_by_ghee_read_by_linux "Linux reads '$(cat "$W/linux.1")'"
fi
# Linux's device name as ghee's disk; the values of the global reserve
# and of statfs's free space dropped; in a -T table (whose path column
# is as wide as the longest path) runs of spaces or dashes count as one.
norm() {
	sed -e "s#$loop#vda#g" -e 's/^\(    Global reserve:\).*/\1/' \
		-e 's/^\(    Free (statfs, df):\).*/\1/' "$1" |
		if [ "$2" = squeeze ]; then tr -s ' -'; else cat; fi
}
for i in "${!REPORTS[@]}"; do
	how=exact
	case ${REPORTS[$i]} in *-T*) how=squeeze ;; esac
	norm "$W/linux.$i" $how >"$W/linux.$i.n"
	norm "$W/ghee.$i" $how >"$W/ghee.$i.n"
	name=$(echo "${REPORTS[$i]/ MNT/}" | tr ' -' '__')
	if diff "$W/linux.$i.n" "$W/ghee.$i.n" >"$W/diff.$i"; then
		ok "$name"
	else
		head -n 12 "$W/diff.$i" | say
		notok "$name" "ghee's output differs from btrfs-progs' (build/interop-reports/diff.$i)"
	fi
done
finish
