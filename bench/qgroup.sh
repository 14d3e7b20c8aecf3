#!/usr/bin/env bash
# Quotas on against quotas off (issue 13's goals), ghee beside Linux in one
# run: four boots in QEMU, each on a fresh btrfs, taken in the order Linux
# off, ghee off, ghee on, Linux on (so that a drift of the host's load
# lands on both sides and both modes), with the same QEMU disk options, CPU
# count, memory, machine and accelerator (bench/snap_lib.sh). Quotas on
# means `quota enable` right after mkfs. Each boot times:
#   - create: a subvolume of NFILES files of 4 KiB (directories of 1000,
#     not timed), then NSNAPS read-only snapshots, each after PER_SNAP of
#     its files were rewritten and synced (not timed: Linux lbio mksmall,
#     ghee mkfiles, over the first directory); each snapshot with the sync
#     after it is timed (median and total);
#   - delete: the NSNAPS snapshots deleted and the drop waited for (ghee:
#     subvolume delete + subvolume sync; Linux: subvolume delete and the
#     wait of bench/snap_lib.sh); ghee's `mem` after it prints the peak
#     memory in use during the drop;
#   - overwrite: a file of RAND_MB MiB in the subvolume, written, synced
#     and snapshotted 20 times (not timed), then RAND_COUNT 4 KiB writes at
#     random aligned offsets and a sync (Linux: lbio rand, one O_DIRECT
#     pwrite at a time; ghee: write-rand).
# Prints `RESULT name value unit`, then the ratios the goals name: quotas
# on / off per side (goals for ghee: create at most 1.05, delete and
# overwrite at most 1.5), Linux / ghee per mode (delete with quotas on:
# at least 20), and ghee's peak memory during the drops. ghee's images
# must pass btrfs check (quotas on: with --qgroup-report).
# Settings: SMP (1), MEM (512M), ACCEL (tcg), NFILES (10000), NSNAPS (50),
# PER_SNAP (1000, at most 1000), RAND_MB (256), RAND_COUNT (10000).
set -uo pipefail
cd "$(dirname "$0")/.."

. bench/snap_lib.sh
NFILES=${NFILES:-10000}
NSNAPS=${NSNAPS:-50}
PER_SNAP=${PER_SNAP:-1000}
RAND_MB=${RAND_MB:-256}
RAND_COUNT=${RAND_COUNT:-10000}
PER_DIR=1000
NDIRS=$(((NFILES + PER_DIR - 1) / PER_DIR))
NFILES=$((NDIRS * PER_DIR))
[ "$PER_SNAP" -le "$PER_DIR" ] || { echo "bench/qgroup: PER_SNAP is at most $PER_DIR" >&2; exit 1; }
echo "bench/qgroup: $NFILES files, $NSNAPS snapshots of $PER_SNAP changed" \
	"files, $RAND_COUNT overwrites in $RAND_MB MiB shared by 20 snapshots" \
	"(smp=$SMP mem=$MEM accel=$ACCEL)" >&2
size=$((NFILES * 12 / 1024 + NSNAPS * PER_SNAP * 8 / 1024 + RAND_MB * 2 + 1024))

# Linux's script with quotas $1 (on|off): prints `create MS` per snapshot,
# `delete MS` and `overwrite MS`.
linux_script() {
	echo 'ms() { echo $(( ($2 - $1) / 1000000 )); }'
	echo "mkfs.btrfs -q -f /dev/vda >/dev/null && mount /dev/vda /mnt || exit 1"
	[ "$1" = on ] && echo "btrfs quota enable /mnt || exit 1"
	cat <<SH
btrfs -q subvolume create /mnt/sv || exit 1
lbio mksmall /mnt/sv/small $NDIRS $PER_DIR 4096 1 >/dev/null || exit 1; sync
for i in \$(seq 1 $NSNAPS); do
	lbio mksmall /mnt/sv/small 1 $PER_SNAP 4096 \$((i + 1)) >/dev/null || exit 1; sync
	t0=\$(lbio now); btrfs -q subvolume snapshot -r /mnt/sv /mnt/s\$i || exit 1; sync; t1=\$(lbio now)
	echo "create \$(ms \$t0 \$t1)"
done
t0=\$(lbio now); btrfs -q subvolume delete \$(seq 1 $NSNAPS | sed 's#^#/mnt/s#') || exit 1
$LINUX_DROP_WAIT
t1=\$(lbio now)
echo "delete \$(ms \$t0 \$t1)"
dd if=/dev/zero of=/mnt/sv/rand bs=1M count=$RAND_MB 2>/dev/null && sync || exit 1
for j in \$(seq 1 20); do btrfs -q subvolume snapshot -r /mnt/sv /mnt/r\$j || exit 1; done; sync
t0=\$(lbio now); lbio rand /mnt/sv/rand write $RAND_MB $RAND_COUNT 3600000 11 >/dev/null || exit 1
sync; t1=\$(lbio now)
echo "overwrite \$(ms \$t0 \$t1)"
SH
}

# ghee's commands with quotas $1: every `time` it prints is one
# snapshot's two (snapshot, sync), then the delete's two (delete, sync),
# then the overwrites' two (write-rand, sync).
ghee_cmds() {
	local i
	echo "mkfs vda"
	echo "mount vda"
	[ "$1" = on ] && echo "quota enable /"
	echo "subvolume create /sv"
	echo "mkfiles /sv/small $NDIRS $PER_DIR 4096 1"
	echo "sync"
	for ((i = 1; i <= NSNAPS; i++)); do
		echo "mkfiles /sv/small 1 $PER_SNAP 4096 $((i + 1))"
		echo "sync"
		echo "time subvolume snapshot -r /sv /s$i"
		echo "time sync"
	done
	echo "mem"
	echo "time subvolume delete $(seq 1 "$NSNAPS" | sed 's#^#/s#' | tr '\n' ' ')"
	echo "time subvolume sync"
	echo "mem"
	echo "write /sv/rand 0 ${RAND_MB}M 9"
	echo "sync"
	for ((i = 1; i <= 20; i++)); do
		echo "subvolume snapshot -r /sv /r$i"
	done
	echo "sync"
	echo "time write-rand /sv/rand ${RAND_MB}M 4K $RAND_COUNT 11"
	echo "time sync"
	echo "umount"
	echo "poweroff"
}

