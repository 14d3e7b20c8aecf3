#!/bin/bash
# Interop tests of ghee's write path against btrfs-progs and Linux.
#
# For each seed and node size: model.py makes a seeded random sequence of
# operations, applied both to a model directory on the host and, through
# build/ghee, to a fresh image (mkfs in ghee); then umount and:
#   1. `btrfs check` prints no error;          2. ghee's fsck agrees;
#   3. a remount in ghee matches the model (compare.py);
#   4. as root, and only after 1 passed: Linux mounts the image (-o loop),
#      its view matches the model, `btrfs scrub start -B` finds no error,
#      a few Linux writes (done to the model too), umount;
#   5. `btrfs check` again, and ghee remounts it, matches the model, fsck
#      clean, writes, and the result checks clean once more.
# The same round, shorter, once for each other checksum type (mkfs
# --csum xxhash, sha256, blake2; CSUM_OPS operations), and once mounted
# with compress-force=zstd:1. And on the formats older mkfs made by
# default (OLD_OPS operations, then a full balance): without no-holes and
# without skinny metadata, each made by mkfs.btrfs, and both off made by
# ghee's mkfs.
# Then ENOSPC: a small image filled until writes fail with "no space";
# the failure is clean, deleting makes room for new writes, and the
# image checks clean.
#
# Output: KTAP, '#' comments; a failure names the seed. Scratch files live
# in build/interop-write/. GHEE=path overrides build/ghee; SEEDS and OPS
# override the seed list and the number of operations per run, CSUM_OPS
# that of the other checksum types' runs, OLD_OPS that of the old
# formats' runs; ROUNDS=old runs only the old formats' rounds.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
HERE=$ROOT/tests/interop
W=$ROOT/build/interop-write
PY=python3
SEEDS=${SEEDS:-"1 2 3"}
N=0
FAILED=0

. "$HERE/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

if ! command -v btrfs >/dev/null; then
	skip write "btrfs-progs not installed"
	finish
fi
if [ ! -x "$GHEE" ]; then
	notok write "host tool $GHEE not built (make host)"
	finish
fi
rm -rf "$W"
mkdir -p "$W"
CAN_MOUNT=0
if [ "$(id -u)" = 0 ] && grep -qw btrfs /proc/filesystems 2>/dev/null ||
   { [ "$(id -u)" = 0 ] && modprobe btrfs 2>/dev/null; }; then
	CAN_MOUNT=1
fi

# tree_levels IMG: root levels of the fs tree and the extent tree.
tree_levels() {
	local fs ex
	fs=$(btrfs inspect-internal dump-tree -t 5 "$1" 2>/dev/null | grep -m1 -oE "^(node|leaf) [0-9]+ level [0-9]+|^leaf [0-9]+" | grep -oE "level [0-9]+" || true)
	ex=$(btrfs inspect-internal dump-tree -t 2 "$1" 2>/dev/null | grep -m1 -oE "^node [0-9]+ level [0-9]+" | grep -oE "level [0-9]+" || true)
	echo "fs tree root ${fs:-level 0}, extent tree root ${ex:-level 0}"
}

# linux_round IMG MODEL SEED: Linux mounts, compares, scrubs, writes.
linux_round() {
	local img=$1 model=$2 seed=$3 mnt=$W/mnt rc=0
	mkdir -p "$mnt"
	if ! mount -o loop "$img" "$mnt" 2>"$W/mount.err"; then
		say <"$W/mount.err"
		return 1
	fi
	$PY "$HERE/model.py" compare "$mnt" "$model" || rc=1
	if ! btrfs scrub start -B "$mnt" >"$W/scrub.out" 2>&1 ||
	   grep -qiE "error(s)? *: *[1-9]|uncorrectable|csum_errors: *[1-9]" "$W/scrub.out"; then
		say <"$W/scrub.out"
		echo "# scrub found errors"
		rc=1
	else
		grep -iE "status|summary|no errors" "$W/scrub.out" | head -n 2 | say
	fi
	[ $rc = 0 ] && { $PY "$HERE/model.py" linux-writes "$mnt" "$model" "$seed" || rc=1; }
	umount "$mnt" || rc=1
	return $rc
}

# ghee_round IMG MODEL: ghee remounts a Linux-written image read-write,
# matches the model, fsck, writes, and still checks clean.
ghee_round() {
	local img=$1 model=$2
	$PY "$HERE/compare.py" "$GHEE" "$img" "$model" | say || return 1
	printf 'mount vda\nfsck\nmkdir /after_linux\nwrite /after_linux/f 0 300000 7\nsync\nfsck\numount\n' >"$W/round.sh"
	ghee_run "$W/round.out" "$img" <"$W/round.sh" || return 1
	grep "^fsck:" "$W/round.out" | say
	[ "$(grep -c "^fsck: .*: no errors$" "$W/round.out")" = 2 ] || return 1
	btrfs_check "$img"
}

