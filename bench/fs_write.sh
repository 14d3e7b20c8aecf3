#!/usr/bin/env bash
# Filesystem writes, ghee beside Linux, each making a fresh btrfs on the
# same preallocated image (Linux first, then ghee), with the same QEMU disk
# options, CPU count, memory, machine (q35) and accelerator, one after the
# other in this run. Every row ends with a sync and is timed with it:
#   - small files: NFILES files of 4 KiB in directories of 1000 (default
#     100,000; Linux: lbio mksmall; ghee: mkfiles);
#   - sequential: one 1 GiB file (BIG_MB) in 1 MiB writes (Linux: dd from
#     /dev/zero, which costs it no CPU to make the data; ghee: `write`, which
#     makes its seeded pattern as it goes, a cost that counts against it);
#   - random: RAND_COUNT 4 KiB overwrites at random 4 KiB-aligned offsets
#     of a 256 MiB file written and synced beforehand (Linux: lbio rand, one
#     O_DIRECT pwrite at a time; ghee: write-rand, one fs_write at a time).
# Both write data checksums (crc32c) and metadata DUP (mkfs defaults).
# Prints `RESULT name value unit` and ghee/Linux ratios (Linux time / ghee
# time: above 1 means ghee is faster).
# Settings: SMP (1), MEM (512M), ACCEL (tcg), NFILES (100000), BIG_MB (1024),
# RAND_COUNT (10000). Under TCG the default sizes take about ten minutes
# in all; lower NFILES for a quick look (the output says which sizes ran).
# On a busy machine: ROUNDS (1) runs Linux and ghee in turn that many
# times, each ghee ratio against the Linux run just before it; KERNELS
# ("build/kernel.elf") lists ghee kernels to run in each round (to compare
# two builds under the same load); PROFILE=1 runs the small-file and
# random rows under ghee's `profile` (its table goes to the log; the
# sampling costs time, so take figures from runs without it).
set -uo pipefail
cd "$(dirname "$0")/.."

LB=${LB:-../shared/tools/linux-btrfs/run.sh}
[ -x "$LB" ] || LB=/work/shared/tools/linux-btrfs/run.sh
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
ROUNDS=${ROUNDS:-1}
# ghee runs without its lock-order checker, as bench/kernel.sh: the
# figures are those of a production kernel.
export APPEND="${APPEND:-} lockdep=off"
KERNELS=${KERNELS:-build/kernel.elf}
PROF=
[ "${PROFILE:-0}" = 1 ] && PROF="profile "
NFILES=${NFILES:-100000}
BIG_MB=${BIG_MB:-1024}
RAND_COUNT=${RAND_COUNT:-10000}
PER_DIR=1000
NDIRS=$(((NFILES + PER_DIR - 1) / PER_DIR))
NFILES=$((NDIRS * PER_DIR))
out=build/bench
img=$out/fs_write.img
mkdir -p "$out"
echo "bench/fs_write: $NFILES small files, $BIG_MB MiB sequential," \
	"$RAND_COUNT random 4 KiB writes in 256 MiB (smp=$SMP mem=$MEM accel=$ACCEL)" >&2

# Room for everything with the default sizes, allocated up front so that
# neither run pays for the host file system growing the image.
rm -f "$img"
fallocate -l $(((BIG_MB + 256 + NFILES * 8 / 1024 + 1024) << 20)) "$img" ||
	{ echo "bench/fs_write: cannot make $img" >&2; exit 1; }

cat > "$out/fs_write-linux.sh" <<SH
ms() { echo \$(( (\$2 - \$1) / 1000000 )); }
mkfs.btrfs -q -f /dev/vda >/dev/null && mount /dev/vda /mnt || exit 1
t0=\$(lbio now); lbio mksmall /mnt/small $NDIRS $PER_DIR 4096 1 || exit 1; sync; t1=\$(lbio now)
echo "RESULT linux_fs_small_files_ms \$(ms \$t0 \$t1) ms"
t0=\$(lbio now); dd if=/dev/zero of=/mnt/big bs=1M count=$BIG_MB 2>/dev/null || exit 1; sync; t1=\$(lbio now)
echo "RESULT linux_fs_seq_write_ms \$(ms \$t0 \$t1) ms"
dd if=/dev/zero of=/mnt/rand bs=1M count=256 2>/dev/null && sync || exit 1
t0=\$(lbio now); lbio rand /mnt/rand write 256 $RAND_COUNT 3600000 11 >/dev/null || exit 1; sync; t1=\$(lbio now)
echo "RESULT linux_fs_rand_write_ms \$(ms \$t0 \$t1) ms"
SH

