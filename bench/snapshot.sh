#!/usr/bin/env bash
# Snapshot creation and deletion, ghee beside Linux interleaved in one run:
# each side has its own preallocated image on the same host file system,
# and the same QEMU disk options, CPU count, memory, machine (q35) and
# accelerator. The work is cut in ROUNDS rounds, one boot of each side per
# round, taken in turn (Linux then ghee in odd rounds, ghee then Linux in
# even ones), so that a change in the host's load lands on both sides.
#   - setup (first round, not timed): a subvolume holding NFILES files of
#     4 KiB in directories of 1000 (Linux: lbio mksmall; ghee: mkfiles);
#   - create (timed): SNAPS read-only snapshots in all, SNAPS / ROUNDS a
#     round; before each, one file of the subvolume is rewritten and synced
#     (not timed), so that every snapshot follows a change; then the
#     snapshot and the sync after it are timed (Linux: btrfs subvolume
#     snapshot -r + sync; ghee: subvolume snapshot -r, which commits, +
#     sync);
#   - delete (timed): at the end of each round the round's snapshots are
#     deleted and the cleaner waited for (ghee: subvolume delete +
#     subvolume sync; Linux: btrfs subvolume delete, then the wait of
#     bench/snap_lib.sh, which does not wait for Linux's periodic commit);
#     ghee's `mem` after it shows the memory in use and the peak use during
#     the drop.
# Prints `RESULT name value unit` and ghee/Linux ratios (Linux time / ghee
# time: above 1 means ghee is faster) of the median, slowest and total
# snapshot creation, and of the total delete. ghee's image must pass btrfs
# check afterwards.
# Settings: SMP (1), MEM (512M), ACCEL (tcg), NFILES (100000), SNAPS (100),
# ROUNDS (4).
set -uo pipefail
cd "$(dirname "$0")/.."

. bench/snap_lib.sh
NFILES=${NFILES:-100000}
SNAPS=${SNAPS:-100}
ROUNDS=${ROUNDS:-4}
PER_DIR=1000
NDIRS=$(((NFILES + PER_DIR - 1) / PER_DIR))
NFILES=$((NDIRS * PER_DIR))
PER_ROUND=$(((SNAPS + ROUNDS - 1) / ROUNDS))
SNAPS=$((PER_ROUND * ROUNDS))
echo "bench/snapshot: $NFILES files, $SNAPS snapshots created and deleted" \
	"in $ROUNDS rounds (smp=$SMP mem=$MEM accel=$ACCEL)" >&2
size=$((NFILES * 12 / 1024 + 1024))
for side in linux ghee; do
	rm -f "$out/snapshot-$side.times"
	snap_image snapshot "$out/snapshot-$side.img" "$size"
done
# The file rewritten before each snapshot: the first one each side made
# (lbio mksmall names them d%03d/f%05d, ghee's mkfiles d%05d/f%08d).
linux_victim=small/d000/f00000
ghee_victim=small/d00000/f00000000

# Round $1 for Linux: prints `create MS` per snapshot and `delete MS`.
linux_script() {
	local r=$1 first=$((($1 - 1) * PER_ROUND + 1)) last=$(($1 * PER_ROUND))
	echo 'ms() { echo $(( ($2 - $1) / 1000000 )); }'
	if [ "$r" = 1 ]; then
		echo "mkfs.btrfs -q -f /dev/vda >/dev/null && mount /dev/vda /mnt || exit 1"
		echo "btrfs -q subvolume create /mnt/sv || exit 1"
		echo "lbio mksmall /mnt/sv/small $NDIRS $PER_DIR 4096 1 >/dev/null || exit 1; sync"
	else
		echo "mount /dev/vda /mnt || exit 1"
	fi
	cat <<SH
for i in \$(seq $first $last); do
	dd if=/dev/urandom of=/mnt/sv/$linux_victim bs=4096 count=1 conv=notrunc 2>/dev/null || exit 1
	sync
	t0=\$(lbio now); btrfs -q subvolume snapshot -r /mnt/sv /mnt/s\$i || exit 1; sync; t1=\$(lbio now)
	echo "create \$(ms \$t0 \$t1)"
done
t0=\$(lbio now); btrfs -q subvolume delete \$(seq $first $last | sed 's#^#/mnt/s#') || exit 1
$LINUX_DROP_WAIT
t1=\$(lbio now)
echo "delete \$(ms \$t0 \$t1)"
SH
}

