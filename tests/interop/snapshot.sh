#!/bin/bash
# Interop: subvolumes and snapshots made by ghee (host tool) against
# btrfs-progs and the host kernel's btrfs.
#   1. ghee makes subvolumes, nested ones, writable and read-only
#      snapshots, snapshots of snapshots and of the top level, with
#      changes on both sides after each; `btrfs check` and ghee's fsck
#      find the image clean;
#   2. as root, and only after 1 passed: Linux mounts it (-o loop) and
#      lists the same subvolumes (ids, parents, read-only flags, uuids,
#      parent uuids), the same paths and the same file contents;
#      `btrfs scrub` is clean;
#   3. Linux writes into ghee-made subvolumes and writable snapshots and
#      deletes a snapshot; `btrfs check` and a ghee remount (fsck, reads)
#      are still clean.
# Output: KTAP and '#' lines. Scratch files in build/interop-snapshot/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-snapshot
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

command -v btrfs >/dev/null || { skip snapshot "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok snapshot "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/snap.img
truncate -s 512M "$img"

# ghee SCRIPT...: run commands on the image; print the output.
ghee() { printf '%s\n' "mount vda" "$@" "umount" | timeout 120 "$GHEE" "$img" 2>&1; }

# 1. Build. mkfiles makes enough files that the trees have several
# levels, so the snapshots share nodes and leaves, not only a root leaf.
out=$(printf '%s\n' "mkfs vda" | "$GHEE" "$img" 2>&1)
out=$(ghee "mkdir /d" "write /d/f 0 100000 1" "subvolume create /sv" \
	"mkfiles /sv/m 20 100 3000 5" "write /sv/a 0 200000 2" \
	"subvolume create /sv/nested" "write /sv/nested/n 0 3000 3" \
	"subvolume snapshot /sv /snap" "subvolume snapshot -r /sv /rosnap" \
	"write /snap/a 4096 8192 9" "write /sv/a 0 10 7" "rm /sv/m/d00003/f00000307" \
	"mkfiles /snap/m2 5 50 1000 6" "subvolume snapshot /snap /sv/snap2" \
	"write /sv/snap2/a 100000 5000 11" "rm -r /snap/m/d00004" \
	"subvolume snapshot -r / /top" "property set /sv/snap2 ro true" \
	"write /d/f 50000 100 4" "sync")
if echo "$out" | grep -qE "errno|^error|^usage|aborted"; then
	echo "$out" | grep -E -B1 "errno|^error|^usage|aborted" | head -n 8 | say
	notok ghee_builds_snapshots "a command failed"
	finish
fi
ok ghee_builds_snapshots
if btrfs check "$img" >"$W/check1.txt" 2>&1; then
	ok btrfs_check_clean
else
	grep -iE "error|mismatch|wrong|missing" "$W/check1.txt" | head -n 10 | say
	notok btrfs_check_clean "btrfs check finds errors"
	finish
fi
out=$(ghee "fsck")
if echo "$out" | grep -q "^fsck: .*: no errors$"; then
	ok ghee_fsck_clean
else
	echo "$out" | grep -E "^error|^fsck" | head -n 10 | say
	notok ghee_fsck_clean "ghee's fsck finds errors"
fi

# 2. Linux's view.
if [ "$(id -u)" != 0 ] || ! mount -o loop "$img" "$W/mnt" 2>"$W/mount.err"; then
	skip linux_same_subvolumes "no loop mount (needs root)"
	finish
fi
m=$W/mnt
strip_gen() { grep "^ID " | sed 's/ gen [0-9]* / /' | sort; }
linux=$(btrfs subvolume list -p -u -q "$m" | strip_gen)
mine=$(ghee "subvolume list -p -u -q /" | strip_gen)
lro=$(btrfs subvolume list -r "$m" | awk '{print $2}' | sort | tr '\n' ' ')
gro=$(ghee "subvolume list -r /" | grep "^ID " | awk '{print $2}' | sort | tr '\n' ' ')
if [ -n "$linux" ] && [ "$linux" = "$mine" ] && [ "$lro" = "$gro" ]; then
	ok linux_same_subvolumes
else
	diff <(echo "$linux") <(echo "$mine") | head -n 10 | say
	echo "read-only: linux $lro ghee $gro" | say
	notok linux_same_subvolumes "subvolume lists differ"
fi
# subvolume show prints what btrfs-progs prints, field for field.
bad=""
for sv in sv snap rosnap sv/snap2 top sv/nested; do
	btrfs subvolume show "$m/$sv" >"$W/show-linux.txt" 2>&1
	ghee "subvolume show /$sv" | sed -n '/^ghee> subvolume show/,/^ghee> /p' |
		grep -v "^ghee> " >"$W/show-ghee.txt"
	grep -q "^	Receive time:" "$W/show-linux.txt" &&
		cmp -s "$W/show-linux.txt" "$W/show-ghee.txt" || {
		bad="$bad $sv"
		diff "$W/show-linux.txt" "$W/show-ghee.txt" | head -n 6 | say
	}
done
if [ -z "$bad" ]; then
	ok linux_same_subvolume_show
else
	notok linux_same_subvolume_show "subvolume show differs for:$bad"
fi
# Linux itself (not only its tree search) holds them read-only: its
# ioctl answers ro=true and a write inside fails.
bad=""
for sv in rosnap top sv/snap2; do
	if [ "$(btrfs property get "$m/$sv" ro 2>&1)" != "ro=true" ] ||
	   touch "$m/$sv/new-file" 2>/dev/null; then
		bad="$bad $sv: $(btrfs property get "$m/$sv" ro 2>&1)"
	fi
done
if [ -z "$bad" ]; then
	ok linux_enforces_read_only
else
	echo "writable in Linux:$bad" | say
	notok linux_enforces_read_only "Linux lets read-only snapshots change"
fi
(cd "$m" && find . | sed 's#^\.##' | grep . | sort) >"$W/linux-paths.txt"
ghee "find /" | grep "^/" | grep -v "^/$" | sort >"$W/ghee-paths.txt"
(cd "$m" && find . -type f | sort | xargs sha256sum | sed 's#  \./#  #') >"$W/linux-sums.txt"
# sha256sum in batches of 20 files (the shell's line has a limit).
(cd "$m" && find . -type f | sort | sed 's#^\.##') |
	xargs -n 20 echo sha256sum >"$W/sums.cmds"
mapfile -t cmds <"$W/sums.cmds"
ghee "${cmds[@]}" | grep -E '^[0-9a-f]{64}  /' | sed 's#  /#  #' >"$W/ghee-sums.txt"
if cmp -s "$W/linux-paths.txt" "$W/ghee-paths.txt" &&
   cmp -s "$W/linux-sums.txt" "$W/ghee-sums.txt" && [ -s "$W/linux-sums.txt" ]; then
	ok linux_same_contents
else
	diff "$W/linux-paths.txt" "$W/ghee-paths.txt" | head -n 6 | say
	diff "$W/linux-sums.txt" "$W/ghee-sums.txt" | head -n 6 | say
	notok linux_same_contents "paths or contents differ"
fi
if btrfs scrub start -B "$m" >"$W/scrub.txt" 2>&1 && grep -q "no errors found\|Error summary: *no errors" "$W/scrub.txt"; then
	ok linux_scrub_clean
else
	head -n 10 "$W/scrub.txt" | say
	notok linux_scrub_clean "scrub reports errors"
fi

# 3. Linux changes ghee's subvolumes and deletes a snapshot.
head -c 300000 /dev/urandom >"$m/sv/linux.bin"
head -c 100000 /dev/urandom >"$m/snap/linux.bin"
cp "$m/sv/a" "$m/snap/a.copy"
rm -rf "$m/sv/m/d00001"
btrfs -q subvolume delete "$m/top" >/dev/null
(cd "$m" && sha256sum sv/linux.bin snap/linux.bin snap/a.copy) >"$W/linux-new.txt"
umount "$m"
if btrfs check "$img" >"$W/check2.txt" 2>&1; then
	ok btrfs_check_after_linux
else
	grep -iE "error|mismatch|wrong|missing" "$W/check2.txt" | head -n 10 | say
	notok btrfs_check_after_linux "btrfs check finds errors after Linux's changes"
fi
out=$(ghee "sha256sum /sv/linux.bin /snap/linux.bin /snap/a.copy" "fsck" \
	"write /snap/after 0 5000 12" "subvolume snapshot /sv /snap3")
got=$(echo "$out" | grep -E '^[0-9a-f]{64}  /' | sed 's#  /#  #')
if [ "$got" = "$(cat "$W/linux-new.txt")" ] && echo "$out" | grep -q "^fsck: .*: no errors$" &&
   ! echo "$out" | grep -qE "errno|aborted" && btrfs check "$img" >"$W/check3.txt" 2>&1; then
	ok ghee_after_linux_clean
else
	echo "$out" | grep -E "errno|^error|^fsck|aborted" | head -n 10 | say
	notok ghee_after_linux_clean "ghee's reads, fsck, writes or the last btrfs check failed"
fi
finish
