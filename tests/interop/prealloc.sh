#!/bin/bash
# Interop: preallocated extents between ghee and Linux.
#   1. Linux (a loop mount) makes preallocated files: fallocate with and
#      without -n (keep size), partly written afterwards, a few bytes
#      written into one; ghee (host tool) reads each as Linux does (size,
#      sha256: zeros where nothing was written);
#   2. ghee writes into them (inside, across the end, into a keep-size
#      range past the end); btrfs check passes and Linux reads what ghee
#      reads;
#   3. ghee's fallocate (plain, -n, -z, -p, partly written) makes
#      preallocated extents: btrfs check passes, Linux finds them
#      unwritten (filefrag), reads what ghee reads, and writes into them
#      (btrfs check passes again);
#   4. ghee sends a snapshot holding them (--proto 1 and 2, and
#      incrementally after writing into them): btrfs receive applies the
#      streams and the received trees equal ghee's snapshots (model.py
#      same, as Linux mounts both);
#   5. Linux sends its snapshots of part 1 (--proto 2, full and
#      incremental): ghee receives them, btrfs check passes and the trees
#      equal Linux's.
# Output: KTAP and '#' lines. Needs root (loop mounts); scratch files in
# build/interop-prealloc/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
HERE=$ROOT/tests/interop
W=$ROOT/build/interop-prealloc
N=0
FAILED=0
. "$HERE/lib.sh"

cases="linux_prealloc_read_by_ghee ghee_writes_into_linux_prealloc ghee_prealloc_read_by_linux linux_writes_into_ghee_prealloc ghee_send_received_by_linux linux_send_received_by_ghee"
skip_all() { for c in $cases; do skip "$c" "$1"; done; finish; }
command -v btrfs >/dev/null || skip_all "btrfs-progs not installed"
command -v filefrag >/dev/null || skip_all "filefrag (e2fsprogs) not installed"
[ "$(id -u)" = 0 ] || skip_all "needs root for loop mounts"
[ -x "$GHEE" ] || { notok prealloc "host tool $GHEE not built"; finish; }
for m in $(grep -o "$W/[^ ]*" /proc/mounts | sort -r); do umount "$m"; done
rm -rf "$W" && mkdir -p "$W/m"
M=$W/m
FILES="full keep part tail few"

# linux_view DIR NAME...: "size sha256 name" of each file, as Linux reads it.
linux_view() {
	local d=$1 f
	shift
	for f in "$@"; do
		echo "$(stat -c %s "$d/$f") $(sha256sum < "$d/$f" | cut -d' ' -f1) $f"
	done
}

# ghee_view IMG DIR NAME...: the same, as the host tool reads them.
ghee_view() {
	local img=$1 d=$2 f out
	shift 2
	out=$( { echo "mount vda ro"
		 for f in "$@"; do echo "stat $d/$f"; echo "sha256sum $d/$f"; done
	       } | timeout 120 "$GHEE" "ro:$img" 2>&1)
	for f in "$@"; do
		echo "$(echo "$out" | awk -v p="$d/$f" '$1 == "File:" { on = ($2 == p) }
			on && $1 == "Size:" { print $2; exit }') $(echo "$out" |
			awk -v p="$d/$f" '$2 == p && length($1) == 64 { print $1 }') $f"
	done
}

# holds FILE OFF LEN SEED: FILE's bytes [OFF, OFF + LEN) are the write
# pattern of SEED (model.py), or zeros when SEED is "zero".
holds() {
	python3 - "$@" <<'PY'
import sys
sys.path.insert(0, "tests/interop")
from model import pattern
path, off, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
with open(path, "rb") as f:
    f.seek(off)
    got = f.read(n)
want = bytes(n) if seed == "zero" else pattern(int(seed), off, n)
if got != want:
    print("# %s [%d, +%d) is not %s" % (path, off, n, seed))
    sys.exit(1)
PY
}

# same_view WHAT A B: the two views must be equal (else the lines differ).
same_view() {
	[ "$2" = "$3" ] && return 0
	echo "$1 differ:" | say
	diff <(echo "$2") <(echo "$3") | head -n 8 | say
	return 1
}

# 1. Linux's preallocated files.
L=$W/linux.img
truncate -s 512M "$L"
mkfs.btrfs -q -f "$L" >/dev/null 2>&1 && mount -o loop,noatime "$L" "$M" ||
	skip_all "cannot loop mount a new btrfs"
