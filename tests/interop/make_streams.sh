#!/bin/bash
# Make send streams with the host's btrfs for receive's tests:
#   make_streams.sh DIR
# makes DIR/src.img, mounts it on DIR/src (left mounted: the caller
# compares with the snapshots in DIR/src/snaps and unmounts), and from a
# subvolume with every inode kind, hard links, xattrs, holes, owners and
# times, a chain of read-only snapshots with renames, moves, a directory
# moved into its former sibling, two names swapped, hard links added and
# removed, xattrs changed, a file replaced by a directory, reflinked
# copies, writes the streams:
#   cs.stream  full send of snaps/cs (another subvolume: a clone source)
#   s0.stream  full send of snaps/s0
#   s1..s3.stream  incremental sends (-p the one before; s2 with -c cs)
#   v2.stream  full send of snaps/s3 in protocol version 2
#   e0.stream  full send of e0: a symlink "up" -> ".." and a file "f"
#   h1.stream, h2.stream  version 2, of hsnaps/h1 and (incremental) h2:
#              holes punched, ranges preallocated, with and without
#              keeping the size
# Needs root (loop mount). Exits nonzero when a step fails.
set -e -u -o pipefail
W=$(realpath "$1")
S=$W/src
mkdir -p "$S"
truncate -s 512M "$W/src.img"
mkfs.btrfs -q -f "$W/src.img" >/dev/null
mount -o loop "$W/src.img" "$S"
# snap NAME [SEND OPTIONS]: a read-only snapshot of data, sent to NAME.stream.
snap() {
	local n=$1
	shift
	btrfs subvolume snapshot -r "$S/data" "$S/snaps/$n" >/dev/null
	btrfs send -q "$@" -f "$W/$n.stream" "$S/snaps/$n"
}

btrfs subvolume create "$S/data" >/dev/null
btrfs subvolume create "$S/other" >/dev/null
btrfs subvolume create "$S/esc" >/dev/null
btrfs subvolume create "$S/holes" >/dev/null
mkdir "$S/snaps" "$S/hsnaps"
cd "$S/data"
mkdir -p a/b c "name with space"; echo hello > a/f; echo world > c/g
head -c 300000 /dev/urandom > big; ln a/f hard; ln a/f c/hard2
ln -s a/f sym; ln -s /nowhere dangling; mkfifo fifo
mknod cdev c 1 3; mknod bdev b 8 1
python3 -c "import socket; socket.socket(socket.AF_UNIX).bind('sock')"
setfattr -n user.x -v "val ue" a/f; setfattr -n user.empty a/b
setfattr -n trusted.t -v 0x00ff00 big
truncate -s 1M sparse; printf x | dd of=sparse bs=1 seek=500000 conv=notrunc 2>/dev/null
truncate -s 2M tailhole; printf y > tailhole.tmp; mv tailhole.tmp y
chown 1000:2000 a/f; chown -h 7:8 sym; chmod 741 big; chmod 1777 c
touch -d "2001-02-03 04:05:06.123456789" c/g; touch -h -d "1999-01-01" sym
cd "$S/other"; head -c 200000 /dev/urandom > src
cd "$S"
btrfs subvolume snapshot -r other snaps/cs >/dev/null
btrfs send -q -f "$W/cs.stream" snaps/cs
snap s0
cd "$S/data"
mv a/f a/b/moved; mv c a/b/c; mv a/b/c/g g2; rm hard
ln big bighard; setfattr -x user.x a/b/moved; setfattr -n user.y -v 2 y
mv y tmp; mv g2 y; mv tmp g2
echo more >> big; truncate -s 100000 sparse; chmod 600 a/b/moved
snap s1 -p "$S/snaps/s0"
cd "$S/data"
cp --reflink=always big bigclone; cp --reflink=always "$S/snaps/cs/src" fromcs
printf 'zz' | dd of=fromcs bs=1 seek=4096 conv=notrunc 2>/dev/null
rm -r "name with space"; rm sparse; mkdir sparse; echo in > sparse/x
snap s2 -p "$S/snaps/s1" -c "$S/snaps/cs"
cd "$S/data"
mv a top; mv top/b/c top/c2; rm bighard; ln -s top/c2 link2
mknod newfifo p; truncate -s 5000000 tailhole; chown -R 5:6 top
snap s3 -p "$S/snaps/s2"
btrfs send -q --proto 2 -f "$W/v2.stream" "$S/snaps/s3"
cd "$S/esc"; ln -s .. up; echo x > f
btrfs subvolume snapshot -r "$S/esc" "$S/e0" >/dev/null
btrfs send -q -f "$W/e0.stream" "$S/e0"
cd "$S/holes"
head -c 1000000 /dev/urandom > f; fallocate -l 1M pre; head -c 70000 /dev/urandom > g
btrfs subvolume snapshot -r "$S/holes" "$S/hsnaps/h1" >/dev/null
btrfs send -q --proto 2 -f "$W/h1.stream" "$S/hsnaps/h1"
fallocate -p -o 100000 -l 300000 f; fallocate -o 2M -l 1M f; fallocate -n -o 4M -l 1M f
fallocate -p -o 5000 -l 10000 g; fallocate -p -o 65536 -l 100000 g
btrfs subvolume snapshot -r "$S/holes" "$S/hsnaps/h2" >/dev/null
btrfs send -q --proto 2 -p "$S/hsnaps/h1" -f "$W/h2.stream" "$S/hsnaps/h2"
