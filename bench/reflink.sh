#!/usr/bin/env bash
# Reflink copy, ghee beside Linux, each making a fresh btrfs on the same
# preallocated image (Linux first, then ghee), with the same QEMU disk
# options, CPU count, memory, machine (q35) and accelerator, one after the
# other in this run: a file of BIG_MB MiB (default 1 GiB) is written and
# synced (not timed), then copied sharing its extents and synced, timed
# with the sync (Linux: FICLONE through bench/ficlone.c, as
# `cp --reflink=always` does, since the guest's busybox cp cannot; ghee:
# `cp --reflink`). Each side writes the file its own way (Linux: dd from
# /dev/zero in 1 MiB writes, extents of up to 128 MiB; ghee: `write`,
# 256 KiB writes that grow one extent to 128 MiB within a transaction,
# fs/file_grow.c), so the copy has those extents to share. ghee's image
# must pass btrfs check afterwards.
# Prints `RESULT name value unit` and the ghee/Linux ratio (Linux time /
# ghee time: above 1 means ghee is faster).
# Settings: SMP (1), MEM (512M), ACCEL (tcg), BIG_MB (1024).
set -uo pipefail
cd "$(dirname "$0")/.."

LB=${LB:-../shared/tools/linux-btrfs/run.sh}
[ -x "$LB" ] || LB=/work/shared/tools/linux-btrfs/run.sh
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
BIG_MB=${BIG_MB:-1024}
out=build/bench
img=$out/reflink.img
mkdir -p "$out"
echo "bench/reflink: a reflink copy of $BIG_MB MiB (smp=$SMP mem=$MEM accel=$ACCEL)" >&2

gcc -Os -static -nostdlib -fno-stack-protector -fno-pie -no-pie -Wall \
	-o "$out/ficlone" bench/ficlone.c && strip "$out/ficlone" ||
	{ echo "bench/reflink: cannot build bench/ficlone.c" >&2; exit 1; }
rm -f "$img"
fallocate -l $(((BIG_MB + 1024) << 20)) "$img" ||
	{ echo "bench/reflink: cannot make $img" >&2; exit 1; }

{
	echo 'ms() { echo $(( ($2 - $1) / 1000000 )); }'
	echo 'base64 -d > /tmp/ficlone <<B64'
	base64 "$out/ficlone"
	echo 'B64'
	cat <<SH
chmod +x /tmp/ficlone
mkfs.btrfs -q -f /dev/vda >/dev/null && mount /dev/vda /mnt || exit 1
dd if=/dev/zero of=/mnt/big bs=1M count=$BIG_MB 2>/dev/null && sync || exit 1
t0=\$(lbio now); /tmp/ficlone /mnt/big /mnt/big.ref || exit 1; sync; t1=\$(lbio now)
echo "RESULT linux_fs_reflink_ms \$(ms \$t0 \$t1) ms"
SH
} > "$out/reflink-linux.sh"
echo "bench/reflink: Linux in QEMU" >&2
MACHINE=q35 TIMEOUT=${TIMEOUT:-1800} "$LB" script "$out/reflink-linux.sh" "$img" \
	2>"$out/reflink-linux.err" | grep '^RESULT ' > "$out/reflink-linux.txt"
[ "$(wc -l < "$out/reflink-linux.txt")" = 1 ] ||
	{ echo "bench/reflink: the Linux run failed, see $out/reflink-linux.err" >&2; exit 1; }

echo "bench/reflink: ghee in QEMU" >&2
cmds="mkfs vda
mount vda
write /big 0 ${BIG_MB}M 7
sync
time cp --reflink /big /big.ref
time sync
df
umount
poweroff"
printf '%s\n' "$cmds" | KERNEL=build/kernel.elf DISKS="$img" scripts/run.sh > "$out/reflink-ghee.log" 2>&1 ||
	{ echo "bench/reflink: the ghee run failed, see $out/reflink-ghee.log" >&2; exit 1; }
if grep -qE "errno|^usage:|aborted" "$out/reflink-ghee.log"; then
	echo "bench/reflink: a ghee command failed, see $out/reflink-ghee.log" >&2
	exit 1
fi
awk '
{ sub(/\r$/, "") }
/^time: / { t[n++] = $2 }
END {
	if (n != 2) { print "bench/reflink: ghee printed " n " times" > "/dev/stderr"; exit 1 }
	printf "RESULT ghee_fs_reflink_ms %d ms\n", t[0] + t[1]
}' "$out/reflink-ghee.log" > "$out/reflink-ghee.txt" ||
	{ echo "bench/reflink: see $out/reflink-ghee.log" >&2; exit 1; }
if command -v btrfs >/dev/null && ! btrfs check "$img" > "$out/reflink-check.txt" 2>&1; then
	echo "bench/reflink: btrfs check found errors in ghee's image, see $out/reflink-check.txt" >&2
	exit 1
fi
cat "$out/reflink-linux.txt" "$out/reflink-ghee.txt"
awk -v mb="$BIG_MB" '
FNR == NR { l = $3; next }
{
	g = $3; r = g > 0 ? l / g : 0
	printf "\n%-20s %10s %10s %8s   %s\n", "row", "ghee", "linux", "ratio", "ghee / linux rate"
	printf "%-20s %7d ms %7d ms %8.2f   %.0f / %.0f MiB/s\n", "fs_reflink", g, l, r,
	       (g > 0 ? mb * 1000 / g : 0), (l > 0 ? mb * 1000 / l : 0)
	printf "RESULT ratio_fs_reflink %.2f x\n", r > "/dev/stderr"
}' "$out/reflink-linux.txt" "$out/reflink-ghee.txt" 2>"$out/reflink-ratios.txt"
cat "$out/reflink-ratios.txt"