btrfs -q subvolume create "$M/sv" >/dev/null
(cd "$M/sv" &&
	fallocate -l 1M full &&
	touch keep && fallocate -n -l 1M keep &&
	fallocate -l 1M part &&
	head -c 65536 /dev/urandom | dd of=part bs=4096 seek=64 conv=notrunc status=none &&
	head -c 100000 /dev/urandom > tail && fallocate -n -o 0 -l 2M tail &&
	fallocate -l 1M few &&
	printf abcdefghij | dd of=few bs=1 seek=5000 conv=notrunc status=none) ||
	skip_all "fallocate on Linux's btrfs failed"
btrfs -q subvolume snapshot -r "$M/sv" "$M/s1" >/dev/null
head -c 40000 /dev/urandom | dd of="$M/sv/full" bs=1 seek=300000 conv=notrunc status=none
head -c 5000 /dev/urandom >> "$M/sv/keep"
btrfs -q subvolume snapshot -r "$M/sv" "$M/s2" >/dev/null
want=$(linux_view "$M/sv" $FILES)
btrfs send -q --proto 2 -f "$W/l-full.stream" "$M/s1" &&
	btrfs send -q --proto 2 -p "$M/s1" -f "$W/l-incr.stream" "$M/s2" ||
	notok linux_send "btrfs send failed"
umount "$M"
echo "$want" | say
if ! btrfs_check "$L"; then
	notok linux_prealloc_read_by_ghee "btrfs check failed on Linux's image"
elif same_view "sizes and sums" "$want" "$(ghee_view "$L" /sv $FILES)"; then
	ok linux_prealloc_read_by_ghee
else
	notok linux_prealloc_read_by_ghee "ghee reads other bytes or sizes"
fi

# 2. ghee writes into Linux's preallocated ranges.
printf '%s\n' "mount vda" "write /sv/full 100000 50000 1" \
	"write /sv/keep 3000 8192 2" "write /sv/part 1040000 20000 3" \
	"write /sv/tail 150000 10000 4" "write /sv/few 4090 20 5" "sync" |
	ghee_run "$W/write.out" "$L" && gv=$(ghee_view "$L" /sv $FILES) &&
	btrfs_check "$L" && mount -o loop,ro "$L" "$M" &&
	lv=$(linux_view "$M/sv" $FILES) &&
	holds "$M/sv/full" 100000 50000 1 && holds "$M/sv/full" 0 100000 zero &&
	holds "$M/sv/keep" 3000 8192 2 && holds "$M/sv/part" 1040000 20000 3 &&
	holds "$M/sv/tail" 100000 50000 zero && holds "$M/sv/tail" 150000 10000 4 &&
	holds "$M/sv/few" 4090 20 5 && umount "$M" &&
	same_view "ghee's and Linux's reads" "$gv" "$lv" &&
	echo "$lv" | grep -q "^1060000 .* part$" && echo "$lv" | grep -q "^160000 .* tail$" &&
	ok ghee_writes_into_linux_prealloc ||
	notok ghee_writes_into_linux_prealloc "see above"
mountpoint -q "$M" && umount "$M"

# 3. and 4. ghee's preallocated extents; its sends of them.
G=$W/ghee.img
truncate -s 512M "$G"
for s in v2 incr v1; do truncate -s 64M "$W/g-$s.raw"; done
GFILES="a b c d"
printf '%s\n' "mkfs vda" "mount vda" "btrfs subvolume create /sv" \
	"fallocate -l 1M /sv/a" "touch /sv/b" "fallocate -n -l 512K /sv/b" \
	"write /sv/c 0 300000 5" "fallocate -z -o 4096 -l 100000 /sv/c" \
	"fallocate -p -o 200000 -l 50000 /sv/c" "fallocate -n -o 300000 -l 1M /sv/c" \
	"fallocate -l 2M /sv/d" "write /sv/d 500000 12345 6" \
	"btrfs subvolume snapshot -r /sv /s1" \
	"write /sv/a 4096 8192 7" "write /sv/b 0 100 8" \
	"btrfs subvolume snapshot -r /sv /s2" \
	"send -q --proto 2 -f vdb /s1" "send -q --proto 2 -p /s1 -f vdc /s2" \
	"send -q -f vdd /s1" "sync" |
	ghee_run "$W/ghee.out" "$G" "$W/g-v2.raw" "$W/g-incr.raw" "$W/g-v1.raw"
gv=$(ghee_view "$G" /s1 $GFILES)
echo "$gv" | say
if ! btrfs_check "$G"; then
	notok ghee_prealloc_read_by_linux "btrfs check failed on ghee's image"