# Run Linux once: its three rows into $1.
linux_run() {
	echo "bench/fs_write: Linux in QEMU" >&2
	MACHINE=q35 TIMEOUT=${TIMEOUT:-1800} "$LB" script "$out/fs_write-linux.sh" "$img" \
		2>"$out/fs_write-linux.err" | grep '^RESULT ' > "$1"
	[ "$(wc -l < "$1")" = 3 ] ||
		{ echo "bench/fs_write: the Linux run failed, see $out/fs_write-linux.err" >&2; exit 1; }
}

# Run ghee kernel $1 once: its three rows into $2, its console into $3.
ghee_run() {
	echo "bench/fs_write: ghee ($1) in QEMU" >&2
	cmds="mkfs vda
mount vda
time ${PROF}mkfiles /small $NDIRS $PER_DIR 4096 1
time sync
time write /big 0 ${BIG_MB}M 7
time sync
write /rand 0 256M 9
sync
time ${PROF}write-rand /rand 256M 4K $RAND_COUNT 11
time sync
df
umount
poweroff"
	printf '%s\n' "$cmds" | KERNEL="$1" DISKS="$img" scripts/run.sh > "$3" 2>&1 ||
		{ echo "bench/fs_write: the ghee run failed, see $3" >&2; exit 1; }
	# Each row is the command's time plus the sync's after it.
	awk '
	{ sub(/\r$/, "") }
	/^time: / { t[n++] = $2 }
	END {
		if (n != 6) { print "bench/fs_write: ghee printed " n " times" > "/dev/stderr"; exit 1 }
		printf "RESULT ghee_fs_small_files_ms %d ms\n", t[0] + t[1]
		printf "RESULT ghee_fs_seq_write_ms %d ms\n", t[2] + t[3]
		printf "RESULT ghee_fs_rand_write_ms %d ms\n", t[4] + t[5]
	}' "$3" > "$2" || { echo "bench/fs_write: see $3" >&2; exit 1; }
	if command -v btrfs >/dev/null && ! btrfs check "$img" > "$out/fs_write-check.txt" 2>&1; then
		echo "bench/fs_write: btrfs check found errors in ghee's image, see $out/fs_write-check.txt" >&2
		exit 1
	fi
}

# Print ghee rows $2 against Linux rows $1, labelled $3.
compare() {
	printf '\n%s\n%-20s %10s %10s %8s   %s\n' "$3" row ghee linux ratio "ghee / linux rate"
	awk -v nf="$NFILES" -v mb="$BIG_MB" -v rc="$RAND_COUNT" '
	FNR == NR { sub("^linux_", "", $2); linux[$2] = $3; next }
	{
		name = $2; sub("^ghee_", "", name)
		if (!(name in linux)) next
		l = linux[name]; g = $3
		r = g > 0 ? l / g : 0
		if (name ~ /small/) { unit = "files/s"; work = nf }
		else if (name ~ /seq/) { unit = "MiB/s"; work = mb }
		else { unit = "IOPS"; work = rc }
		printf "%-20s %7d ms %7d ms %8.2f   %.0f / %.0f %s\n", name, g, l, r,
		       (g > 0 ? work * 1000 / g : 0), (l > 0 ? work * 1000 / l : 0), unit
		printf "RESULT ratio_%s %.2f x\n", name, r > "/dev/stderr"
	}' "$1" "$2"
}

: > "$out/fs_write-ratios.txt"
for r in $(seq 1 "$ROUNDS"); do
	linux_run "$out/fs_write-linux.txt"
	cat "$out/fs_write-linux.txt"
	k=0
	for kernel in $KERNELS; do
		k=$((k + 1))
		log=$out/fs_write-ghee.log
		[ "$KERNELS" = "${KERNELS%% *}" ] || log=$out/fs_write-ghee-$k-$r.log
		ghee_run "$kernel" "$out/fs_write-ghee.txt" "$log"
		cat "$out/fs_write-ghee.txt"
		compare "$out/fs_write-linux.txt" "$out/fs_write-ghee.txt" \
			"round $r, $kernel (console: $log)" 2>>"$out/fs_write-ratios.txt"
	done
done
cat "$out/fs_write-ratios.txt"
