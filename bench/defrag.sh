#!/usr/bin/env bash
# Snapshot-aware defrag, the reference's scenario at a chosen size, with
# the host tool (build/ghee, no sanitizers) on an image file, beside
# Linux's defrag (not snapshot-aware) of the same image on a loop mount:
# a file of MIB MiB (default 32) written, then every other 4 KiB block
# written again, then SNAPS (default 500) read-only snapshots of its
# subvolume; the image is copied; ghee defragments the file in one copy
# and Linux (`btrfs filesystem defragment`, as root) in the other. Prints
# `RESULT name value unit`: time, peak memory of the host tool, longest
# commit, used bytes before and after on each side. ghee's image must pass
# btrfs check (and its qgroup report with QUOTA=1).
# The same scenario in QEMU, with reads before and after: defrag_qemu.sh.
# Settings: MIB (32), SNAPS (500), QUOTA (0).
set -uo pipefail
cd "$(dirname "$0")/.."
MIB=${MIB:-32}
SNAPS=${SNAPS:-500}
QUOTA=${QUOTA:-0}
GHEE=build/ghee
. bench/snap_lib.sh
. bench/defrag_lib.sh
out=build/bench-defrag
img=$out/ghee.img
mkdir -p "$out/mnt"
echo "bench/defrag: $MIB MiB file, $SNAPS snapshots, quota=$QUOTA" >&2

defrag_image "$img" "$MIB" "$SNAPS" "$QUOTA" "$out/build.txt" || exit 1
cp --sparse=always "$img" "$out/linux.img"

before=$(printf 'mount vda\nfilesystem df -b /\numount\n' | "$GHEE" "$img" 2>&1 | df_used)
/usr/bin/time -f "%e %M" -o "$out/time.txt" "$GHEE" "$img" >"$out/defrag.txt" 2>&1 \
	< <(printf 'mount vda\nfilesystem defragment -v /sv/f\numount\n')
read -r secs kib <"$out/time.txt"
after=$(printf 'mount vda\nfilesystem df -b /\numount\n' | "$GHEE" "$img" 2>&1 | df_used)
grep "^defragmented" "$out/defrag.txt" >&2
echo "RESULT ghee_defrag_time $secs s"
echo "RESULT ghee_defrag_peak_rss $((kib / 1024)) MiB"
echo "RESULT ghee_used_before $before bytes"
echo "RESULT ghee_used_after $after bytes"
if btrfs check "$img" >"$out/check.txt" 2>&1; then echo "RESULT ghee_btrfs_check clean"
else echo "RESULT ghee_btrfs_check errors"; fi
if [ "$QUOTA" = 1 ]; then
	btrfs check --qgroup-report "$img" 2>&1 | grep -q "are different" &&
		echo "RESULT ghee_qgroups different" || echo "RESULT ghee_qgroups exact"
fi

# Linux, not snapshot-aware: it unshares what it rewrites.
if [ "$(id -u)" = 0 ] && mount -o loop "$out/linux.img" "$out/mnt" 2>/dev/null; then
	lb=$(btrfs filesystem df -b "$out/mnt" | df_used)
	t0=$(date +%s.%N)
	btrfs filesystem defragment "$out/mnt/sv/f" && sync
	t1=$(date +%s.%N)
	la=$(btrfs filesystem df -b "$out/mnt" | df_used)
	umount "$out/mnt"
	echo "RESULT linux_defrag_time $(echo "$t1 - $t0" | bc) s"
	echo "RESULT linux_used_before $lb bytes"
	echo "RESULT linux_used_after $la bytes"
else
	echo "bench/defrag: no loop mount (needs root): Linux side skipped" >&2
fi