# one SEED NODESIZE OPS [CSUM [MOUNT_OPTS [FEATURES MKFS]]]: the whole
# round for one seed. FEATURES (mkfs -O, e.g. ^no-holes) adds a full
# balance after the operations; MKFS says who makes the image: ghee or
# progs (mkfs.btrfs).
one() {
	local seed=$1 ns=$2 ops=$3 name="seed_${1}_nodesize_$(($2 / 1024))k"
	local csum=${4:-crc32c} mopts=${5:+ -o $5} feat=${6:-} maker=${7:-ghee}
	[ "$csum" = crc32c ] || name="${name}_$csum"
	[ -z "${5:-}" ] || name="${name}_$(echo "$5" | tr =: __)"
	[ -z "$feat" ] || name="${name}_$(echo "$feat" | tr -d ^ | tr ,- __)_by_$maker"
	local img=$W/$name.img model=$W/$name.model script=$W/$name.sh
	local t0=$SECONDS
	rm -rf "$model" "$img"
	truncate -s 1G "$img"
	if [ "$maker" = progs ]; then
		if ! mkfs.btrfs -q -f -n "$ns" --csum "$csum" -O "$feat" "$img" >"$W/$name.mkfs" 2>&1; then
			notok "$name" "mkfs.btrfs -O $feat failed: $(head -n1 "$W/$name.mkfs")"
			return
		fi
		echo "mount vda$mopts" >"$script"
	else
		{
			echo "mkfs vda --nodesize $ns --csum $csum${feat:+ -O $feat}"
			echo "mount vda$mopts"
		} >"$script"
	fi
	if ! $PY "$HERE/model.py" gen "$seed" "$ops" "$model" "$script.ops"; then
		notok "$name" "model.py gen failed (seed $seed)"
		return
	fi
	$PY "$HERE/model.py" times-script "$model" "$script.times"
	cat "$script.ops" "$script.times" >>"$script"
	[ -z "$feat" ] || echo "balance start --full-balance /" >>"$script"
	printf 'sync\nfsck\numount\n' >>"$script"
	if ! ghee_run "$W/$name.out" "$img" <"$script"; then
		notok "$name" "a ghee command failed (seed $seed, script $script)"
		return
	fi
	grep "^fsck:" "$W/$name.out" | say
	echo "# $(tree_levels "$img")"
	if ! btrfs_check "$img"; then
		notok "$name" "btrfs check found errors (seed $seed)"
		return
	fi
	if ! fsck_clean "$img"; then
		notok "$name" "ghee fsck disagrees with btrfs check (seed $seed)"
		return
	fi
	if ! $PY "$HERE/compare.py" "$GHEE" "$img" "$model" | say; then
		notok "$name" "ghee remount differs from the model (seed $seed)"
		return
	fi
	if [ $CAN_MOUNT = 1 ]; then
		if ! linux_round "$img" "$model" "$seed"; then
			notok "$name" "Linux mount, compare, scrub or writes failed (seed $seed)"
			return
		fi
		if ! btrfs_check "$img" || ! ghee_round "$img" "$model"; then
			notok "$name" "after Linux writes: check or ghee remount failed (seed $seed)"
			return
		fi
	else
		skip "$name" "ghee's rounds passed, but the Linux round needs root and the btrfs module"
		return
	fi
	ok "$name # $ops operations, $((SECONDS - t0)) s"
}

# enospc: fill a small image; the error is clean and the fs stays usable.
enospc() {
	local img=$W/enospc.img out=$W/enospc.out i
	rm -f "$img"
	truncate -s 160M "$img"
	{
		echo "mkfs vda --nodesize 4096"
		echo "mount vda"
		for i in $(seq 1 80); do echo "write /f$i 0 4M $i"; done
		echo "sync"
	} >"$W/enospc1.sh"
	"$GHEE" "$img" <"$W/enospc1.sh" >"$out" 2>&1
	local nospc
	nospc=$(grep -c "no space" "$out")
	grep -m1 "no space" "$out" | say
	if [ "$nospc" = 0 ] || grep -qE "aborted|read-only" "$out"; then
		grep -E "aborted|read-only|error" "$out" | head -n 5 | say
		notok enospc_fill "no clean ENOSPC ($nospc 'no space' errors)"
		return
	fi
	{
		echo "mount vda"
		for i in $(seq 1 30); do echo "rm /f$i"; done
		echo "sync"
		for i in $(seq 1 10); do echo "write /g$i 0 1M $((100 + i))"; done
		echo "sync"
		echo "fsck"
		echo "umount"
	} >"$W/enospc2.sh"
	if ! ghee_run "$W/enospc2.out" "$img" <"$W/enospc2.sh"; then
		notok enospc_fill "after ENOSPC: delete and write again failed"
		return
	fi
	grep "^fsck:" "$W/enospc2.out" | say
	if ! btrfs_check "$img"; then
		notok enospc_fill "btrfs check found errors after ENOSPC"
		return
	fi
	ok "enospc_fill # $nospc writes refused, then 30 deleted and 10 written"
}

if [ "${ROUNDS:-all}" = all ]; then
	for seed in $SEEDS; do
		one "$seed" 4096 "${OPS:-3000}"
		one "$seed" 16384 "${OPS:-3000}"
	done
	for csum in xxhash sha256 blake2; do
		one 4 16384 "${CSUM_OPS:-150}" "$csum"
	done
	# Every write tried compressed (the model's data does not compress,
	# so each piece of at most 128 KiB falls back to plain).
	one 5 16384 "${CSUM_OPS:-150}" crc32c compress-force=zstd:1
fi
one 6 16384 "${OLD_OPS:-600}" crc32c "" ^no-holes progs
one 7 16384 "${OLD_OPS:-600}" crc32c "" ^skinny-metadata progs
one 8 4096 "${OLD_OPS:-600}" crc32c "" ^skinny-metadata,^no-holes ghee
[ "${ROUNDS:-all}" = all ] && enospc
finish
