#!/usr/bin/env bash
# Snapshots, ghee beside Linux, each on a fresh btrfs on the same
# preallocated image (Linux first, then ghee), with the same QEMU disk
# options, CPU count, memory, machine (q35) and accelerator, in this run:
#   - snapshot: a subvolume holding NFILES files of 4 KiB (directories of
#     1000) is snapshotted, with the sync after it (Linux: btrfs subvolume
#     snapshot + sync; ghee: subvolume snapshot, which commits, + sync);
#   - delete: NSNAPS read-only snapshots, each taken after PER_SNAP of the
#     files were rewritten (Linux: lbio modify 1 %; ghee: write), are
#     deleted and the space waited for (subvolume delete + subvolume sync).
# ghee's `mem` while its cleaner drops them shows the memory in use.
# Prints `RESULT name value unit` and ratios (Linux time / ghee time:
# above 1 means ghee is faster).
# Settings: SMP (1), MEM (512M), ACCEL (tcg), NFILES (100000), NSNAPS (50).
set -uo pipefail
cd "$(dirname "$0")/.."

LB=${LB:-../shared/tools/linux-btrfs/run.sh}
[ -x "$LB" ] || LB=/work/shared/tools/linux-btrfs/run.sh
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
NFILES=${NFILES:-100000}
NSNAPS=${NSNAPS:-50}
PER_DIR=1000
NDIRS=$(((NFILES + PER_DIR - 1) / PER_DIR))
NFILES=$((NDIRS * PER_DIR))
PER_SNAP=$((NFILES / 100))	# lbio modify 1: every 100th file
out=build/bench
img=$out/fs_snapshot.img
mkdir -p "$out"
echo "bench/fs_snapshot: $NFILES files, $NSNAPS snapshots of $PER_SNAP" \
	"changed files (smp=$SMP mem=$MEM accel=$ACCEL)" >&2
rm -f "$img"
fallocate -l $(((NFILES * 12 / 1024 + NSNAPS * PER_SNAP * 8 / 1024 + 1024) << 20)) "$img" ||
	{ echo "bench/fs_snapshot: cannot make $img" >&2; exit 1; }

snaps=$(seq 1 "$NSNAPS" | sed 's#^#/mnt/s#' | tr '\n' ' ')
cat > "$out/fs_snapshot-linux.sh" <<SH
ms() { echo \$(( (\$2 - \$1) / 1000000 )); }
mkfs.btrfs -q -f /dev/vda >/dev/null && mount /dev/vda /mnt || exit 1
btrfs -q subvolume create /mnt/sv || exit 1
lbio mksmall /mnt/sv/small $NDIRS $PER_DIR 4096 1 >/dev/null || exit 1; sync
t0=\$(lbio now); btrfs -q subvolume snapshot /mnt/sv /mnt/snap0 || exit 1; sync; t1=\$(lbio now)
echo "RESULT linux_fs_snapshot_ms \$(ms \$t0 \$t1) ms"
for i in \$(seq 1 $NSNAPS); do
	lbio modify /mnt/sv 1 \$i >/dev/null || exit 1
	btrfs -q subvolume snapshot -r /mnt/sv /mnt/s\$i || exit 1
done
sync
t0=\$(lbio now); btrfs -q subvolume delete $snaps || exit 1
btrfs -q subvolume sync /mnt || exit 1; t1=\$(lbio now)
echo "RESULT linux_fs_delete_snapshots_ms \$(ms \$t0 \$t1) ms"
SH
echo "bench/fs_snapshot: Linux in QEMU" >&2
MACHINE=q35 TIMEOUT=${TIMEOUT:-3600} "$LB" script "$out/fs_snapshot-linux.sh" "$img" \
	2>"$out/fs_snapshot-linux.err" | grep '^RESULT ' > "$out/fs_snapshot-linux.txt"
[ "$(wc -l < "$out/fs_snapshot-linux.txt")" = 2 ] ||
	{ echo "bench/fs_snapshot: the Linux run failed, see $out/fs_snapshot-linux.err" >&2; exit 1; }

echo "bench/fs_snapshot: ghee in QEMU" >&2
{
	echo "mkfs vda"
	echo "mount vda"
	echo "subvolume create /sv"
	echo "mkfiles /sv/small $NDIRS $PER_DIR 4096 1"
	echo "sync"
	echo "time subvolume snapshot /sv /snap0"
	echo "time sync"
	for i in $(seq 1 "$NSNAPS"); do
		# mkfiles names files d%05d/f%08d by their global index.
		for ((f = 0; f < NFILES; f += 100)); do
			printf 'write /sv/small/d%05d/f%08d 0 4096 %d\n' \
				$((f / PER_DIR)) "$f" "$((i + 1))"
		done
		echo "subvolume snapshot -r /sv /s$i"
	done
	echo "sync"
	echo "time subvolume delete $(seq 1 "$NSNAPS" | sed 's#^#/s#' | tr '\n' ' ')"
	echo "mem"
	echo "time subvolume sync"
	echo "mem"
	echo "df"
	echo "umount"
	echo "poweroff"
} > "$out/fs_snapshot-ghee.cmds"
KERNEL=build/kernel.elf DISKS="$img" scripts/run.sh < "$out/fs_snapshot-ghee.cmds" \
	> "$out/fs_snapshot-ghee.log" 2>&1 ||
	{ echo "bench/fs_snapshot: the ghee run failed, see $out/fs_snapshot-ghee.log" >&2; exit 1; }
awk '
{ sub(/\r$/, "") }
/^time: / { t[n++] = $2 }
END {
	if (n != 4) { print "bench/fs_snapshot: ghee printed " n " times" > "/dev/stderr"; exit 1 }
	printf "RESULT ghee_fs_snapshot_ms %d ms\n", t[0] + t[1]
	printf "RESULT ghee_fs_delete_snapshots_ms %d ms\n", t[2] + t[3]
}' "$out/fs_snapshot-ghee.log" > "$out/fs_snapshot-ghee.txt" ||
	{ echo "bench/fs_snapshot: see $out/fs_snapshot-ghee.log" >&2; exit 1; }
grep -A3 "^ghee> mem" "$out/fs_snapshot-ghee.log" | sed 's/^/# /' >&2
if command -v btrfs >/dev/null && ! btrfs check "$img" > "$out/fs_snapshot-check.txt" 2>&1; then
	echo "bench/fs_snapshot: btrfs check found errors in ghee's image, see $out/fs_snapshot-check.txt" >&2
	exit 1
fi
cat "$out/fs_snapshot-linux.txt" "$out/fs_snapshot-ghee.txt"
printf '\n%-24s %10s %10s %8s\n' row ghee linux ratio
awk '
FNR == NR { sub("^linux_", "", $2); linux[$2] = $3; next }
{
	name = $2; sub("^ghee_", "", name)
	if (!(name in linux)) next
	l = linux[name]; g = $3; r = g > 0 ? l / g : 0
	printf "%-24s %7d ms %7d ms %8.2f\n", name, g, l, r
	printf "RESULT ratio_%s %.2f x\n", name, r > "/dev/stderr"
}' "$out/fs_snapshot-linux.txt" "$out/fs_snapshot-ghee.txt" 2>"$out/fs_snapshot-ratios.txt"
cat "$out/fs_snapshot-ratios.txt"
