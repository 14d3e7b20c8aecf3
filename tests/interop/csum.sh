#!/bin/bash
# Interop tests of btrfs's checksum types besides crc32c (xxhash, sha256,
# blake2; crc32c has these rounds in run.sh, linux_made.sh and write.sh)
# against btrfs-progs and Linux. For each type:
#   linux_T:   mkfs.btrfs --csum T --rootdir puts a tree in; as root,
#              Linux mounts it (-o loop) and writes a file; ghee mounts it
#              read-write, reads every file back (sha256sum against the
#              host's), imports and writes new files, fsck; then
#              `btrfs check --check-data-csum` passes and, only after it,
#              Linux mounts the image and reads every file back.
#   mkfs_T:    ghee's `mkfs --csum T` and writes pass
#              `btrfs check --check-data-csum`, dump-super names the type,
#              and Linux reads the data back.
#   corrupt_T: a flipped byte in a data block, and in both copies of a
#              leaf, of the linux_T image are found by ghee under that type
#              ("data checksum mismatch", "T checksum mismatch").
# The model-based random sequences run per type in write.sh.
#
# Output: KTAP, '#' comments. Scratch files live in build/interop-csum/.
# GHEE=path overrides build/ghee.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
C="python3 $ROOT/tests/interop/corrupt.py"
W=$ROOT/build/interop-csum
TYPES="xxhash sha256 blake2"
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

if ! command -v mkfs.btrfs >/dev/null || ! command -v btrfs >/dev/null; then
	for t in $TYPES; do skip "csum_$t" "btrfs-progs not installed"; done
	finish
fi
if [ ! -x "$GHEE" ]; then
	notok csum "host tool $GHEE not built (make host)"
	finish
fi
rm -rf "$W"
mkdir -p "$W/tree/dir" "$W/mnt"
CAN_MOUNT=0
if [ "$(id -u)" = 0 ] && { grep -qw btrfs /proc/filesystems 2>/dev/null ||
			     modprobe btrfs 2>/dev/null; }; then
	CAN_MOUNT=1
fi

# The tree mkfs.btrfs puts in, the file Linux writes, the one ghee imports.
echo hello >"$W/tree/hello.txt"
head -c 300000 /dev/urandom >"$W/tree/dir/blob"
head -c 70000 /dev/urandom >"$W/tree/dir/small"
head -c 1000000 /dev/urandom >"$W/linux_file"
head -c 500000 /dev/urandom >"$W/ghee_file"

# sums_match OUT: each "HASH  /PATH" line ghee printed for a file of the
# host tree equals the host's sha256sum of it; all of them are there.
sums_match() {
	local out=$1 f want n=0
	for f in hello.txt dir/blob dir/small; do
		want=$(sha256sum <"$W/tree/$f" | cut -d' ' -f1)
		grep -q "^$want  /$f\$" "$out" || { echo "# /$f: ghee's sha256sum differs" ; return 1; }
		n=$((n + 1))
	done
	[ $n = 3 ]
}

# linux_reads IMG FILE...: Linux mounts IMG read-only and each
# "HOSTFILE:PATH" pair holds the same bytes.
linux_reads() {
	local img=$1 pair rc=0
	shift
	mount -o loop,ro "$img" "$W/mnt" 2>"$W/mount.err" || { say <"$W/mount.err"; return 1; }
	for pair in "$@"; do
		cmp -s "${pair%%:*}" "$W/mnt/${pair#*:}" || { echo "# Linux reads ${pair#*:} differently"; rc=1; }
	done
	umount "$W/mnt" || rc=1
	return $rc
}