# Round $1 for ghee: the commands; every `time` it prints is one
# snapshot's two (snapshot, sync), then the delete's two (delete, sync).
ghee_cmds() {
	local r=$1 first=$((($1 - 1) * PER_ROUND + 1)) last=$(($1 * PER_ROUND)) i
	if [ "$r" = 1 ]; then
		echo "mkfs vda"
		echo "mount vda"
		echo "subvolume create /sv"
		echo "mkfiles /sv/small $NDIRS $PER_DIR 4096 1"
		echo "sync"
	else
		echo "mount vda"
	fi
	for ((i = first; i <= last; i++)); do
		echo "write /sv/$ghee_victim 0 4096 $((i + 1))"
		echo "sync"
		echo "time subvolume snapshot -r /sv /s$i"
		echo "time sync"
	done
	echo "mem"
	echo "time subvolume delete $(seq "$first" "$last" | sed 's#^#/s#' | tr '\n' ' ')"
	echo "time subvolume sync"
	echo "mem"
	echo "umount"
	echo "poweroff"
}

run_linux() {
	local r=$1 log=$out/snapshot-linux-$1
	linux_script "$r" > "$log.sh"
	echo "bench/snapshot: round $r, Linux in QEMU" >&2
	snap_linux snapshot "$log.sh" "$out/snapshot-linux.img" "$log.txt"
	[ "$(grep -c '^create ' "$log.txt")" = "$PER_ROUND" ] && grep -q '^delete ' "$log.txt" ||
		{ echo "bench/snapshot: the Linux run printed too little, see $log.txt" >&2; exit 1; }
	grep -E '^(create|delete) ' "$log.txt" >> "$out/snapshot-linux.times"
}

run_ghee() {
	local r=$1 log=$out/snapshot-ghee-$1
	ghee_cmds "$r" > "$log.cmds"
	echo "bench/snapshot: round $r, ghee in QEMU" >&2
	snap_ghee snapshot "$log.cmds" "$out/snapshot-ghee.img" "$log.log"
	awk -v k="$PER_ROUND" '
	{ sub(/\r$/, "") }
	/^time: / { t[n++] = $2 }
	END {
		if (n != 2 * k + 2) { print "ghee printed " n " times" > "/dev/stderr"; exit 1 }
		for (i = 0; i < k; i++)
			print "create", t[2 * i] + t[2 * i + 1]
		print "delete", t[2 * k] + t[2 * k + 1]
	}' "$log.log" >> "$out/snapshot-ghee.times" ||
		{ echo "bench/snapshot: see $log.log" >&2; exit 1; }
	grep -A2 "^ghee> mem" "$log.log" | tail -n 3 | sed "s/^/# round $r: /" >&2
}

for ((r = 1; r <= ROUNDS; r++)); do
	if ((r % 2)); then run_linux "$r"; run_ghee "$r"
	else run_ghee "$r"; run_linux "$r"; fi
done

snap_check snapshot "$out/snapshot-ghee.img"

# RESULT lines of one side's times: creation median, slowest and total,
# delete total.
summary() {
	sort -k1,1 -k2,2n "$out/snapshot-$1.times" | awk -v side="$1" '
	$1 == "create" { c[n++] = $2; sum += $2 }
	$1 == "delete" { del += $2 }
	END {
		printf "RESULT %s_snapshot_create_median_ms %d ms\n", side,
		       n % 2 ? c[int(n / 2)] : (c[n / 2 - 1] + c[n / 2]) / 2
		printf "RESULT %s_snapshot_create_max_ms %d ms\n", side, c[n - 1]
		printf "RESULT %s_snapshot_create_total_ms %d ms\n", side, sum
		printf "RESULT %s_snapshot_delete_total_ms %d ms\n", side, del
	}'
}
summary linux > "$out/snapshot-linux.txt"
summary ghee > "$out/snapshot-ghee.txt"
snap_ratios "$out/snapshot-linux.txt" "$out/snapshot-ghee.txt"
