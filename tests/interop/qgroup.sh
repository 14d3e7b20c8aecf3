#!/bin/bash
# Interop: quota groups made and counted by ghee (host tool) against
# btrfs-progs and the host kernel's btrfs.
#   1. ghee enables quotas, makes subvolumes, writes, overwrites, reflinks
#      within and across subvolumes, snapshots (nested, read-only),
#      higher-level groups (and -i on create and snapshot), deletes a snapshot and lets the cleaner drop
#      it; `btrfs check` is clean and `btrfs check --qgroup-report` finds
#      no quota group whose counts differ;
#   2. as root, and only after 1 passed: Linux mounts it read-write, runs
#      `btrfs quota rescan -w`, and `btrfs qgroup show --raw -pcre`
#      prints exactly what ghee printed;
#   3. Linux writes and snapshots with its own accounting; ghee mounts the
#      result read-write, keeps counting, and check finds no difference;
#   4. images made with quotas by others mount read-write and stay exact:
#      mkfs.btrfs -R quota, and one Linux left with its counts marked
#      inconsistent (a dropped snapshot taller than its threshold), which
#      ghee rescans at mount;
#   5. limits: Linux sets them and writes 2 MiB under a 1 MiB limit;
#      ghee, on the same image, enforces the limits Linux set (a referenced
#      and an exclusive one), stops the same write where Linux did, frees
#      at the limit; the counts stay exact, and Linux reads the limit ghee
#      set (`btrfs qgroup show -re`; step 2 compares ghee's limits too).
# Output: KTAP and '#' lines. Scratch files in build/interop-qgroup/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-qgroup
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

