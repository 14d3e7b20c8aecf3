#!/bin/bash
# Interop tests of scrub (fs/scrub*.c, `scrub start`) against btrfs-progs
# and Linux, on images mkfs.btrfs made with a tree of files:
#   counts_match_linux: on a clean DUP/DUP image, mounted read-only by
#       both, ghee's `scrub start -B -r -R` and Linux's give the same
#       byte counts and no errors (extent counts are shown).
#   repair_dup: one copy of a metadata leaf and one copy of a data block
#       damaged: Linux's scrub (after btrfs check passed) and ghee's
#       find the same errors; on another copy of the damaged image
#       ghee repairs them all ("Corrected"), then
#       `btrfs check --check-data-csum` is clean and Linux's own scrub
#       of it finds nothing.
#   single_data_uncorrectable: damaged SINGLE data is uncorrectable, the
#       scrub fails, and the message names the file using it.
# Linux's parts need root and a btrfs module; without them they are
# skipped.
#
# Output: KTAP, '#' comments. Scratch files live in build/interop-scrub/.
# GHEE=path overrides build/ghee.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
C="python3 $ROOT/tests/interop/corrupt.py"
W=$ROOT/build/interop-scrub
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check

if ! command -v mkfs.btrfs >/dev/null || ! command -v btrfs >/dev/null; then
	skip scrub "btrfs-progs not installed"
	finish
fi
if [ ! -x "$GHEE" ]; then
	notok scrub "host tool $GHEE not built (make host)"
	finish
fi
rm -rf "$W"
mkdir -p "$W/tree/dir" "$W/mnt"
CAN_MOUNT=0
if [ "$(id -u)" = 0 ] && { grep -qw btrfs /proc/filesystems 2>/dev/null ||
			     modprobe btrfs 2>/dev/null; }; then
	CAN_MOUNT=1
fi
head -c 3000000 /dev/urandom >"$W/tree/dir/blob"
head -c 70000 /dev/urandom >"$W/tree/small"
for i in $(seq 1 300); do echo "$i" >"$W/tree/dir/f$i"; done

# mkimg IMG PROFILE: a 512 MiB image, metadata DUP, data PROFILE.
mkimg() {
	truncate -s 512M "$1" &&
		mkfs.btrfs -q -f -m dup -d "$2" --rootdir "$W/tree" "$1" \
			>/dev/null 2>&1
}

# raw FILE NAME: the value of "\tNAME: N" in a raw scrub report.
raw() { sed -n "s/^[[:space:]]*$2: \([0-9]*\)$/\1/p" "$1" | tail -n 1; }

# linux_scrub IMG OUT [ro]: Linux mounts IMG (read-only with ro) and
# scrubs it in the foreground (-B -R; -r when ro) into OUT.
linux_scrub() {
	local img=$1 out=$2 opt=() sopt=()
	[ "${3:-}" = ro ] && { opt=(-o ro); sopt=(-r); }
	mount -o loop "${opt[@]}" "$img" "$W/mnt" 2>"$W/mount.err" ||
		{ say <"$W/mount.err"; return 1; }
	btrfs scrub start -B -R "${sopt[@]}" "$W/mnt" >"$out" 2>&1
	local rc=$?
	umount "$W/mnt" || return 1
	return $rc
}

# ghee_scrub IMG OUT OPTIONS: ghee mounts IMG (ro: prefix for a read-only
# disk) and runs `scrub start -B OPTIONS /`; its status is returned.
ghee_scrub() {
	printf 'mount vda\nscrub start -B %s /\n' "$3" |
		timeout 600 "$GHEE" "$1" >"$2" 2>&1
}

FIELDS="data_bytes_scrubbed tree_bytes_scrubbed no_csum csum_errors
	verify_errors read_errors uncorrectable_errors"

# same_counts A B: the FIELDS of two raw reports agree (differences said).
same_counts() {
	local f ok=0
	for f in $FIELDS corrected_errors; do
		if [ "$(raw "$1" "$f")" != "$(raw "$2" "$f")" ]; then
			echo "# $f: ghee $(raw "$1" "$f"), Linux $(raw "$2" "$f")"
			ok=1
		fi
	done
	for f in data_extents_scrubbed tree_extents_scrubbed; do
		echo "# $f: ghee $(raw "$1" "$f"), Linux $(raw "$2" "$f")"
	done
	return $ok
}

