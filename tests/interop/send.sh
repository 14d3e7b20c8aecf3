#!/bin/bash
# Interop: send streams made by ghee (host tool), applied by the host's
# `btrfs receive`.
#   1. model.py makes a seeded random tree in ghee (files written,
#      truncated, sparse, cloned; directories, renames, hard links,
#      symlinks, devices, FIFOs, owners, modes, extended attributes,
#      subvolumes, times), ghee snapshots it read-only and sends it with
#      --proto 1 and --proto 2 to raw disks, with --no-data, and two
#      snapshots in one -e stream; `btrfs check` passes;
#   2. `btrfs receive --dump` parses every stream;
#   3. as root: `btrfs receive -e` applies each stream on a loop-mounted
#      btrfs, and each received subvolume equals ghee's snapshot as Linux
#      mounts it (model.py same: contents, sizes, holes, modes, owners,
#      devices, xattrs, hard links, symlinks, atime and mtime in ns);
#      the received subvolume is read-only with ghee's UUID as its
#      received UUID;
#   4. Linux's own image (preallocated ranges, holes, an inline file, a
#      socket): ghee sends Linux's read-only snapshot, v2 keeps the
#      preallocated ranges (FALLOCATE), and the stream has the shape of
#      Linux's `btrfs send` of the same snapshot (the same commands, in
#      the same order, but for directories' times, which ghee sends once
#      at the end);
#   7. compressed extents both ways with --compressed-data (below).
# Output: KTAP and '#' lines. Scratch files in build/interop-send/.
# SEEDS and OPS override the seeds and operations per seed.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
HERE=$ROOT/tests/interop
W=$ROOT/build/interop-send
SEEDS=${SEEDS:-"1 2"}
OPS=${OPS:-300}
N=0
FAILED=0
. "$HERE/lib.sh"