command -v btrfs >/dev/null || { skip qgroup "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok qgroup "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/qgroup.img
truncate -s 512M "$img"

# ghee SCRIPT...: run commands on the image; print the output.
ghee() { printf '%s\n' "mount vda" "$@" "umount" | timeout 300 "$GHEE" "$img" 2>&1; }
failed() { echo "$1" | grep -qE "errno|^error|^ERROR|^usage|aborted"; }
# check STEP: btrfs check clean, and no qgroup's counts differ.
check() {
	if ! btrfs check "$img" >"$W/check-$1.txt" 2>&1; then
		grep -iE "error|different|mismatch|wrong" "$W/check-$1.txt" | head -n 10 | say
		return 1
	fi
	btrfs check --qgroup-report "$img" >"$W/report-$1.txt" 2>&1 || return 1
	if grep -q "are different" "$W/report-$1.txt"; then
		grep -A3 "are different" "$W/report-$1.txt" | head -n 12 | say
		return 1
	fi
	grep -q "^Counts for qgroup id" "$W/report-$1.txt"
}

# 1. Build with 4 KiB nodes, so the trees are several levels tall.
mkfs.btrfs -q -f -n 4096 "$img" >/dev/null 2>&1 || { notok qgroup "mkfs.btrfs failed"; finish; }
ghee "quota enable /" "quota rescan -W /" "mkdir /d" "write /d/f 0 300000 1" \
	"subvolume create /sv" "mkfiles /sv/m 20 100 3000 5" \
	"write /sv/a 0 500000 2" "subvolume create /sv/nested" \
	"write /sv/nested/n 0 70000 3" "sync" \
	"subvolume snapshot /sv /snap" "subvolume snapshot -r /sv /rosnap" \
	"write /snap/a 4096 8192 9" "write /sv/a 100000 10 7" \
	"cp --reflink=always /sv/a /snap/a2" "cp --reflink=always /d/f /sv/f2" \
	"clone /sv/a 0 65536 /sv/a 262144" "rm -r /sv/m/d00004" \
	"subvolume snapshot /snap /sv/snap2" "write /sv/snap2/a 0 5000 11" \
	"subvolume create /gone" "mkfiles /gone/m 10 100 3000 6" "sync" \
	"subvolume snapshot /gone /gone2" "write /gone2/x 0 9000 8" \
	"qgroup create 1/1 /" "qgroup create 2/1 /" "qgroup assign 0/256 1/1 /" \
	"qgroup assign 0/257 1/1 /" "qgroup assign 1/1 2/1 /" \
	"subvolume create -i 1/1 /inh" "write /inh/x 0 40000 14" \
	"subvolume snapshot -r -i 1/1 /sv /snapi" \
	"qgroup limit 10M 0/256 /" "qgroup limit -e 5M 1/1 /" \
	"subvolume delete /gone" "subvolume sync /" "quota rescan -W /" "sync" \
	"qgroup show --raw -pcre /" >"$W/build.out"
out=$(tr -d '\0' <"$W/build.out")	# progs' table holds a NUL byte
if failed "$out"; then
	echo "$out" | grep -E -B1 "errno|^error|^ERROR|^usage|aborted" | head -n 8 | say
	notok ghee_builds_quota_groups "a command failed"
	finish
fi
ok ghee_builds_quota_groups
sed -n '/^Qgroupid/,/^ghee> umount/p' "$W/build.out" | grep -av "^ghee>" >"$W/ghee-show.txt"
if check 1; then
	ok btrfs_check_qgroups_clean
else
	notok btrfs_check_qgroups_clean "btrfs check finds errors or differences"
	finish
fi

printf '%s\n' "mount vda" "subvolume show /sv" "subvolume show -b /snapi" |
	"$GHEE" "ro:$img" >"$W/ghee-subvol-show.txt" 2>&1

# 2. Linux recounts and prints the same table.
if [ "$(id -u)" != 0 ] || ! mount -o loop "$img" "$W/mnt" 2>"$W/mount.err"; then
	skip linux_rescan_same_counts "no loop mount (needs root)"
	finish
fi
m=$W/mnt
# subvolume show with quotas on (a limit on /sv; raw units on /snapi):
# the same lines as btrfs-progs', the quota group's included.
{ btrfs subvolume show "$m/sv"; btrfs subvolume show -b "$m/snapi"; } \
	>"$W/linux-subvol-show.txt" 2>&1
grep -v -e "^ghee> " -e "^mounted " -e "^warning: " "$W/ghee-subvol-show.txt" \
	>"$W/ghee-subvol-show.n"
if grep -q "Limit referenced:	10.00MiB" "$W/linux-subvol-show.txt" &&
   cmp -s "$W/linux-subvol-show.txt" "$W/ghee-subvol-show.n"; then
	ok linux_same_subvolume_show_quota
else
	diff "$W/linux-subvol-show.txt" "$W/ghee-subvol-show.n" | head -n 12 | say
	notok linux_same_subvolume_show_quota "subvolume show differs from btrfs-progs'"
fi
btrfs qgroup show --raw -pcre "$m" >"$W/linux-before.txt" 2>&1
btrfs quota rescan -w "$m" >/dev/null 2>&1
btrfs qgroup show --raw -pcre "$m" >"$W/linux-show.txt" 2>&1
if [ -s "$W/linux-show.txt" ] && cmp -s "$W/linux-show.txt" "$W/ghee-show.txt" &&
   cmp -s "$W/linux-before.txt" "$W/linux-show.txt"; then
	ok linux_rescan_same_counts
else
	diff "$W/linux-show.txt" "$W/ghee-show.txt" | head -n 12 | say
	diff "$W/linux-before.txt" "$W/linux-show.txt" | head -n 6 | say
	notok linux_rescan_same_counts "Linux's table after its rescan differs from ghee's"
fi

# 3. Linux writes with its own accounting; ghee goes on from there.
head -c 300000 /dev/urandom >"$m/sv/linux.bin"
btrfs -q subvolume snapshot "$m/sv" "$m/lsnap" >/dev/null
head -c 100000 /dev/urandom >"$m/lsnap/linux2.bin"
umount "$m"
out=$(ghee "write /lsnap/after 0 50000 12" "subvolume snapshot /lsnap /snap3" \
	"write /sv/linux.bin 4096 4096 13" "rm /snap/a2" "sync")
if ! failed "$out" && check 3; then
	ok ghee_counts_after_linux
else
	echo "$out" | grep -E "errno|^error|^ERROR|aborted" | head -n 10 | say
	notok ghee_counts_after_linux "ghee failed, or btrfs check finds errors or differences"
fi

# 4. Others' images with quotas.
mkfs.btrfs -q -f -n 4096 -R quota "$img" >/dev/null 2>&1 || { notok mkfs_quota_image "mkfs.btrfs -R quota failed"; finish; }
out=$(ghee "write /f 0 300000 1" "subvolume create /sv" "write /sv/g 0 100000 2" \
	"subvolume snapshot /sv /s" "write /s/g 0 4096 3" "quota rescan -W /" "sync" | tr -d '\0')
if ! failed "$out" && echo "$out" | grep -q "read-write" && check 4; then
	ok mkfs_quota_image_read_write
else
	echo "$out" | grep -E "errno|^error|^ERROR|aborted|mounted" | head -n 10 | say
	notok mkfs_quota_image_read_write "not read-write, a command failed, or btrfs check finds differences"
fi
mkfs.btrfs -q -f -n 4096 "$img" >/dev/null 2>&1
if mount -o loop "$img" "$m" 2>>"$W/mount.err"; then
	# Linux gives up on a dropped subtree taller than its threshold
	# and marks the counts inconsistent: make it give up at once.
	btrfs -q quota enable "$m" && btrfs quota rescan -w "$m" >/dev/null
	uuid=$(btrfs filesystem show "$m" | awk '/uuid:/ { print $NF }')
	echo 0 >"/sys/fs/btrfs/$uuid/qgroups/drop_subtree_threshold" 2>/dev/null
	btrfs -q subvolume create "$m/sv" >/dev/null
	for i in $(seq 1 300); do echo "$i" >"$m/sv/f$i"; done
	head -c 500000 /dev/urandom >"$m/sv/big"
	btrfs -q subvolume snapshot "$m/sv" "$m/s" >/dev/null && sync
	btrfs -q subvolume delete "$m/s" >/dev/null
	btrfs subvolume sync "$m" >/dev/null
	umount "$m"
	btrfs inspect-internal dump-tree -t quota "$img" >"$W/linux-quota-tree.txt" 2>&1
	grep -q "flags ON|INCONSISTENT" "$W/linux-quota-tree.txt" && inconsistent=1 || inconsistent=0
	out=$(ghee "quota rescan -W /" "write /sv/g 0 8192 5" "sync" | tr -d '\0')
	if ! failed "$out" && check 5 && [ "$inconsistent" = 1 ]; then
		ok linux_inconsistent_image_rescanned
	else
		echo "$out" | grep -E "errno|^error|^ERROR|aborted" | head -n 10 | say
		btrfs inspect-internal dump-tree -t quota "$img" | grep -A2 QGROUP_STATUS | say
		notok linux_inconsistent_image_rescanned "Linux did not leave it inconsistent, ghee failed, or btrfs check finds differences"
	fi
else
	skip linux_inconsistent_image_rescanned "no loop mount"
fi
# 5. Limits Linux set, enforced by ghee where Linux enforces them.
mkfs.btrfs -q -f "$img" >/dev/null 2>&1
if mount -o loop "$img" "$m" 2>>"$W/mount.err"; then
	btrfs -q quota enable "$m"
	for s in la ga ge; do btrfs -q subvolume create "$m/$s" >/dev/null; done
	btrfs qgroup limit 1M "$m/la" && btrfs qgroup limit 1M "$m/ga" &&
		btrfs qgroup limit -e 512K "$m/ge"
	sync
	dd if=/dev/urandom of="$m/la/f" bs=2M count=1 2>/dev/null
	lsize=$(stat -c %s "$m/la/f")
	umount "$m"
	out=$(ghee "write /ga/f 0 2097152 1" "stat /ga/f" "write /ge/f 0 2097152 2" \
		"rm /ga/f" "sync" "write /ga/g 0 4096 3" "qgroup limit 600K 0/258 /" \
		"sync" | tr -d '\0')
	gsize=$(echo "$out" | sed -n 's/^ *Size: \([0-9]*\).*/\1/p')
	nq=$(echo "$out" | grep -c "disk quota exceeded")
	lim=
	if mount -o loop "$img" "$m" 2>>"$W/mount.err"; then
		lim=$(btrfs qgroup show -re --raw "$m" | awk '$1 == "0/258" { print $4 " " $5 }')
		umount "$m"
	fi
	if [ "$nq" = 2 ] && [ "$gsize" = "$lsize" ] && [ "$lim" = "614400 524288" ] &&
	   check 6; then
		ok linux_limits_enforced_alike
	else
		echo "$out" | grep -E "errno|^error|^ERROR|aborted" | head -n 10 | say
		echo "Linux wrote $lsize bytes, ghee $gsize; $nq refusals; 0/258 limits '$lim'" | say
		notok linux_limits_enforced_alike "ghee's limits differ from Linux's"
	fi
else
	skip linux_limits_enforced_alike "no loop mount"
fi
finish
