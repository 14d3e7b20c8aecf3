#!/bin/bash
# Interop: dedupe scans beside full and incremental sends, every stream
# applied by the host's `btrfs receive`.
#   In ghee (host tool), ROUNDS rounds: new pairs of equal files (written
#   apart, so not yet shared) go into subvolume /s, a file is changed,
#   /s is snapshotted read-only (/snapR); then `dedupe scan -r /` runs as
#   a background job while /snapR is sent whole and incrementally from
#   /snap(R-1), and the next scan while the next sends run.
#   1. every ghee command succeeds, the scans deduped something, and
#      `btrfs check` passes;
#   2. the full streams, and the first full stream followed by every
#      incremental one, are received by `btrfs receive` on a loop mount,
#      and each received snapshot has the bytes, sizes and modes of
#      ghee's snapshot as Linux mounts it.
# Output: KTAP and '#' lines. Scratch files in build/interop-dedupe-send/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-dedupe-send
ROUNDS=${ROUNDS:-4}
N=0
FAILED=0
. tests/interop/lib.sh

command -v btrfs >/dev/null || { skip dedupe_send "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok dedupe_send "host tool $GHEE not built"; finish; }
for m in $(grep -o "$W/[^ ]*" /proc/mounts | sort -r); do umount "$m"; done
rm -rf "$W" && mkdir -p "$W/g" "$W/r"
img=$W/ghee.img
truncate -s 1G "$img"
disks=()
{ echo "mkfs vda"; echo "mount vda"; echo "subvolume create /s"
  echo "write /s/changing 0 100000 1"
  disk=1
  for r in $(seq 1 "$ROUNDS"); do
	echo "mkdir /s/r$r"
	for i in 1 2 3 4 5 6; do
		echo "write /s/r$r/p${i}a 0 $((i * 98304 + 1000)) $((r * 10 + i))"
		echo "write /s/r$r/p${i}b 0 $((i * 98304 + 1000)) $((r * 10 + i))"
	done
	echo "write /s/changing $((r * 8192)) 5000 $((100 + r))"
	echo "subvolume snapshot -r /s /snap$r"
	echo "dedupe scan -r --min 4K / &"
	d=$(printf "vd\\x$(printf %x $((97 + disk)))"); disk=$((disk + 1))
	echo "send -f $d /snap$r"; disks+=("full$r")
	if [ "$r" -gt 1 ]; then
		d=$(printf "vd\\x$(printf %x $((97 + disk)))"); disk=$((disk + 1))
		echo "send -p /snap$((r - 1)) -f $d /snap$r"; disks+=("incr$r")
	fi
	echo "wait"
  done
  echo "umount"; } >"$W/cmds"
raws=()
for s in "${disks[@]}"; do truncate -s 128M "$W/$s.raw"; raws+=("$W/$s.raw"); done
if ghee_run "$W/out" "$img" "${raws[@]}" <"$W/cmds" &&
   grep -qE "deduped [1-9][0-9]* ranges" "$W/out"; then
	ok ghee_scans_and_sends
else
	notok ghee_scans_and_sends "a ghee command failed, or no scan deduped"
	finish
fi
grep -E "^scanned" "$W/out" | say
if btrfs_check "$img"; then ok btrfs_check
else notok btrfs_check "btrfs check finds errors"; finish; fi
[ "$(id -u)" = 0 ] || { skip received_equal "needs root for loop mounts"; finish; }

# receive STREAM...: into a fresh loop-mounted btrfs at $W/r, in order.
fresh() {
	truncate -s 1G "$W/recv.img" && mkfs.btrfs -q -f "$W/recv.img" >/dev/null &&
		mount -o loop "$W/recv.img" "$W/r"
}
# same NAME: ghee's /NAME and the received NAME hold the same tree.
same() {
	diff -r --no-dereference "$W/g/$1" "$W/r/$1" >"$W/diff" 2>&1 &&
		(cd "$W/g/$1" && find . -printf "%p %s %m\n" | sort) >"$W/a.ls" &&
		(cd "$W/r/$1" && find . -printf "%p %s %m\n" | sort) >"$W/b.ls" &&
		diff "$W/a.ls" "$W/b.ls" >>"$W/diff"
}
mount -o loop,ro "$img" "$W/g" || { notok received_equal "cannot mount ghee's image"; finish; }
bad=
for r in $(seq 1 "$ROUNDS"); do
	fresh || { bad="$bad mkfs"; break; }
	btrfs receive -e -f "$W/full$r.raw" "$W/r" >"$W/recv.out" 2>&1 &&
		same "snap$r" || { bad="$bad full$r"; head -n 5 "$W/recv.out" "$W/diff" | say; }
	umount "$W/r"
done
fresh || bad="$bad mkfs"
btrfs receive -e -f "$W/full1.raw" "$W/r" >"$W/recv.out" 2>&1 || bad="$bad chain1"
for r in $(seq 2 "$ROUNDS"); do
	btrfs receive -e -f "$W/incr$r.raw" "$W/r" >"$W/recv.out" 2>&1 &&
		same "snap$r" || { bad="$bad incr$r"; head -n 5 "$W/recv.out" "$W/diff" | say; }
done
umount "$W/r"
umount "$W/g"
if [ -z "$bad" ]; then ok received_equal
else notok received_equal "received trees differ or failed:$bad"; fi
finish
