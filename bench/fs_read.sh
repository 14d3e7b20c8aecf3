#!/usr/bin/env bash
# Filesystem reads, ghee beside Linux, on one image made by mkfs.btrfs
# --rootdir, attached read-only with the same QEMU disk options, CPU count,
# memory, machine (q35) and accelerator, one after the other in this run:
#   - read of one BIG_MB file (default 1024 MiB) from a cold cache
#     (Linux: cat > /dev/null after dropping caches; ghee: readfile, right
#     after mount, whose caches start empty);
#   - find over NFILES small files (default 100,000) in 100 directories
#     (Linux: find | wc -l; ghee: find -c).
# Both verify data checksums (crc32c). Prints `RESULT name value unit` and
# ghee/Linux ratios (Linux time / ghee time: above 1 means ghee is faster).
# Settings: SMP (1), MEM (512M), ACCEL (tcg), BIG_MB, NFILES; on a busy
# machine ROUNDS (1) runs Linux and ghee in turn that many times, each
# ghee ratio against the Linux run just before it, and KERNELS
# ("build/kernel.elf") lists ghee kernels to run in each round; PROFILE=1
# reads the big file under ghee's `profile` (its table goes to the log).
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
BIG_MB=${BIG_MB:-1024}
NFILES=${NFILES:-100000}
out=build/bench
img=$out/fs_read-$BIG_MB-$NFILES.img
mkdir -p "$out"

if [ ! -f "$img" ]; then
	echo "bench/fs_read: making $img ($BIG_MB MiB file, $NFILES files)" >&2
	src=$out/fs_read-src
	rm -rf "$src" && mkdir -p "$src/tree"
	head -c $((BIG_MB << 20)) /dev/urandom > "$src/big"
	python3 - "$src/tree" "$NFILES" <<'PY'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    d = os.path.join(root, "d%02d" % (i % 100))
    if i < 100:
        os.mkdir(d)
    with open(os.path.join(d, "f%06d" % i), "wb") as f:
        f.write(b"%d\n" % i)
PY
	truncate -s $((BIG_MB + 1024))M "$img.tmp"
	mkfs.btrfs -q -f --rootdir "$src" "$img.tmp" >/dev/null &&
		mv "$img.tmp" "$img" || { echo "bench/fs_read: mkfs.btrfs failed" >&2; exit 1; }
	rm -rf "$src"
fi

cat > "$out/fs_read-linux.sh" <<'SH'
mount -o ro /dev/vda /mnt || exit 1
echo 3 > /proc/sys/vm/drop_caches
t0=$(lbio now); cat /mnt/big > /dev/null; t1=$(lbio now)
echo "RESULT linux_fs_read_big_ms $(( (t1 - t0) / 1000000 )) ms"
echo 3 > /proc/sys/vm/drop_caches
t0=$(lbio now); n=$(find /mnt/tree | wc -l); t1=$(lbio now)
echo "RESULT linux_fs_find_ms $(( (t1 - t0) / 1000000 )) ms"
echo "RESULT linux_fs_find_entries $n entries"
SH
# Run Linux once: its rows into $out/fs_read-linux.txt.
linux_run() {
	echo "bench/fs_read: Linux in QEMU (smp=$SMP mem=$MEM)" >&2
	MACHINE=q35 "$LB" script "$out/fs_read-linux.sh" "ro:$img" 2>"$out/fs_read-linux.err" |
		grep '^RESULT ' > "$out/fs_read-linux.txt" ||
		{ echo "bench/fs_read: the Linux run failed, see $out/fs_read-linux.err" >&2; exit 1; }
}

# Run ghee kernel $1 once: its rows into $out/fs_read-ghee.txt, its
# console into $2.
ghee_run() {
	echo "bench/fs_read: ghee ($1) in QEMU" >&2
	printf 'mount vda ro\ntime %sreadfile /big\ntime find -c /tree\npoweroff\n' "$PROF" |
		KERNEL="$1" DISKS="ro:$img" scripts/run.sh > "$2" 2>&1 ||
		{ echo "bench/fs_read: the ghee run failed, see $2" >&2; exit 1; }
	awk '
	{ sub(/\r$/, "") }
	/^\/big: / { want = "read" }
	/ entries$/ { n = $1; want = "find" }
	/^time: / && want == "read" { printf "RESULT ghee_fs_read_big_ms %d ms\n", $2 }
	/^time: / && want == "find" { printf "RESULT ghee_fs_find_ms %d ms\n", $2;
				       printf "RESULT ghee_fs_find_entries %d entries\n", n }
	/^time: / { want = "" }' "$2" > "$out/fs_read-ghee.txt"
}

# Print ghee's rows against Linux's, labelled $1.
compare() {
	printf '\n%s\n%-20s %12s %12s %8s\n' "$1" row ghee linux ratio
	awk -v mb="$BIG_MB" '
	FNR == NR { sub("^linux_", "", $2); linux[$2] = $3; next }
	{
		name = $2; sub("^ghee_", "", name)
		if (!(name in linux) || name ~ /entries$/) next
		l = linux[name]; g = $3
		r = g > 0 ? l / g : 0
		printf "%-20s %10s ms %9s ms %8.2f\n", name, g, l, r
		printf "RESULT ratio_%s %.2f x\n", name, r > "/dev/stderr"
		if (name == "fs_read_big_ms")
			printf "%-20s %10.0f MiB/s %6.0f MiB/s\n", "  (throughput)",
			       (g > 0 ? mb * 1000 / g : 0), (l > 0 ? mb * 1000 / l : 0)
	}' "$out/fs_read-linux.txt" "$out/fs_read-ghee.txt"
}

: > "$out/fs_read-ratios.txt"
for r in $(seq 1 "$ROUNDS"); do
	linux_run
	cat "$out/fs_read-linux.txt"
	k=0
	for kernel in $KERNELS; do
		k=$((k + 1))
		log=$out/fs_read-ghee.log
		[ "$KERNELS" = "${KERNELS%% *}" ] || log=$out/fs_read-ghee-$k-$r.log
		ghee_run "$kernel" "$log"
		cat "$out/fs_read-ghee.txt"
		compare "round $r, $kernel (console: $log)" 2>>"$out/fs_read-ratios.txt"
	done
done
cat "$out/fs_read-ratios.txt"
