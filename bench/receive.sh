#!/usr/bin/env bash
# receive of a full send stream, ghee beside Linux: the host's btrfs send
# makes the stream of a read-only snapshot holding RECV_MB MiB (default
# 1024) in files of mixed sizes (4 KiB to 8 MiB) and SMALL small files
# (default 10,000 of 1 KiB), pads it to whole blocks and attaches it as
# disk vdb; then, on the same preallocated image as vda with the same
# QEMU settings, Linux runs `btrfs receive -e -f /dev/vdb /mnt` and ghee
# `receive -e -f vdb /`, each into a fresh btrfs and timed with its sync.
# Prints `RESULT name value unit`, the stream's size and the ghee/Linux
# ratio (Linux time / ghee time: above 1 means ghee is faster); ghee's
# image must pass btrfs check. Needs root (loop mount) and btrfs-progs.
# Settings: SMP (1), MEM (512M), ACCEL (tcg), RECV_MB, SMALL.
set -uo pipefail
cd "$(dirname "$0")/.."

LB=${LB:-../shared/tools/linux-btrfs/run.sh}
[ -x "$LB" ] || LB=/work/shared/tools/linux-btrfs/run.sh
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
RECV_MB=${RECV_MB:-1024}
SMALL=${SMALL:-10000}
out=build/bench
src=$out/receive-src
img=$out/receive.img
mkdir -p "$out"
echo "bench/receive: $RECV_MB MiB in mixed files and $SMALL small files" \
	"(smp=$SMP mem=$MEM accel=$ACCEL)" >&2

# The stream, from a loop-mounted source.
mountpoint -q "$src" && umount "$src"
mkdir -p "$src"
rm -f "$out/receive-src.img"
truncate -s $(((RECV_MB + SMALL * 8 / 1024) * 2 + 512))M "$out/receive-src.img"
mkfs.btrfs -q -f "$out/receive-src.img" >/dev/null 2>&1 &&
	mount -o loop "$out/receive-src.img" "$src" ||
	{ echo "bench/receive: cannot mount a source (needs root)" >&2; exit 1; }
python3 - "$src/data" "$RECV_MB" "$SMALL" <<'PY' || { umount "$src"; exit 1; }
import os, random, subprocess, sys
top, mb, small = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
subprocess.run(["btrfs", "subvolume", "create", top], check=True,
               stdout=subprocess.DEVNULL)
rng = random.Random(1)
left, n = mb << 20, 0
block = os.urandom(1 << 20)
while left > 0:
    size = min(left, rng.choice([4096, 65536, 1 << 20, 8 << 20]))
    d = "%s/d%03d" % (top, n // 100)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%05d" % (d, n), "wb") as f:
        for off in range(0, size, len(block)):
            f.write(block[:min(len(block), size - off)])
    left -= size
    n += 1
for i in range(small):
    d = "%s/s%03d" % (top, i // 1000)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%05d" % (d, i), "wb") as f:
        f.write(block[i % 1000:i % 1000 + 1024])
PY
btrfs subvolume snapshot -r "$src/data" "$src/snap" >/dev/null &&
	btrfs send -q -f "$out/receive.stream" "$src/snap" ||
	{ umount "$src"; echo "bench/receive: btrfs send failed" >&2; exit 1; }
umount "$src"
rm -f "$out/receive-src.img"
stream_mb=$(( $(stat -c %s "$out/receive.stream") >> 20 ))
truncate -s %4096 "$out/receive.stream"
rm -f "$img"
fallocate -l $(((RECV_MB + SMALL * 8 / 1024) * 2 + 1024))M "$img" ||
	{ echo "bench/receive: cannot make $img" >&2; exit 1; }

cat > "$out/receive-linux.sh" <<'SH'
ms() { echo $(( ($2 - $1) / 1000000 )); }
mkfs.btrfs -q -f /dev/vda >/dev/null && mount /dev/vda /mnt || exit 1
t0=$(lbio now); btrfs receive -q -e -f /dev/vdb /mnt || exit 1; sync; t1=$(lbio now)
echo "RESULT linux_receive_ms $(ms $t0 $t1) ms"
SH
echo "bench/receive: Linux in QEMU" >&2
MACHINE=q35 TIMEOUT=${TIMEOUT:-1800} "$LB" script "$out/receive-linux.sh" "$img" \
	"$out/receive.stream" 2>"$out/receive-linux.err" | grep '^RESULT ' > "$out/receive-linux.txt"
[ "$(wc -l < "$out/receive-linux.txt")" = 1 ] ||
	{ echo "bench/receive: the Linux run failed, see $out/receive-linux.err" >&2; exit 1; }

echo "bench/receive: ghee in QEMU" >&2
printf '%s\n' "mkfs vda" "mount vda" "time receive -q -e -f vdb /" "time sync" "umount" \
	"poweroff" | KERNEL=build/kernel.elf DISKS="$img $out/receive.stream" scripts/run.sh \
	> "$out/receive-ghee.log" 2>&1 ||
	{ echo "bench/receive: the ghee run failed, see $out/receive-ghee.log" >&2; exit 1; }
grep -q ERROR "$out/receive-ghee.log" &&
	{ echo "bench/receive: ghee's receive failed, see $out/receive-ghee.log" >&2; exit 1; }
awk '{ sub(/\r$/, "") } /^time: / { t[n++] = $2 }
END {
	if (n != 2) { print "bench/receive: ghee printed " n " times" > "/dev/stderr"; exit 1 }
	printf "RESULT ghee_receive_ms %d ms\n", t[0] + t[1]
}' "$out/receive-ghee.log" > "$out/receive-ghee.txt" ||
	{ echo "bench/receive: see $out/receive-ghee.log" >&2; exit 1; }
if ! btrfs check "$img" > "$out/receive-check.txt" 2>&1; then
	echo "bench/receive: btrfs check found errors in ghee's image, see $out/receive-check.txt" >&2
	exit 1
fi
cat "$out/receive-linux.txt" "$out/receive-ghee.txt"
echo "RESULT receive_stream_mb $stream_mb MiB"
awk -v mb="$stream_mb" 'FNR == NR { l = $3; next } {
	g = $3
	printf "receive: ghee %d ms (%.1f MiB/s), linux %d ms (%.1f MiB/s)\n", g,
	       (g > 0 ? mb * 1000 / g : 0), l, (l > 0 ? mb * 1000 / l : 0)
	printf "RESULT ratio_receive %.2f x\n", (g > 0 ? l / g : 0)
}' "$out/receive-linux.txt" "$out/receive-ghee.txt"