# summary SIDE QUOTA < `create MS`... `delete MS` `overwrite MS`: RESULT
# lines.
summary() {
	sort -k1,1 -k2,2n | awk -v p="$1_quota_$2" '
	$1 == "create" { c[n++] = $2; sum += $2 }
	$1 == "delete" || $1 == "overwrite" { t[$1] = $2 }
	END {
		printf "RESULT %s_create_median_ms %d ms\n", p,
		       n % 2 ? c[int(n / 2)] : (c[n / 2 - 1] + c[n / 2]) / 2
		printf "RESULT %s_create_total_ms %d ms\n", p, sum
		printf "RESULT %s_delete_ms %d ms\n", p, t["delete"]
		printf "RESULT %s_overwrite_ms %d ms\n", p, t["overwrite"]
	}'
}

run_linux() {
	local log=$out/qgroup-linux-$1
	linux_script "$1" > "$log.sh"
	echo "bench/qgroup: Linux, quotas $1" >&2
	snap_image qgroup "$out/qgroup-linux.img" "$size"
	snap_linux qgroup "$log.sh" "$out/qgroup-linux.img" "$log.txt"
	[ "$(grep -c '^create ' "$log.txt")" = "$NSNAPS" ] &&
		grep -q '^delete ' "$log.txt" && grep -q '^overwrite ' "$log.txt" ||
		{ echo "bench/qgroup: the Linux run printed too little, see $log.txt" >&2; exit 1; }
	grep -E '^(create|delete|overwrite) ' "$log.txt" | summary linux "$1" >> "$out/qgroup.txt"
}

run_ghee() {
	local log=$out/qgroup-ghee-$1 img=$out/qgroup-ghee.img
	ghee_cmds "$1" > "$log.cmds"
	echo "bench/qgroup: ghee, quotas $1" >&2
	snap_image qgroup "$img" "$size"
	snap_ghee qgroup "$log.cmds" "$img" "$log.log"
	awk -v k="$NSNAPS" '
	{ sub(/\r$/, "") }
	/^time: / { t[n++] = $2 }
	END {
		if (n != 2 * k + 4) { print "ghee printed " n " times" > "/dev/stderr"; exit 1 }
		for (i = 0; i < k; i++)
			print "create", t[2 * i] + t[2 * i + 1]
		print "delete", t[2 * k] + t[2 * k + 1]
		print "overwrite", t[2 * k + 2] + t[2 * k + 3]
	}' "$log.log" | summary ghee "$1" >> "$out/qgroup.txt" ||
		{ echo "bench/qgroup: see $log.log" >&2; exit 1; }
	# The second `mem`: the peak since the first, the drop's.
	grep -A2 "^ghee> mem" "$log.log" | sed 's/\r$//' |
		awk -v q="$1" '/^peak use/ { kib = $(NF - 1) }
		END { sub(/^\(/, "", kib); printf "RESULT ghee_quota_%s_drop_peak_kib %d KiB\n", q, kib }' \
		>> "$out/qgroup.txt"
	if [ "$1" = on ]; then snap_check qgroup "$img" --qgroup-report
	else snap_check qgroup "$img"; fi
}

rm -f "$out/qgroup.txt"
run_linux off
run_ghee off
run_ghee on
run_linux on
cat "$out/qgroup.txt"

# The ratios: a / b of two RESULT rows, with the goal it answers.
awk '
{ v[$2] = $3 }
function ratio(what, a, b, goal) {
	printf("%-44s %8.2f  %s\n", what, v[b] > 0 ? v[a] / v[b] : 0, goal)
}
END {
	printf "\n%-44s %8s  %s\n", "ratio", "value", "goal"
	for (s = 0; s < 2; s++) {
		side = s ? "linux" : "ghee"
		ratio(side " create total, quotas on / off", side "_quota_on_create_total_ms",
		      side "_quota_off_create_total_ms", s ? "" : "<= 1.05")
		ratio(side " create median, quotas on / off", side "_quota_on_create_median_ms",
		      side "_quota_off_create_median_ms", s ? "" : "<= 1.05")
		ratio(side " delete, quotas on / off", side "_quota_on_delete_ms",
		      side "_quota_off_delete_ms", s ? "" : "<= 1.5")
		ratio(side " overwrite, quotas on / off", side "_quota_on_overwrite_ms",
		      side "_quota_off_overwrite_ms", s ? "" : "<= 1.5")
	}
	for (q = 0; q < 2; q++) {
		m = q ? "on" : "off"
		ratio("delete quotas " m ", linux / ghee", "linux_quota_" m "_delete_ms",
		      "ghee_quota_" m "_delete_ms", q ? ">= 20" : "")
		ratio("create total quotas " m ", linux / ghee", "linux_quota_" m "_create_total_ms",
		      "ghee_quota_" m "_create_total_ms", "")
		ratio("overwrite quotas " m ", linux / ghee", "linux_quota_" m "_overwrite_ms",
		      "ghee_quota_" m "_overwrite_ms", "")
	}
}' "$out/qgroup.txt"