command -v btrfs >/dev/null || { skip send "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok send "host tool $GHEE not built"; finish; }
# Mounts a run stopped midway left behind (ours only, deepest first).
for m in $(grep -o "$W/[^ ]*" /proc/mounts | sort -r); do umount "$m"; done
rm -rf "$W" && mkdir -p "$W"
CAN_MOUNT=0
[ "$(id -u)" = 0 ] && CAN_MOUNT=1

# dump STREAM: btrfs receive --dump must parse it whole.
dump() {
	btrfs receive --dump -e -f "$1" >"$1.dump" 2>"$1.err" &&
		grep -qE "^(subvol|snapshot)" "$1.dump"
}

# receive_cmp STREAM SRC NAME...: receive STREAM into a fresh loop-mounted
# btrfs; each subvolume NAME must equal SRC/NAME and be read-only.
receive_cmp() {
	local stream=$1 src=$2 r=$W/recv
	shift 2
	mkdir -p "$r"
	truncate -s 1G "$W/recv.img" && mkfs.btrfs -q -f "$W/recv.img" >/dev/null &&
		mount -o loop,noatime "$W/recv.img" "$r" || return 1
	local rc=0
	if ! btrfs receive -e -f "$stream" "$r" >"$stream.recv" 2>&1; then
		head -n 5 "$stream.recv" | say
		rc=1
	fi
	for n in "$@"; do
		[ $rc = 0 ] || break
		python3 "$HERE/model.py" same "$src/$n" "$r/$n" || rc=1
		[ "$(btrfs property get -ts "$r/$n" ro)" = "ro=true" ] || {
			echo "received $n is not read-only" | say; rc=1; }
		local want got
		want=$(btrfs subvolume show "$src/$n" | awk '/^\tUUID:/ {print $2}')
		got=$(btrfs subvolume show "$r/$n" | awk '/Received UUID:/ {print $3}')
		[ -n "$want" ] && [ "$want" = "$got" ] || {
			echo "received uuid $got, sent $want" | say; rc=1; }
	done
	umount "$r"
	return $rc
}

for seed in $SEEDS; do
	d=$W/s$seed img=$d/ghee.img
	mkdir -p "$d"
	truncate -s 1G "$img"
	for s in v1 v2 nodata two; do truncate -s 256M "$d/$s.raw"; done
	python3 "$HERE/model.py" gen "$seed" "$OPS" "$d/model" "$d/script" &&
		python3 "$HERE/model.py" times-script "$d/model" "$d/times" || {
		notok "seed${seed}_model" "model.py failed"; continue; }
	{ echo "mkfs vda"; echo "mount vda"; cat "$d/script" "$d/times"
	  echo "subvolume snapshot -r / /snap"
	  echo "write /after 0 5000 99"
	  echo "subvolume snapshot -r / /snap2"
	  echo "send -q -f vdb /snap"
	  echo "send /snap --proto 2 -f vdc"	# options after, as getopt takes them
	  echo "send --no-data --proto 2 -f vdd /snap"
	  echo "send -e -f vde /snap /snap2"
	  echo "umount"; } >"$d/all"
	if ! ghee_run "$d/out" "$img" "$d/v1.raw" "$d/v2.raw" "$d/nodata.raw" \
		"$d/two.raw" <"$d/all"; then
		notok "seed${seed}_ghee_sends" "a ghee command failed"
		continue
	fi
	ok "seed${seed}_ghee_sends"
	if btrfs_check "$img"; then ok "seed${seed}_btrfs_check"
	else notok "seed${seed}_btrfs_check" "btrfs check finds errors"; continue; fi
	bad=
	for s in v1 v2 nodata two; do dump "$d/$s.raw" || bad="$bad $s"; done
	if [ -z "$bad" ] && grep -q "^update_extent" "$d/nodata.raw.dump" &&
	   ! grep -q "^write" "$d/nodata.raw.dump" &&
	   [ "$(grep -c "^subvol" "$d/two.raw.dump")" = 2 ]; then
		ok "seed${seed}_dump_parses"
	else
		for s in $bad; do head -n 3 "$d/$s.raw.err" | say; done
		notok "seed${seed}_dump_parses" "btrfs receive --dump failed on:$bad"
	fi
	if [ $CAN_MOUNT = 0 ]; then
		skip "seed${seed}_receive" "needs root for loop mounts"
		continue
	fi
	g=$d/g
	mkdir -p "$g"
	mount -o loop,ro,noatime "$img" "$g" || { notok "seed${seed}_receive" "cannot mount ghee's image"; continue; }
	for s in v1 v2; do
		if receive_cmp "$d/$s.raw" "$g" snap; then ok "seed${seed}_receive_$s"
		else notok "seed${seed}_receive_$s" "received tree differs or receive failed"; fi
	done
	if receive_cmp "$d/two.raw" "$g" snap snap2; then ok "seed${seed}_receive_two_in_one"
	else notok "seed${seed}_receive_two_in_one" "received trees differ or receive failed"; fi
	umount "$g"
done

# 4. A chain of incremental sends: a seeded random workload in ten steps,
# a read-only snapshot after each; the first sent whole, each other one
# with -p the one before (v1 and v2 in turn), to files in ghee exported
# to the host; host btrfs receive applies them in order, and each
# received snapshot equals ghee's.
chain() {
	local d=$W/chain seed=$CHAIN_SEED
	mkdir -p "$d"
	python3 "$HERE/model.py" gen "$seed" "$CHAIN_OPS" "$d/model" "$d/script" &&
		python3 "$HERE/model.py" times-script "$d/model" "$d/times" || {
		notok chain_model "model.py failed"; return; }
	local per=$(( ($(wc -l <"$d/script") + 9) / 10 ))
	split -l "$per" -d "$d/script" "$d/part."
	{ echo "mkfs vda"; echo "mount vda"; echo "subvolume create /streams"
	  for i in 0 1 2 3 4 5 6 7 8 9; do
		[ -f "$d/part.0$i" ] && cat "$d/part.0$i"
		[ $i = 9 ] && cat "$d/times"
		echo "subvolume snapshot -r / /c$i"
		p=; [ $i -gt 0 ] && p="-p /c$((i - 1))"
		echo "send -q $p --proto $((i % 2 + 1)) -f /streams/c$i.stream /c$i"
		echo "export /streams/c$i.stream $d/c$i.stream"
	  done
	  echo "umount"; } >"$d/all"
	truncate -s 1G "$d/ghee.img"
	if ! ghee_run "$d/out" "$d/ghee.img" <"$d/all"; then
		notok chain_ghee_sends "a ghee command failed"
		return
	fi
	ok chain_ghee_sends
	btrfs_check "$d/ghee.img" || { notok chain_btrfs_check "btrfs check finds errors"; return; }
	local bad=
	for i in 0 1 2 3 4 5 6 7 8 9; do dump "$d/c$i.stream" || bad="$bad c$i"; done
	if [ -z "$bad" ]; then ok chain_dump_parses
	else notok chain_dump_parses "btrfs receive --dump failed on:$bad"; fi
	[ $CAN_MOUNT = 1 ] || { skip chain_receive "needs root for loop mounts"; return; }
	local g=$d/g r=$W/recv
	mkdir -p "$g" "$r"
	truncate -s 1G "$W/recv.img" && mkfs.btrfs -q -f "$W/recv.img" >/dev/null &&
		mount -o loop,noatime "$W/recv.img" "$r" &&
		mount -o loop,ro,noatime "$d/ghee.img" "$g" || { notok chain_receive "mount failed"; return; }
	bad=
	for i in 0 1 2 3 4 5 6 7 8 9; do
		if ! btrfs receive -f "$d/c$i.stream" "$r" >"$d/c$i.recv" 2>&1; then
			head -n 3 "$d/c$i.recv" | say
			bad="$bad c$i(receive)"
			break
		fi
		python3 "$HERE/model.py" same "$g/c$i" "$r/c$i" >"$d/c$i.same" ||
			{ head -n 4 "$d/c$i.same"; bad="$bad c$i"; }
	done
	umount "$r"
	umount "$g"
	if [ -z "$bad" ]; then ok chain_received_equal
	else notok chain_received_equal "received snapshots differ:$bad"; fi
}
# 5. The hard orderings of incremental send (fstests' send family), each
# in its own corner of one subvolume, in four snapshots: p2 from p1, p3
# from p2, p4 from p3 (remounts between, so that inode numbers are
# reused: a device's by a directory, a directory's by a directory whose
# entry's own items do not change).
orderings() {
	local d=$W/order
	mkdir -p "$d"
	truncate -s 512M "$d/ghee.img"
	cat >"$d/all" <<'CMDS'
mkfs vda
mount vda
subvolume create /streams
subvolume create /s
mkdir /s/desc
mkdir /s/desc/a
mkdir /s/desc/a/b
mkdir /s/desc/a/b/c
write /s/desc/a/b/c/f 0 5000 1
write /s/swap_x 0 100 2
write /s/swap_y 0 200 3
mkdir /s/swapd1
mkdir /s/swapd2
write /s/swapd1/in1 0 10 4
write /s/swapd2/in2 0 20 5
write /s/taken_x 0 300 6
write /s/taken_y 0 400 7
write /s/links 0 5000 8
ln /s/links /s/links_old
mkdir /s/gone
write /s/gone/keep 0 4096 9
write /s/gone/drop 0 4096 10
write /s/was_file 0 1000 11
mkdir /s/was_dir
write /s/was_dir/f 0 10 12
write /s/late 0 10 13
write /s/data 0 300000 14
write /s/xattrs 0 10 15
setfattr -n user.keep -v 1 /s/xattrs
setfattr -n user.change -v old /s/xattrs
setfattr -n user.drop -v 1 /s/xattrs
write /s/rot_a 0 1 16
write /s/rot_b 0 2 17
write /s/rot_c 0 3 18
mkfifo /s/fifo
write /s/owner 0 10 19
subvolume snapshot -r /s /p1
mv /s/desc/a/b /s/desc/b
mv /s/desc/a /s/desc/b/a
mv /s/swap_x /s/swap_tmp
mv /s/swap_y /s/swap_x
mv /s/swap_tmp /s/swap_y
mv /s/swapd1 /s/swapd_tmp
mv /s/swapd2 /s/swapd1
mv /s/swapd_tmp /s/swapd2
rm /s/taken_x
mv /s/taken_y /s/taken_x
ln /s/links /s/links_new
rm /s/links_old
mv /s/gone/keep /s/kept
rm -r /s/gone
rm /s/was_file
mkdir /s/was_file
write /s/was_file/inside 0 10 20
rm -r /s/was_dir
write /s/was_dir 0 30 21
mkdir /s/newdir
mv /s/late /s/newdir/late
write /s/data 100000 5000 22
write /s/data 400000 100 23
setfattr -n user.change -v new /s/xattrs
setfattr -x user.drop /s/xattrs
setfattr -n user.add -v 2 /s/xattrs
mv /s/rot_a /s/rot_tmp
mv /s/rot_c /s/rot_a
mv /s/rot_b /s/rot_c
mv /s/rot_tmp /s/rot_b
rm /s/fifo
mknod /s/fifo c 1 3
chmod 600 /s/owner
chown 1000:1000 /s/owner
subvolume snapshot -r /s /p2
truncate /s/data 150000
truncate /s/data 350000
mv /s/desc/b/a /s/desc/a
mv /s/desc/b /s/desc/a/b
rm /s/fifo
umount
mount vda
mkdir /s/fifo
write /s/fifo/inside 0 20 25
mkdir /s/C
mv /s/desc /s/C/desc
mv /s/C /s/desc
mv /s/kept /s/sw_tmp
mv /s/newdir /s/kept
mv /s/sw_tmp /s/newdir
write /s/zf 0 10 26
mkdir /s/zz_dir
mv /s/zf /s/zz_dir/zf
subvolume snapshot -r /s /p3
mv /s/zz_dir/zf /s/zf
rm -r /s/zz_dir
umount
mount vda
mkdir /s/zz_dir
mv /s/zf /s/zz_dir/zf
subvolume snapshot -r /s /p4
send -q -f /streams/p1.stream /p1
send -q -p /p1 -f /streams/p2.stream /p2
send -q --proto 2 -p /p2 -f /streams/p3.stream /p3
send -q -p /p3 -f /streams/p4.stream /p4
subvolume create /t
cp --reflink=always /s/data /t/copy
write /t/own 0 1000 30
subvolume snapshot -r /t /t1
send -q -c /p3 -f /streams/t1.stream /t1
CMDS
	for i in p1 p2 p3 p4 t1; do echo "export /streams/$i.stream $d/$i.stream"; done >>"$d/all"
	echo umount >>"$d/all"
	if ! ghee_run "$d/out" "$d/ghee.img" <"$d/all"; then
		notok orderings_ghee_sends "a ghee command failed"
		return
	fi
	ok orderings_ghee_sends
	btrfs_check "$d/ghee.img" || { notok orderings_btrfs_check "btrfs check finds errors"; return; }
	[ $CAN_MOUNT = 1 ] || { skip orderings_receive "needs root for loop mounts"; return; }
	local g=$d/g r=$W/recv bad=
	mkdir -p "$g" "$r"
	truncate -s 1G "$W/recv.img" && mkfs.btrfs -q -f "$W/recv.img" >/dev/null &&
		mount -o loop,noatime "$W/recv.img" "$r" &&
		mount -o loop,ro,noatime "$d/ghee.img" "$g" || { notok orderings_receive "mount failed"; return; }
	for i in p1 p2 p3 p4 t1; do
		if ! btrfs receive -f "$d/$i.stream" "$r" >"$d/$i.recv" 2>&1; then
			head -n 3 "$d/$i.recv" | say
			bad="$bad $i(receive)"
			break
		fi
		python3 "$HERE/model.py" same "$g/$i" "$r/$i" >"$d/$i.same" ||
			{ head -n 6 "$d/$i.same"; bad="$bad $i"; }
	done
	dump "$d/t1.stream" && grep -q "^clone.*copy" "$d/t1.stream.dump" ||
		bad="$bad t1(no clone from -c)"
	umount "$r"
	umount "$g"
	if [ -z "$bad" ]; then ok orderings_received_equal
	else notok orderings_received_equal "received snapshots differ:$bad"; fi
}
orderings

# 7. Compressed extents both ways (v2, --compressed-data): Linux writes
# zstd, lzo and zlib files, a compressed inline one and a compressed
# extent split by a plain write, and sends its snapshot with `btrfs send
# --proto 2 --compressed-data`; ghee sends the same snapshot likewise.
# ghee's stream has the shape of Linux's (the same ENCODED_WRITEs); btrfs
# receive applies it, the tree equals, and Linux stored the extents as
# they came (filefrag: encoded). ghee receives Linux's stream: btrfs
# check passes, the tree equals, and ghee stored them as they came.
compressed() {
	local d=$W/comp m=$W/comp/m g=$W/comp/g r=$W/recv rc
	mkdir -p "$m" "$g" "$r"
	truncate -s 512M "$d/l.img" && mkfs.btrfs -q -f "$d/l.img" >/dev/null 2>&1 &&
		mount -o loop,compress=zstd "$d/l.img" "$m" || {
		notok compressed_linux_made "mkfs or mount failed"; return; }
	(set -e; cd "$m"; btrfs -q subvolume create s; cd s
	 seq 1 100000 >zstd.txt; seq 1 300 | tr -d '\n' >inline.txt
	 head -c 70000 /dev/urandom >random.bin; sync
	 mount -o remount,compress=lzo "$m"; seq 1 90000 >lzo.txt; sync
	 mount -o remount,compress=zlib "$m"; seq 1 80000 >zlib.txt; sync
	 mount -o remount,compress=no "$m"
	 head -c 4096 /dev/urandom | dd of=zstd.txt bs=4096 seek=2 conv=notrunc 2>/dev/null
	 cd ..; btrfs -q subvolume snapshot -r s snap
	 btrfs send -q --proto 2 --compressed-data -f "$d/linux.stream" snap) >"$d/make.log" 2>&1
	rc=$?
	umount "$m"
	[ $rc = 0 ] || { say <"$d/make.log"; notok compressed_linux_made "Linux could not make the tree"; return; }
	truncate -s 64M "$d/g.raw" "$d/l.raw"
	dd if="$d/linux.stream" of="$d/l.raw" conv=notrunc 2>/dev/null
	truncate -s 512M "$d/ghee.img"
	if ghee_run "$d/out" "$d/l.img" "$d/g.raw" <<'CMDS' &&
mount vda ro
send -q --compressed-data -f vdb /snap
umount
CMDS
	   ghee_run "$d/out2" "$d/ghee.img" "$d/l.raw" <<'CMDS'
mkfs vda
mount vda
receive -e -f vdb /
umount
CMDS
	then ok compressed_ghee_sends_and_receives
	else notok compressed_ghee_sends_and_receives "a ghee command failed"; return; fi
	btrfs receive --dump -f "$d/linux.stream" >"$d/linux.dump" 2>&1
	dump "$d/g.raw"
	if grep -q "^encoded_write.*lzo.txt" "$d/g.raw.dump" &&
	   cmp -s <(grep -v "^utimes" "$d/linux.dump") <(grep -v "^utimes" "$d/g.raw.dump"); then
		ok compressed_same_as_linux_send
	else
		diff "$d/linux.dump" "$d/g.raw.dump" | head -n 10 | say
		notok compressed_same_as_linux_send "ghee's stream differs from Linux's"
	fi
	mount -o loop,ro,noatime "$d/l.img" "$m" || { notok compressed_receive "cannot mount"; return; }
	if receive_cmp "$d/g.raw" "$m" snap && mount -o loop "$W/recv.img" "$r" &&
	   filefrag -v "$r/snap/lzo.txt" | grep -q encoded; then
		ok compressed_linux_receives_as_stored
	else
		filefrag -v "$r/snap/lzo.txt" 2>&1 | tail -n 3 | say
		notok compressed_linux_receives_as_stored "received tree differs or was not stored compressed"
	fi
	mountpoint -q "$r" && umount "$r"
	if btrfs_check "$d/ghee.img" && mount -o loop,ro,noatime "$d/ghee.img" "$g" &&
	   python3 "$HERE/model.py" same "$m/snap" "$g/snap" &&
	   filefrag -v "$g/snap/zlib.txt" | grep -q encoded; then
		ok compressed_ghee_receives_as_stored
	else
		filefrag -v "$g/snap/zlib.txt" 2>&1 | tail -n 3 | say
		notok compressed_ghee_receives_as_stored "check failed, trees differ or not stored compressed"
	fi
	mountpoint -q "$g" && umount "$g"
	umount "$m"
}
[ $CAN_MOUNT = 1 ] && compressed

CHAIN_SEED=${CHAIN_SEED:-7}
CHAIN_OPS=${CHAIN_OPS:-400}
chain

# 6. Linux's image: what Linux makes, ghee sends.
[ $CAN_MOUNT = 1 ] || { skip linux_image_send "needs root for loop mounts"; finish; }
d=$W/linux m=$W/linux/m
mkdir -p "$m"
truncate -s 512M "$d/l.img" && mkfs.btrfs -q -f "$d/l.img" >/dev/null 2>&1 &&
	mount -o loop "$d/l.img" "$m" || { notok linux_image_made "mkfs or mount failed"; finish; }
(set -e; cd "$m"; btrfs -q subvolume create s; cd s
 mkdir d; head -c 200000 /dev/urandom >d/f; ln d/f hard
 setfattr -n user.x -v 1 d/f
 fallocate -l 1M pre; head -c 10000 /dev/urandom | dd of=pre conv=notrunc 2>/dev/null
 fallocate -n -o 1M -l 512K pre
 printf hello >inl; truncate -s 2M sparse
 head -c 5000 /dev/urandom | dd of=sparse bs=1 seek=1000000 conv=notrunc 2>/dev/null
 mkfifo fifo; mknod chr c 1 3; ln -s d/f sym
 python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
 touch late; mkdir z; mv late z/; touch -d @1600000000 z d pre
 cd ..; btrfs -q subvolume snapshot -r s snap
 btrfs send -q -f "$d/linux1.stream" snap) >"$d/make.log" 2>&1
rc=$?
umount "$m"
[ $rc = 0 ] || { say <"$d/make.log"; notok linux_image_made "Linux could not make the tree"; finish; }
for s in v1 v2; do truncate -s 64M "$d/$s.raw"; done
if ! ghee_run "$d/out" "$d/l.img" "$d/v1.raw" "$d/v2.raw" <<'CMDS'
mount vda ro
send -q -f vdb /snap
send -q --proto 2 -f vdc /snap
umount
CMDS
then
	notok linux_image_ghee_sends "ghee's send of Linux's snapshot failed"
	finish
fi
ok linux_image_ghee_sends
# The shape: Linux's commands in Linux's order (directories' times, sent
# once at the end by ghee, compared as a set).
btrfs receive --dump -f "$d/linux1.stream" >"$d/linux1.dump" 2>&1
dump "$d/v1.raw"
if cmp -s <(grep -v "^utimes" "$d/linux1.dump") <(grep -v "^utimes" "$d/v1.raw.dump") &&
   cmp -s <(grep "^utimes" "$d/linux1.dump" | sort) <(grep "^utimes" "$d/v1.raw.dump" | sort); then
	ok linux_image_v1_same_as_linux_send
else
	diff "$d/linux1.dump" "$d/v1.raw.dump" | head -n 10 | say
	notok linux_image_v1_same_as_linux_send "ghee's stream differs from Linux's"
fi
mount -o loop,ro,noatime "$d/l.img" "$m" || { notok linux_image_receive "cannot mount"; finish; }
for s in v1 v2; do
	if receive_cmp "$d/$s.raw" "$m" snap; then ok "linux_image_receive_$s"
	else notok "linux_image_receive_$s" "received tree differs or receive failed"; fi
done
umount "$m"
# v2 keeps the preallocated ranges: FALLOCATE in the stream, unwritten
# extents in the received file.
dump "$d/v2.raw"
r=$W/recv
mount -o loop "$W/recv.img" "$r" 2>/dev/null
if grep -q "^fallocate.*/pre " "$d/v2.raw.dump" && command -v filefrag >/dev/null &&
   filefrag -v "$r/snap/pre" | grep -q unwritten; then
	ok linux_image_v2_prealloc
else
	filefrag -v "$r/snap/pre" 2>&1 | tail -n 4 | say
	notok linux_image_v2_prealloc "no FALLOCATE or no unwritten extent received"
fi
umount "$r"
finish