counts_match_linux() {
	local name=counts_match_linux img=$W/clean.img
	mkimg "$img" dup || { notok $name "mkfs.btrfs failed"; return; }
	if ! ghee_scrub "ro:$img" "$W/$name.ghee" "-r -R"; then
		say <"$W/$name.ghee"
		notok $name "ghee's scrub failed"
		return
	fi
	if [ "$(raw "$W/$name.ghee" csum_errors)" != 0 ] ||
	   [ "$(raw "$W/$name.ghee" data_bytes_scrubbed)" -lt 6000000 ]; then
		say <"$W/$name.ghee"
		notok $name "ghee's counts are wrong"
		return
	fi
	if [ $CAN_MOUNT = 0 ]; then
		skip $name "needs root and Linux's btrfs"
		return
	fi
	btrfs_check "$img" || { notok $name "btrfs check failed"; return; }
	if ! linux_scrub "$img" "$W/$name.linux" ro; then
		say <"$W/$name.linux"
		notok $name "Linux's scrub failed"
		return
	fi
	if same_counts "$W/$name.ghee" "$W/$name.linux"; then
		ok $name
	else
		notok $name "counts differ from Linux's"
	fi
}

# damage IMG: flip a byte in the first copy of a middle fs-tree leaf and
# in the second copy of the first data extent.
damage() {
	local leaf data
	leaf=$($C block "$1" fs leaf) && data=$($C data "$1") &&
		$C flip "$1" $(($($C phys "$1" "$leaf" | head -n 1) + 2000)) \
			$(($($C phys "$1" "$data" | tail -n 1) + 100))
}

repair_dup() {
	local name=repair_dup img=$W/repair.img
	mkimg "$img" dup && damage "$img" ||
		{ notok $name "making the damaged image failed"; return; }
	cp "$img" "$W/linux.img"
	if ! ghee_scrub "$img" "$W/$name.ghee" "-R"; then
		say <"$W/$name.ghee"
		notok $name "ghee's scrub failed"
		return
	fi
	say <"$W/$name.ghee"
	if [ "$(raw "$W/$name.ghee" corrected_errors)" != 5 ] ||
	   [ "$(raw "$W/$name.ghee" uncorrectable_errors)" != 0 ]; then
		notok $name "want 5 corrected (4 sectors of a 16 KiB leaf, 1 of data)"
		return
	fi
	btrfs_check "$img" --check-data-csum ||
		{ notok $name "btrfs check --check-data-csum after the repair"; return; }
	if ! ghee_scrub "ro:$img" "$W/$name.again" "-r -R" ||
	   [ "$(raw "$W/$name.again" csum_errors)" != 0 ]; then
		say <"$W/$name.again"
		notok $name "ghee's second scrub found errors"
		return
	fi
	if [ $CAN_MOUNT = 0 ]; then
		skip $name "Linux's part needs root and Linux's btrfs"
		return
	fi
	if ! linux_scrub "$img" "$W/$name.after" ||
	   [ "$(raw "$W/$name.after" csum_errors)" != 0 ]; then
		say <"$W/$name.after"
		notok $name "Linux's scrub found errors after ghee's repair"
		return
	fi
	# the same damage, scrubbed by Linux: the same errors found
	btrfs_check "$W/linux.img" ||
		{ notok $name "btrfs check of the damaged image"; return; }
	linux_scrub "$W/linux.img" "$W/$name.linux"
	if same_counts "$W/$name.ghee" "$W/$name.linux"; then
		ok $name
	else
		notok $name "counts differ from Linux's on the same damage"
	fi
}

single_data_uncorrectable() {
	local name=single_data_uncorrectable img=$W/single.img data
	mkimg "$img" single && data=$($C data "$img") &&
		$C flip "$img" $(($($C phys "$img" "$data" | head -n 1) + 100)) ||
		{ notok $name "making the damaged image failed"; return; }
	ghee_scrub "$img" "$W/$name.ghee" "-R"
	if [ "$(raw "$W/$name.ghee" uncorrectable_errors)" != 1 ] ||
	   ! grep -q "checksum error at logical $data .*(path: " "$W/$name.ghee" ||
	   ! grep -q "ERROR: there are uncorrectable errors" "$W/$name.ghee"; then
		say <"$W/$name.ghee"
		notok $name "want 1 uncorrectable error naming its file"
		return
	fi
	grep "path: " "$W/$name.ghee" | say
	ok $name
}

counts_match_linux
repair_dup
single_data_uncorrectable
finish
