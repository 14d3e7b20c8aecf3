#!/usr/bin/env bash
# Small files from several writers at once, each in its own directory
# (issue 18 item 3: changes in different directories must not serialize),
# in ghee only: for each CPU count in SMPS and writer count in WRITERS, a
# fresh image, mkfs, and WRITERS background `mkfiles` jobs making NFILES
# files of 4 KiB in all (directories of 500), timed from the last launch
# to the end of `wait`, plus the sync after. Each KERNELS entry runs in
# turn for every (CPUs, writers) pair, ROUNDS times, so two builds meet
# the same load (A B A B). Prints `RESULT fs_writers_smpS_wW_K ms` per run
# and the host's load beside it. PROFILE=1 runs `wait` under `profile`
# instead (the table goes to the log; take figures from runs without it).
# Settings: KERNELS (build/kernel.elf), SMPS ("1 2 4"), WRITERS ("1 4"),
# NFILES (4000), ROUNDS (2), MEM (512M), ACCEL (tcg).
set -uo pipefail
cd "$(dirname "$0")/.."

KERNELS=${KERNELS:-build/kernel.elf}
SMPS=${SMPS:-1 2 4}
WRITERS=${WRITERS:-1 4}
NFILES=${NFILES:-4000}
ROUNDS=${ROUNDS:-2}
PER_DIR=500
out=build/bench
mkdir -p "$out"
img=$out/fs_writers.img

# One boot of kernel $1 on $2 CPUs with $3 writers: prints its RESULT line.
run_one() {
	local k=$1 smp=$2 w=$3 ndirs i cmds log t
	ndirs=$((NFILES / w / PER_DIR))
	[ "$ndirs" -ge 1 ] || { echo "bench/fs_writers: NFILES too small" >&2; exit 1; }
	rm -f "$img"
	fallocate -l 1G "$img" || exit 1
	cmds="mkfs vda
mount vda"
	for i in $(seq 0 $((w - 1))); do
		cmds="$cmds
mkfiles /w$i $ndirs $PER_DIR 4096 $((i * 1000000 + 1)) &"
	done
	if [ "${PROFILE:-0}" = 1 ]; then
		cmds="$cmds
profile wait"
	else
		cmds="$cmds
time wait"
	fi
	cmds="$cmds
time sync
umount
poweroff"
	log=$out/fs_writers-smp$smp-w$w-$(basename "$k" .elf).log
	printf '%s\n' "$cmds" | KERNEL="$k" SMP="$smp" APPEND="lockdep=off" \
		DISKS="$img" timeout 1800 scripts/run.sh > "$log" 2>&1 ||
		{ echo "bench/fs_writers: the run failed, see $log" >&2; exit 1; }
	t=$(tr -d '\r' < "$log" | awk '/^time: / { s += $2 } END { printf "%d", s }')
	echo "RESULT fs_writers_smp${smp}_w${w}_$(basename "$k" .elf) $t ms" \
		"(load $(cut -d' ' -f1 /proc/loadavg))"
}

echo "bench/fs_writers: $NFILES files, kernels: $KERNELS" >&2
for r in $(seq 1 "$ROUNDS"); do
	for smp in $SMPS; do
		for w in $WRITERS; do
			for k in $KERNELS; do
				run_one "$k" "$smp" "$w"
			done
		done
	done
done
rm -f "$img"
