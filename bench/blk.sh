#!/usr/bin/env bash
# Raw disk I/O, ghee beside Linux, on the same image with the same QEMU
# disk options (raw, cache=none, aio=threads), CPU count, memory, machine
# (q35) and accelerator, one after the other in this run:
#   - Linux: ../shared/tools/linux-btrfs/run.sh bench raw (1 GiB of 1 MiB
#     O_DIRECT dd write and read at queue depth 1; 4 KiB O_DIRECT random
#     read and write over the first GiB, 3 s each, at QD 1 and 32), which
#     also measures the host's own O_DIRECT dd on the image;
#   - ghee: `blk bench` on the same image file, same sizes, spans and
#     queue depths (sequential rows run SEQ_SECONDS, random ones 3 s);
#   - the host's ceiling for the sequential rows, right after ghee:
#     bench/host_direct.py, ghee's shape (1 MiB O_DIRECT at QD 1 over the
#     first GiB for SEQ_SECONDS) into a huge-page buffer as QEMU's guest
#     RAM is. dd's 4 KiB-page buffer is pinned page by page on every call,
#     so its figure sat below what QEMU reached (issue 18's "raw write
#     above the host's own dd"): QEMU does one pread/pwrite of 1 MiB per
#     ghee request (strace), at the huge-page loop's rate.
# Prints `RESULT name value unit` for ghee's rows (Linux's names with a
# ghee_ prefix) and a table of ghee/Linux ratios (for latency the ratio is
# Linux/ghee, so above 1 is better for ghee everywhere).
# Settings: SMP (1), MEM (512M), ACCEL (tcg), SEQ_SECONDS (3),
# BENCH_DATA (the Linux tool's 4 GiB data image), LINUX_RESULTS (a file of
# Linux RESULT lines to reuse instead of running Linux).
set -uo pipefail
cd "$(dirname "$0")/.."

LB=${LB:-../shared/tools/linux-btrfs/run.sh}
[ -x "$LB" ] || LB=/work/shared/tools/linux-btrfs/run.sh
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
SEQ_SECONDS=${SEQ_SECONDS:-3}
out=build/bench
mkdir -p "$out"

if [ -n "${LINUX_RESULTS:-}" ]; then
	grep '^RESULT ' "$LINUX_RESULTS" > "$out/linux.txt"
else
	echo "bench/blk: Linux in QEMU (run.sh bench raw, smp=$SMP mem=$MEM)" >&2
	MACHINE=q35 "$LB" bench raw 2>"$out/linux.err" | grep '^RESULT ' > "$out/linux.txt" ||
		{ echo "bench/blk: the Linux run failed, see $out/linux.err" >&2; exit 1; }
fi
data=${BENCH_DATA:-${LINUX_BTRFS_CACHE:-/var/tmp/linux-btrfs-vm}/disks/data.img}
[ -f "$data" ] || { echo "bench/blk: no data image $data" >&2; exit 1; }

echo "bench/blk: ghee in QEMU on $data" >&2
cmds="blk
blk bench vda seq write 1M 1 $SEQ_SECONDS
blk bench vda seq read 1M 1 $SEQ_SECONDS
blk bench vda rand read 4096 1 3
blk bench vda rand write 4096 1 3
blk bench vda rand read 4096 32 3
blk bench vda rand write 4096 32 3
poweroff"
printf '%s\n' "$cmds" | KERNEL=build/kernel.elf DISKS="$data" scripts/run.sh > "$out/ghee.log" 2>&1 ||
	{ echo "bench/blk: the ghee run failed, see $out/ghee.log" >&2; exit 1; }

# One RESULT per bench line: MiB/s for sequential rows, IOPS and average
# latency for random ones.
awk '
/^bench vda/ {
	split($0, a, " "); kind = a[3]; op = a[4]
	bs = a[5]; sub("bs=", "", bs); qd = a[6]; sub("qd=", "", qd); sub(":", "", qd)
	match($0, /[0-9.]+ MiB\/s/); mibs = substr($0, RSTART, RLENGTH - 6)
	match($0, /[0-9]+ IOPS/); iops = substr($0, RSTART, RLENGTH - 5)
	getline; match($0, /avg [0-9.]+/); lat = substr($0, RSTART + 4, RLENGTH - 4)
	if (kind == "seq") {
		printf "RESULT ghee_raw_seq_%s_1M %s MiB/s\n", op, mibs
	} else {
		q = qd == 1 ? "" : "_qd" qd
		printf "RESULT ghee_raw_rand_%s_4k%s_iops %s IOPS\n", op, q, iops
		printf "RESULT ghee_raw_rand_%s_4k%s_lat %s us\n", op, q, lat
	}
}' "$out/ghee.log" > "$out/ghee.txt"
cat "$out/ghee.txt"

printf '\n%-28s %12s %12s %8s  %s\n' row ghee linux ratio unit
awk '
FNR == NR { linux[$2] = $3; next }
{
	name = $2; sub("^ghee_", "", name)
	if (!(name in linux)) next
	l = linux[name]; g = $3
	r = name ~ /_lat$/ ? (g > 0 ? l / g : 0) : (l > 0 ? g / l : 0)
	printf "%-28s %12s %12s %8.2f  %s\n", name, g, l, r, $4
	printf "RESULT ratio_%s %.2f x\n", name, r > "/dev/stderr"
}' "$out/linux.txt" "$out/ghee.txt" 2>"$out/ratios.txt"
cat "$out/ratios.txt"
awk '$2 ~ /^host_dd_(write|read)_1M$/ { printf "host O_DIRECT dd (4 KiB-page buffer) %s %s %s\n", $2, $3, $4 }' "$out/linux.txt"
bench/host_direct.py "$data" "$SEQ_SECONDS" > "$out/host_direct.txt" ||
	{ echo "bench/blk: the host's O_DIRECT loop failed" >&2; exit 1; }
cat "$out/host_direct.txt"
awk 'FNR == NR { h[$2] = $3; next }
$2 ~ /^ghee_raw_seq_(write|read)_1M$/ {
	op = $2; sub("^ghee_raw_seq_", "", op); sub("_1M$", "", op)
	c = h["host_direct_" op "_1M"]
	printf "ceiling (host O_DIRECT, huge-page buffer) %s: ghee %s of %s MiB/s (%.0f%%)\n", op, $3, c, (c > 0 ? 100 * $3 / c : 0)
}' "$out/host_direct.txt" "$out/ghee.txt"
