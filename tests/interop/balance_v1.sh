#!/bin/bash
# Interop of a data balance (fs/relocation.c) with an older Linux's free
# space cache (v1): Linux 6.1 in QEMU (../shared/tools/linux-btrfs) makes
# an image without the free space tree and mounts it with
# space_cache=v1, so its cache files live in the root tree, as file
# extent items naming extents in the data block groups. ghee balances
# every data group; then btrfs check and ghee's fsck must find it clean,
# every cache file item of the root tree must name a new address (a data
# batch finds them from their refs in tree 1: the back-reference walker
# follows data refs in subvolume trees only), and Linux must read every file as
# before, with no btrfs error. The host's kernel (6.18) writes no v1
# cache, hence the QEMU one.
#
# Output: KTAP and '#' lines. Without btrfs-progs, QEMU's Linux or the
# host tool every case is reported as skipped, with the reason.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
LB=${LINUX_BTRFS:-$ROOT/../shared/tools/linux-btrfs/run.sh}
W=$ROOT/build/interop-balance-v1
N=0
FAILED=0
. tests/interop/lib.sh
cases="linux_wrote_v1_cache data_balance_done check_clean fsck_clean cache_files_moved linux_reads_every_file"
skip_all() { for c in $cases; do skip "$c" "$1"; done; finish; }

command -v btrfs >/dev/null || skip_all "btrfs-progs not installed"
[ -x "$LB" ] || skip_all "no Linux in QEMU ($LB)"
[ -x "$GHEE" ] || { notok balance_v1 "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W"
img=$W/v1.img
truncate -s 1G "$img"

# Files of 64 KiB to 448 KiB, some deleted after a commit: the cache
# files (one per block group Linux wrote to) describe free space.
cat > "$W/make.sh" <<'EOF'
mkfs.btrfs -f -q -R ^free-space-tree /dev/vda >/dev/null 2>&1 || exit 1
mount -o space_cache=v1 /dev/vda /mnt || exit 1
mkdir /mnt/d
i=0
while [ $i -lt 40 ]; do
	dd if=/dev/urandom of=/mnt/d/f$i bs=64k count=$((i % 7 + 1)) 2>/dev/null
	i=$((i + 1))
done
sync
rm /mnt/d/f3 /mnt/d/f9 /mnt/d/f17
sync
(cd /mnt && find . -type f | sort | xargs sha256sum)
umount /mnt
EOF
cat > "$W/read.sh" <<'EOF'
mount -o ro /dev/vda /mnt || exit 1
(cd /mnt && find . -type f | sort | xargs sha256sum)
EOF

# linux FILE IMAGE...: run FILE in Linux on the images. On a loaded
# host the kernel's check of QEMU's emulated timer fails at boot ("IO-APIC
# + timer doesn't work", a panic): no_timer_check skips it, and a boot
# that still failed (status 124 or 125) is tried once more.
linux() {
	local rc
	EXTRA_APPEND="${EXTRA_APPEND:-} no_timer_check" "$LB" script "$@"
	rc=$?
	[ $rc -eq 124 ] || [ $rc -eq 125 ] || return $rc
	echo "[balance_v1] Linux did not run the script (status $rc): again" >&2
	EXTRA_APPEND="${EXTRA_APPEND:-} no_timer_check" "$LB" script "$@"
}

# The disk addresses the root tree's file extent items name.
cache_addrs() {
	btrfs inspect-internal dump-tree -t root "$1" 2>/dev/null |
		sed -n 's/^[[:space:]]*extent data disk byte \([0-9]*\) .*/\1/p' | sort
}

linux "$W/make.sh" "$img" > "$W/want.txt" 2> "$W/make.err" ||
	skip_all "Linux in QEMU failed: $(grep -v '^\[' "$W/make.err" | tail -n 1)"
before=$(cache_addrs "$img")
echo "# cache file extents before: $(echo $before)"
if [ -n "$before" ]; then ok linux_wrote_v1_cache
else notok linux_wrote_v1_cache "no file extent item in the root tree"; finish; fi

if ghee_run "$W/balance.txt" "$img" < <(printf '%s\n' "mount vda" \
	"btrfs balance start -d /" "umount /") &&
	grep -q '^Done, had to relocate [1-9][0-9]* out of' "$W/balance.txt"; then
	ok data_balance_done
else notok data_balance_done "$(grep -m1 -iE 'error|refused|Done' "$W/balance.txt")"; fi

if btrfs_check "$img"; then ok check_clean
else
	notok check_clean "btrfs check found errors"
	finish	# never hand Linux an image that fails btrfs check
fi
if fsck_clean "$img"; then ok fsck_clean
else notok fsck_clean "ghee's fsck found errors"; fi

after=$(cache_addrs "$img")
echo "# cache file extents after: $(echo $after)"
if [ -n "$after" ] && [ -z "$(comm -12 <(echo "$before") <(echo "$after"))" ]; then
	ok cache_files_moved
else notok cache_files_moved "before: $(echo $before) after: $(echo $after)"; fi

linux "$W/read.sh" "ro:$img" > "$W/got.txt" 2> "$W/read.err"
rc=$?
errs=$(grep -iE '^linux: .*(BTRFS (error|critical)|corrupt)' "$W/read.err" | head -n 2)
if [ $rc -eq 0 ] && [ -z "$errs" ] && [ -s "$W/want.txt" ] &&
	cmp -s "$W/want.txt" "$W/got.txt"; then
	ok linux_reads_every_file
else notok linux_reads_every_file "status $rc $(echo $errs) $(diff "$W/want.txt" "$W/got.txt" | head -n 2 | tr '\n' ' ')"; fi
finish
