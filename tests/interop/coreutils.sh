#!/bin/bash
# Interop: ghee's coreutils-like commands against coreutils on Linux. The
# same script of mkdir -p, truncate (-s, -c), touch, rm (-f, -r), rmdir
# and ls -a runs in ghee (host tool) on one fresh image and in bash on a
# loop mount of another; the two images must then hold the same tree
# (names, kinds, sizes, as Linux lists them), the same commands must
# fail, with ghee's image passing `btrfs check`, and `ls -a` of an empty
# directory must print the same names.
# Output: KTAP and '#' lines, the plan last. Scratch in build/interop-coreutils/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-coreutils
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check

command -v btrfs >/dev/null || { skip coreutils "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok coreutils "host tool $GHEE not built"; finish; }
[ "$(id -u)" = 0 ] || { skip coreutils "needs root for a loop mount"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
truncate -s 256M "$W/ghee.img" "$W/linux.img"
mkfs.btrfs -q -f "$W/ghee.img" >/dev/null && mkfs.btrfs -q -f "$W/linux.img" >/dev/null ||
	{ notok mkfs "mkfs.btrfs failed"; finish; }

# The script: one command a line, paths from the filesystem's top; the
# lines that must fail are marked by a trailing "# fails".
SCRIPT='mkdir -p /x/y/z
mkdir /d
touch /d/f
truncate -s 1M /t
truncate -c -s 5 /u
truncate -s 7 /t
truncate -s 3000 /x/y/z/g
rmdir /d # fails
rm /d/f
rmdir /d
rm /nonexist # fails
rm -f /nonexist
mkdir /e
ls -a /e
rm -rf /x/y
rmdir /x
touch /x/y # fails'

# ghee: the lines as they are; a failed command prints an error.
printf '%s\n' "mount vda" "$(echo "$SCRIPT" | sed 's/ # fails$//')" "umount" |
	"$GHEE" "$W/ghee.img" >"$W/ghee.out" 2>&1
# Linux: each line in bash inside the mount, a status line after it.
mount -o loop "$W/linux.img" "$W/mnt" || { notok linux_mount "mount failed"; finish; }
echo "$SCRIPT" | sed 's/ # fails$//' | while read -r line; do
	# shellcheck disable=SC2086
	set -- $line
	cmd=$1; shift
	(cd "$W/mnt" && "$cmd" "${@/#\//}" >>"$W/linux.out" 2>&1)
	echo "status $?" >>"$W/linux.out"
done
(cd "$W/mnt" && find . -printf '%p %y %s\n' | sort) >"$W/linux.tree"
umount "$W/mnt"

# The same commands failed: Linux's non-zero statuses, ghee's error lines.
want=$(echo "$SCRIPT" | grep -c ' # fails$')
lfail=$(grep -c '^status [1-9]' "$W/linux.out")
gfail=$(grep -cE 'errno|^usage' "$W/ghee.out")
if [ "$lfail" = "$want" ] && [ "$gfail" = "$want" ]; then
	ok same_commands_fail
else
	grep -E 'errno|^usage' "$W/ghee.out" | say
	notok same_commands_fail "failed: want $want, Linux $lfail, ghee $gfail"
fi
if btrfs_check "$W/ghee.img"; then
	ok btrfs_check_clean
else
	notok btrfs_check_clean "btrfs check failed"
	finish
fi
mount -o loop,ro "$W/ghee.img" "$W/mnt" || { notok ghee_image_mount "mount failed"; finish; }
(cd "$W/mnt" && find . -printf '%p %y %s\n' | sort) >"$W/ghee.tree"
umount "$W/mnt"
# directories' sizes are btrfs's (name bytes twice): the same scripts
# give the same figures on both
if [ -s "$W/linux.tree" ] && diff "$W/linux.tree" "$W/ghee.tree" >"$W/diff.tree"; then
	ok same_tree
else
	head -n 12 "$W/diff.tree" | say
	notok same_tree "the trees differ (build/interop-coreutils/diff.tree)"
fi
if [ "$(ghee_said "$W/ghee.out" "ls -a /e" | tr '\n' ' ')" = ". .. " ]; then
	ok ls_a_dots
else
	ghee_said "$W/ghee.out" "ls -a /e" | say
	notok ls_a_dots "ls -a of an empty directory is not '.' and '..'"
fi
finish
