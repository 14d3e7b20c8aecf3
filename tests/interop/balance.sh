#!/bin/bash
# Interop of balance (fs/relocation.c, fs/balance.c): an image the Linux
# kernel made (loop mount) with a subvolume, a read-only and a writable
# snapshot taken between changes, and reflinks within and across them.
# ghee runs a full balance on it; then btrfs check must find it clean,
# its used bytes must not have grown (shared blocks copied once), Linux
# must read every file exactly as before, and ghee's `balance start`
# lines must equal btrfs-progs' for the same filters on the same image.
#
# Output: KTAP and '#' lines. Needs root and loop devices; without them
# every case is reported as skipped, with the reason.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-balance
N=0
FAILED=0

echo "KTAP version 1"
ok() { N=$((N + 1)); echo "ok $N $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N $1 # $2"; }
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; exit $?; }
cases="output_as_progs full_balance_done check_clean used_not_grown linux_reads_every_file"
skip_all() { for c in $cases; do N=$((N + 1)); echo "ok $N $c # SKIP $1"; done; finish; }

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
command -v btrfs >/dev/null || skip_all "btrfs-progs not installed"
[ -x "$GHEE" ] || { notok balance "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/linux.img
m=$W/mnt
truncate -s 512M "$img"
mkfs.btrfs -q -f "$img" >/dev/null 2>&1 || skip_all "mkfs.btrfs failed"
mount -o loop "$img" "$m" 2>"$W/mount.err" ||
	skip_all "loop mount failed: $(head -n1 "$W/mount.err")"
btrfs -q subvolume create "$m/sv" >/dev/null
for i in $(seq 1 400); do
	head -c $((i * 997 % 70000 + 10)) /dev/urandom > "$m/sv/f$i"
done
mkdir "$m/sv/names"	# a tree of several levels, shared by the snapshots
for i in $(seq 1 2000); do : > "$m/sv/names/a-rather-long-file-name-$i"; done
cp --reflink=always "$m/sv/f50" "$m/sv/r50"
btrfs -q subvolume snapshot -r "$m/sv" "$m/s1" >/dev/null
for i in $(seq 1 7 400); do
	head -c 5000 /dev/urandom | dd of="$m/sv/f$i" conv=notrunc status=none
done
btrfs -q subvolume snapshot "$m/sv" "$m/s2" >/dev/null
cp --reflink=always "$m/s1/f7" "$m/s2/x7"
rm -f "$m"/sv/f1?
(cd "$m" && find . -type f | sort | xargs sha256sum) > "$W/want.txt"
umount "$m"
btrfs check "$img" > "$W/check0.txt" 2>&1 ||
	{ notok linux_image_checks "btrfs check failed on Linux's own image"; finish; }
used0=$(sed -n 's/^found \([0-9]*\) bytes used.*/\1/p' "$W/check0.txt")

# The same filters through btrfs-progs (a copy, loop mounted) and ghee.
cp "$img" "$W/progs.img"
mount -o loop "$W/progs.img" "$m" || skip_all "loop mount failed"
want=$(btrfs balance start -dusage=0 "$m" 2>&1; btrfs balance status "$m" 2>&1)
umount "$m"
got=$(printf '%s\n' "mount vda" "btrfs balance start -dusage=0 /" \
	"btrfs balance status /" | timeout 120 "$GHEE" "$img" 2>&1 |
	grep -E '^(Done|No balance)' | sed "s|'/'|'$m'|")
if [ "$got" = "$want" ]; then ok output_as_progs
else notok output_as_progs "ghee: $(echo $got) progs: $(echo $want)"; fi

out=$(printf '%s\n' "mount vda" "btrfs balance start --full-balance /" \
	"umount /" | timeout 300 "$GHEE" "$img" 2>&1)
echo "$out" | sed 's/^/# /' | tail -n 4
if echo "$out" | grep -q '^Done, had to relocate [1-9][0-9]* out of'; then
	ok full_balance_done
else notok full_balance_done "no 'Done' line"; fi

if btrfs check "$img" > "$W/check1.txt" 2>&1; then ok check_clean
else
	notok check_clean "btrfs check: $(grep -m1 -iE 'error|mismatch|wrong' "$W/check1.txt")"
	finish	# never loop-mount an image that fails btrfs check
fi
used1=$(sed -n 's/^found \([0-9]*\) bytes used.*/\1/p' "$W/check1.txt")
echo "# used bytes before $used0 after $used1"
# A block shared by the snapshots copied once: no growth beyond a few
# blocks of the commits' own bookkeeping (an unshared copy of the shared
# trees would add hundreds).
if [ -n "$used0" ] && [ -n "$used1" ] && [ "$used1" -le $((used0 + 16 * 16384)) ]; then
	ok used_not_grown
else notok used_not_grown "before $used0 after $used1"; fi

mount -o loop,ro "$img" "$m" || { notok linux_reads_every_file "mount failed"; finish; }
(cd "$m" && find . -type f | sort | xargs sha256sum) > "$W/got.txt"
umount "$m"
if cmp -s "$W/want.txt" "$W/got.txt"; then ok linux_reads_every_file
else notok linux_reads_every_file "$(diff "$W/want.txt" "$W/got.txt" | head -n 2 | tr '\n' ' ')"; fi
finish
