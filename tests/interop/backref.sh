#!/bin/bash
# Interop: ghee's `inspect-internal logical-resolve` (the back-reference
# walker, fs/backref.c) against btrfs-progs' on Linux, on one image.
#   1. ghee makes files with split extents, a subvolume with enough files
#      for a tree of several levels, snapshots whose owner and whose
#      copies then change (shared refs), a snapshot of a snapshot; then
#      `btrfs check` must pass (nothing is mounted otherwise);
#   2. ghee resolves every data extent (its start and its middle, -P and
#      -o -P, and to paths);
#   3. as root: the image is loop mounted and `btrfs inspect-internal
#      logical-resolve` must print the same lines (sorted: the order of
#      Linux's walk is not a contract), paths with the mount point
#      replaced by ghee's "/". btrfs-progs 6.2 prints no path for a file
#      of another subvolume ("inode I subvol S could not be accessed: not
#      mounted", even with that subvolume mounted on its own here), where
#      ghee, which reaches every subvolume below the top level, prints
#      /S/...: both are compared as "subvol S".
# Output: KTAP and '#' lines, the plan last. Scratch in build/interop-backref/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-backref
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

command -v btrfs >/dev/null || { skip backref "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok backref "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/backref.img
truncate -s 512M "$img"

ghee() { printf '%s\n' "mount vda" "$@" "umount" | timeout 300 "$GHEE" "$img" 2>&1; }

# 1. Build.
out=$(printf '%s\n' "mkfs vda --nodesize 4096" | "$GHEE" "$img" 2>&1)
out=$(ghee "mkdir /d" "write /d/a 0 300000 1" "write /d/b 0 20000 2" \
	"sync" "write /d/a 100000 4096 3" "subvolume create /sv" \
	"mkfiles /sv/m 10 120 3000 5" "write /sv/big 0 200000 6" \
	"sync" "subvolume snapshot /sv /snap" "write /sv/big 8192 4096 7" \
	"write /sv/m/d00002/f00000250 0 3000 8" "write /snap/big 65536 4096 9" \
	"subvolume snapshot -r /snap /sv/snap2" "write /snap/m/d00005/f00000600 0 3000 10" \
	"subvolume snapshot / /top" "write /d/a 0 4096 11" \
	"mkdir /d/e" "ln /d/b /d/e/b2" "ln /d/b /d/b3" "sync")
if echo "$out" | grep -qE "errno|^error|^usage|aborted|ERROR"; then
	echo "$out" | grep -E -B1 "errno|^error|^usage|aborted|ERROR" | head -n 8 | say
	notok ghee_builds_image "a command failed"
	finish
fi
ok ghee_builds_image
if btrfs check "$img" >"$W/check.txt" 2>&1; then
	ok btrfs_check_clean
else
	grep -iE "error|mismatch|wrong|missing" "$W/check.txt" | head -n 10 | say
	notok btrfs_check_clean "btrfs check finds errors"
	finish
fi

# 2. ghee's answers for every data extent: "BYTENR LEN" per line.
ghee "inspect-internal dump-tree -t extent" | awk '/key \([0-9]+ EXTENT_ITEM [0-9]+\)/ {
	gsub(/[()]/, ""); b = $4; l = $6; getline;
	if ($0 ~ /flags DATA/) print b, l }' >"$W/extents.txt"
n=$(wc -l <"$W/extents.txt")
if [ "$n" -lt 20 ]; then
	notok ghee_lists_extents "only $n data extents in the image"
	finish
fi
ok ghee_lists_extents
# Queries: address and options, one per line; every extent's start, and
# for one in eight its middle, all its items, and paths.
i=0
while read -r b l; do
	echo "-P $b"
	if [ $((i % 8)) -eq 0 ]; then
		echo "-P $((b + l / 2))"; echo "-o -P $b"; echo "$b"
	fi
	i=$((i + 1))
done <"$W/extents.txt" >"$W/queries.txt"
# inode-resolve of the top level's first inodes (/d, /d/a, /d/b with two
# more names), as queries of their own.
printf 'inode-resolve %s\n' 257 258 259 >>"$W/queries.txt"
# ghee's output per query, separated by "== QUERY" lines.
{
	echo "mount vda"
	while read -r q; do
		echo "echo == $q"
		case $q in
		inode-resolve*) echo "inspect-internal $q /" ;;
		*) echo "inspect-internal logical-resolve $q /" ;;
		esac
	done <"$W/queries.txt"
	echo "umount"
} | timeout 600 "$GHEE" "$img" 2>&1 |
	grep -v "^ghee> \|^mounted \|^unmounted" |
	sed 's|^//|/|' >"$W/ghee.txt"
if grep -q "ERROR" "$W/ghee.txt"; then
	grep -B1 "ERROR" "$W/ghee.txt" | head -n 6 | say
	notok ghee_resolves_every_extent "an extent did not resolve"
else
	ok ghee_resolves_every_extent
fi

# 3. Linux's answers.
if [ "$(id -u)" != 0 ]; then
	skip linux_same_answers "no loop mount (needs root)"
	finish
fi
dev=$(losetup -f --show "$img") || { skip linux_same_answers "no loop device"; finish; }
m=$W/mnt
if ! mount "$dev" "$m"; then
	losetup -d "$dev"
	notok linux_same_answers "Linux does not mount the image"
	finish
fi
subvols=$(btrfs subvolume list "$m" | awk '{ print $NF }' | awk '{ print length, $0 }' |
	  sort -rn | cut -d' ' -f2)
while read -r q; do
	echo "== $q"
	case $q in
	inode-resolve*) btrfs inspect-internal $q "$m" 2>&1 ;;
	*) btrfs inspect-internal logical-resolve $q "$m" 2>&1 ;;
	esac
done <"$W/queries.txt" | sed "s|^$m/|/|; s|^$m\$|/|" >"$W/linux.txt"
umount "$m"
losetup -d "$dev"
# A path in another subvolume (longest subvolume paths first) and
# btrfs-progs' line for it both become "subvol S".
for s in $subvols; do
	sed -i "s|^/$s/.*|subvol $s|" "$W/ghee.txt"
done
sed -i 's|^inode [0-9]* subvol \(.*\) could not be accessed: not mounted$|subvol \1|' "$W/linux.txt"
# Compare per query, lines sorted.
sorted() { awk '/^== / { q = $0; next } { print q " | " $0 }' "$1" | sort; }
if diff <(sorted "$W/ghee.txt") <(sorted "$W/linux.txt") >"$W/diff.txt"; then
	ok linux_same_answers
	echo "# $n extents, $(wc -l <"$W/queries.txt") queries, $(grep -vc '^== ' "$W/linux.txt") lines agree"
	if cmp -s "$W/ghee.txt" "$W/linux.txt"; then
		echo "# the order of lines agrees too"
	else
		echo "# the order of lines differs in $(diff "$W/ghee.txt" "$W/linux.txt" | grep -c '^<') lines"
	fi
else
	head -n 12 "$W/diff.txt" | say
	notok linux_same_answers "ghee and btrfs-progs differ (< ghee, > linux)"
fi
finish