# linux_made T: the round trip on an image mkfs.btrfs and Linux wrote.
linux_made() {
	local t=$1 img=$W/linux_$1.img name=linux_$1
	truncate -s 300M "$img"
	if ! mkfs.btrfs -q --csum "$t" --rootdir "$W/tree" "$img" >"$W/mkfs.out" 2>&1; then
		say <"$W/mkfs.out"
		notok "$name" "mkfs.btrfs --csum $t failed"
		return
	fi
	if [ $CAN_MOUNT = 1 ]; then
		mount -o loop "$img" "$W/mnt" 2>"$W/mount.err" || { say <"$W/mount.err"; notok "$name" "Linux mount failed"; return; }
		cp "$W/linux_file" "$W/mnt/linux_file" && sync
		umount "$W/mnt" || { notok "$name" "Linux umount failed"; return; }
	fi
	{
		echo "mount vda"
		echo "sha256sum /hello.txt /dir/blob /dir/small"
		[ $CAN_MOUNT = 1 ] && echo "sha256sum /linux_file"
		echo "import $W/ghee_file /dir/ghee_file"
		echo "write /dir/pattern 0 2M 9"
		echo "rm /dir/small"
		echo "sync"
		echo "fsck"
		echo "umount"
	} >"$W/$name.sh"
	if ! ghee_run "$W/$name.out" "$img" <"$W/$name.sh"; then
		notok "$name" "a ghee command failed on the $t image"
		return
	fi
	if ! sums_match "$W/$name.out" ||
	   { [ $CAN_MOUNT = 1 ] && ! grep -q "^$(sha256sum <"$W/linux_file" | cut -d' ' -f1)  /linux_file\$" "$W/$name.out"; }; then
		notok "$name" "ghee read the $t image's files differently"
		return
	fi
	grep -q "^fsck: .*: no errors$" "$W/$name.out" || { notok "$name" "ghee's fsck found errors"; return; }
	if ! btrfs_check "$img" --check-data-csum; then
		notok "$name" "btrfs check --check-data-csum failed after ghee's writes ($t)"
		return
	fi
	if [ $CAN_MOUNT = 1 ]; then
		if ! linux_reads "$img" "$W/tree/hello.txt:hello.txt" "$W/tree/dir/blob:dir/blob" \
		     "$W/linux_file:linux_file" "$W/ghee_file:dir/ghee_file"; then
			notok "$name" "Linux read back the $t image differently"
			return
		fi
		ok "$name"
	else
		skip "$name" "ghee's reads and writes passed btrfs check; the Linux writes and read-back need root and the btrfs module"
	fi
}

# ghee_mkfs T: ghee's mkfs --csum T, checked by btrfs-progs and Linux.
ghee_mkfs() {
	local t=$1 img=$W/mkfs_$1.img name=mkfs_$1 want
	truncate -s 300M "$img"
	printf 'mkfs vda --csum %s\nmount vda\nmkdir /d\nimport %s /d/f\nwrite /d/p 0 3M 4\nsync\nfsck\numount\n' \
		"$t" "$W/ghee_file" >"$W/$name.sh"
	if ! ghee_run "$W/$name.out" "$img" <"$W/$name.sh"; then
		notok "$name" "ghee's mkfs --csum $t or its writes failed"
		return
	fi
	want=$t
	[ "$t" = xxhash ] && want=xxhash64
	if ! btrfs inspect-internal dump-super "$img" | grep -q "^csum_type.*($want)"; then
		notok "$name" "dump-super does not name $want"
		return
	fi
	if ! btrfs_check "$img" --check-data-csum; then
		notok "$name" "btrfs check --check-data-csum failed on ghee's $t filesystem"
		return
	fi
	if [ $CAN_MOUNT = 1 ]; then
		linux_reads "$img" "$W/ghee_file:d/f" || { notok "$name" "Linux read ghee's $t file differently"; return; }
		ok "$name"
	else
		skip "$name" "btrfs check passed; the Linux read-back needs root and the btrfs module"
	fi
}

# corrupt T: damage found under type T, in data and in a leaf.
corrupt() {
	local t=$1 src=$W/linux_$1.img img=$W/bad_$1.img name=corrupt_$1 data leaf name_t=$1
	[ "$t" = xxhash ] && name_t=xxhash64
	[ -f "$src" ] || { notok "$name" "no linux_$t image"; return; }
	cp "$src" "$img"
	data=$($C data "$img") && leaf=$($C block "$img" fs root) || { notok "$name" "corrupt.py found no data or leaf"; return; }
	$C flip "$img" $(($($C phys "$img" "$data" | head -n1) + 10))
	printf 'mount vda\nsha256sum /hello.txt /dir/blob /dir/ghee_file /dir/pattern\n' | "$GHEE" "ro:$img" >"$W/$name.data" 2>&1
	if ! grep -q "data checksum mismatch" "$W/$name.data"; then
		head -n 8 "$W/$name.data" | say
		notok "$name" "a flipped data byte went unnoticed under $t"
		return
	fi
	cp "$src" "$img"
	$C flip "$img" $(for p in $($C phys "$img" "$leaf"); do echo $((p + 1000)); done)
	printf 'mount vda\nls -R /\n' | "$GHEE" "ro:$img" >"$W/$name.leaf" 2>&1
	if ! grep -q "corrupt tree block $leaf .*$name_t checksum mismatch" "$W/$name.leaf"; then
		head -n 8 "$W/$name.leaf" | say
		notok "$name" "a flipped leaf byte went unnoticed under $t"
		return
	fi
	ok "$name"
}

for t in $TYPES; do
	linux_made "$t"
	ghee_mkfs "$t"
	corrupt "$t"
done
finish
