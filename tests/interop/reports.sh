#!/bin/bash
# Interop: ghee's `filesystem show|label|usage [-T]` and `device
# stats|usage` against btrfs-progs 6.2 on Linux, and ghee's `df` against
# coreutils' on Linux, on one image.
#   1. ghee makes a filesystem with a label, files, a subvolume (so that
#      the UUID tree, which Linux makes at a read-write mount when it is
#      missing, is there), and a new label set by `filesystem label`;
#      `btrfs check` must pass;
#   2. as root: the image is loop mounted (read-only) and btrfs-progs
#      prints the same reports, in human and raw units; each must equal
#      ghee's with the loop device's name replaced by ghee's disk name
#      (runs of spaces in `usage -T`, whose path column is as wide as
#      the device's name, count as one). Linux's global
#      reserve is a figure of its own (ghee reserves none), and its statfs
#      free space on a read-only mount leaves out the free space in data
#      chunks (on a read-write mount it printed ghee's figure): those two
#      lines are compared without their values;
#   3. `df`, `df -h`, `df -H -T` and `df -k` against coreutils' df on a
#      read-write loop mount of a copy (where statfs counts the free
#      space in data chunks): the same header, size and available
#      columns; the used column is Linux's less its global reserve (in
#      1K blocks exactly; human-readable, the reserve is not subtracted
#      and the column is left out).
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
out=$(printf '%s\n' "mkfs vda --label first" "mount vda" "mkdir /d" "subvolume create /sv" \
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

# 3. df, ghee's then coreutils' on a read-write mount of a copy.
DFS=("df" "df -h" "df -H -T" "df -k")
printf '%s\n' "mount vda" "${DFS[@]}" | "$GHEE" "ro:$img" >"$W/ghee-df.txt" 2>&1
cp "$img" "$W/df.img"
mount -o loop "$W/df.img" "$W/mnt" || { notok linux_mount_rw "mount failed"; finish; }
loop=$(findmnt -n -o SOURCE "$W/mnt")
reserve=$(btrfs filesystem usage -b "$W/mnt" |
	awk '/Global reserve:/ { print $3 }')
for i in "${!DFS[@]}"; do
	# shellcheck disable=SC2086
	${DFS[$i]} "$W/mnt" | sed -e "s#$loop#vda#" -e "s#$W/mnt\$#/#" \
		>"$W/linux-df.$i"
	ghee_said "$W/ghee-df.txt" "${DFS[$i]}" >"$W/ghee-df.$i"
done
umount "$W/mnt"
# The columns compared: all but used and use% (human-readable), or all
# with Linux's used less the reserve (1K blocks) and use% left out.
df_cols() {
	awk -v rsv="$2" -v type="$3" 'NR == 1 { print; next }
		{ used = type + 3; if (rsv == "") $used = "-";
		  else $used = $used - rsv / 1024;
		  $(used + 2) = "-"; print }' "$1"
}
for i in "${!DFS[@]}"; do
	type=0 rsv=
	case ${DFS[$i]} in *-T*) type=1 ;; esac
	case ${DFS[$i]} in "df" | "df -k") rsv=$reserve ;; esac
	name=$(echo "${DFS[$i]}" | tr ' -' '__')
	df_cols "$W/linux-df.$i" "$rsv" $type >"$W/linux-df.$i.n"
	df_cols "$W/ghee-df.$i" "${rsv:+0}" $type >"$W/ghee-df.$i.n"
	if [ -n "$reserve" ] && [ -s "$W/ghee-df.$i.n" ] &&
	   diff "$W/linux-df.$i.n" "$W/ghee-df.$i.n" >"$W/diff-df.$i"; then
		ok "$name"
	else
		head -n 6 "$W/diff-df.$i" "$W/ghee-df.$i" | say
		notok "$name" "ghee's df differs from coreutils' (build/interop-reports/diff-df.$i)"
	fi
done
finish