elif ! mount -o loop,ro "$G" "$M"; then
	notok ghee_prealloc_read_by_linux "Linux cannot mount ghee's image"
else
	unwritten=$(filefrag -v "$M/s1/a" "$M/s1/b" "$M/s1/d" | grep -c unwritten)
	lv=$(linux_view "$M/s1" $GFILES)
	holds "$M/s1/a" 0 1048576 zero && holds "$M/s1/c" 0 4096 5 &&
		holds "$M/s1/c" 4096 100000 zero && holds "$M/s1/c" 104096 95904 5 &&
		holds "$M/s1/c" 200000 50000 zero && holds "$M/s1/d" 500000 12345 6 &&
		holds "$M/s1/d" 0 500000 zero || unwritten=0
	umount "$M"
	if [ "$unwritten" -lt 3 ]; then
		notok ghee_prealloc_read_by_linux "not the bytes written, or filefrag finds $unwritten unwritten extents"
	elif same_view "ghee's and Linux's reads" "$gv" "$lv"; then
		ok ghee_prealloc_read_by_linux
	else
		notok ghee_prealloc_read_by_linux "Linux reads other bytes or sizes"
	fi
fi
if mount -o loop "$G" "$M" &&
	head -c 70000 /dev/urandom | dd of="$M/sv/d" bs=1 seek=1000000 conv=notrunc status=none &&
	head -c 9000 /dev/urandom | dd of="$M/sv/c" bs=1 seek=290000 conv=notrunc status=none &&
	umount "$M" && btrfs_check "$G"; then
	ok linux_writes_into_ghee_prealloc
else
	notok linux_writes_into_ghee_prealloc "see above"
fi
mountpoint -q "$M" && umount "$M"

# receive_into IMG: a fresh btrfs in IMG mounted at $W/r.
receive_into() {
	mkdir -p "$W/r"
	truncate -s 512M "$1" && mkfs.btrfs -q -f "$1" >/dev/null &&
		mount -o loop,noatime "$1" "$W/r"
}
rc=0
if receive_into "$W/recv.img" && mount -o loop,ro "$G" "$M"; then
	for s in v2 incr; do
		btrfs receive -e -f "$W/g-$s.raw" "$W/r" >"$W/recv-$s.out" 2>&1 ||
			{ head -n 5 "$W/recv-$s.out" | say; rc=1; }
	done
	[ $rc = 0 ] && python3 "$HERE/model.py" same "$M/s1" "$W/r/s1" &&
		python3 "$HERE/model.py" same "$M/s2" "$W/r/s2" || rc=1
	btrfs -q subvolume delete "$W/r/s2" >/dev/null && btrfs -q subvolume delete "$W/r/s1" >/dev/null &&
		btrfs receive -e -f "$W/g-v1.raw" "$W/r" >"$W/recv-v1.out" 2>&1 &&
		python3 "$HERE/model.py" same "$M/s1" "$W/r/s1" || rc=1
else
	rc=1
fi
mountpoint -q "$M" && umount "$M"
mountpoint -q "$W/r" && umount "$W/r"
[ $rc = 0 ] && ok ghee_send_received_by_linux ||
	notok ghee_send_received_by_linux "see above"

# 5. Linux's streams received by ghee.
R=$W/ghee-recv.img
truncate -s 512M "$R"
for s in full incr; do
	cp "$W/l-$s.stream" "$W/l-$s.raw"
	truncate -s %512 "$W/l-$s.raw"
done
rc=0
printf '%s\n' "mkfs vda" "mount vda" "receive -e -f vdb /" "receive -e -f vdc /" |
	ghee_run "$W/ghee-recv.out" "$R" "$W/l-full.raw" "$W/l-incr.raw" &&
	btrfs_check "$R" || rc=1
if [ $rc = 0 ] && mount -o loop,ro "$L" "$M" && mkdir -p "$W/r" &&
	mount -o loop,ro "$R" "$W/r"; then
	python3 "$HERE/model.py" same "$M/s1" "$W/r/s1" &&
		python3 "$HERE/model.py" same "$M/s2" "$W/r/s2" || rc=1
else
	rc=1
fi
mountpoint -q "$M" && umount "$M"
mountpoint -q "$W/r" && umount "$W/r"
[ $rc = 0 ] && ok linux_send_received_by_ghee ||
	notok linux_send_received_by_ghee "see above"
finish
