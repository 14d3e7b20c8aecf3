#!/usr/bin/env bash
# Snapshot creation with quotas on over quotas off (issue 13's goal: at
# most 1.05), host-side: the host tool (build/ghee, `make host`) on two
# image files made alike, one with quotas on from the start: a subvolume
# of NFILES files of 4 KiB (directories of 1000), synced, then NSNAPS
# snapshots of it, each timed by the shell's `time` (the snapshot's
# commit included). Prints `RESULT name value unit` (the median of the
# snapshots' times: the machine's other work makes single ones jump)
# and the ratio. Settings: NFILES (20000), NSNAPS (50), GHEE (the tool
# to run: another build's, to compare), IMGDIR (where the images go:
# build/bench).
set -uo pipefail
cd "$(dirname "$0")/.."

GHEE=${GHEE:-build/ghee}
NFILES=${NFILES:-20000}
NSNAPS=${NSNAPS:-50}
PER_DIR=1000
NDIRS=$(((NFILES + PER_DIR - 1) / PER_DIR))
out=build/bench
imgdir=${IMGDIR:-$out}	# /dev/shm: no disk flushes in the figures
mkdir -p "$out"
[ -x "$GHEE" ] || { echo "bench/qgroup_snapshot: no $GHEE (make host)" >&2; exit 1; }

# One run: quota (on|off); prints the median of the snapshots' times in
# ms.
run() {
	local img=$imgdir/qgroup_snapshot-$1.img log=$out/qgroup_snapshot-$1.log
	rm -f "$img"
	truncate -s $(((NFILES * 12 / 1024 + 1024) << 20)) "$img"
	{
		echo "mkfs vda"
		echo "mount vda"
		[ "$1" = on ] && echo "quota enable /"
		echo "subvolume create /sv"
		echo "mkfiles /sv/small $NDIRS $PER_DIR 4096 1"
		echo "sync"
		[ "$1" = on ] && echo "quota rescan -w /"
		for i in $(seq 1 "$NSNAPS"); do
			echo "time subvolume snapshot /sv /s$i"
		done
		[ "$1" = on ] && echo "qgroup show /"
		echo "umount /"
	} | timeout 3600 "$GHEE" "$img" > "$log" 2>&1 ||
		{ echo "bench/qgroup_snapshot: the $1 run failed, see $log" >&2; return 1; }
	rm -f "$img"
	local n
	n=$(grep -c '^time: ' "$log")
	[ "$n" = "$NSNAPS" ] ||
		{ echo "bench/qgroup_snapshot: $n of $NSNAPS times in $log" >&2; return 1; }
	sed -n 's/^time: \([0-9.]*\) ms.*/\1/p' "$log" | sort -n |
		awk '{ v[NR] = $1 } END { printf "%.3f\n", v[int((NR + 1) / 2)] }'
}

echo "bench/qgroup_snapshot: $NFILES files, $NSNAPS snapshots, host tool $GHEE" >&2
off=$(run off) || exit 1
on=$(run on) || exit 1
echo "RESULT ghee_snapshot_quota_off_median_ms $off ms"
echo "RESULT ghee_snapshot_quota_on_median_ms $on ms"
awk -v a="$on" -v b="$off" 'BEGIN { printf "RATIO ghee_snapshot_quota_on/off %.3f (goal <= 1.05)\n", a / b }'
