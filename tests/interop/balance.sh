#!/bin/bash
# Interop of balance (fs/relocation.c, fs/balance.c): an image the Linux
# kernel made (loop mount) with a subvolume, a read-only and a writable
# snapshot taken between changes, and reflinks within and across them.
# ghee runs a full balance on it; then btrfs check must find it clean,
# its used bytes must not have grown (shared blocks copied once), Linux
# must read every file exactly as before, and ghee's `balance start`
# lines must equal btrfs-progs' for the same filters on the same image.
# Its SYSTEM chunk (the chunk tree) converted to single, then back to
# dup (`-f -sconvert=`): each time btrfs check is clean and Linux mounts
# it (through the superblock's new sys_chunk_array), shows the profile
# in `filesystem df` and reads every file as before.
# The balance item both ways: an image Linux left with a paused balance
# (started with --bg on a loop mount, paused, unmounted) mounts in ghee
# with skip_balance, whose `balance status -v` equals progs' on it, and
# ghee's resume finishes it (btrfs check clean, Linux reads it); an image
# ghee left with a paused balance passes btrfs check, Linux mounted with
# skip_balance reports it as progs' status -v does in ghee, and Linux's
# `balance resume` finishes it.
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
cases="output_as_progs full_balance_done check_clean used_not_grown linux_reads_every_file system_single_linux_reads system_dup_linux_reads linux_paused_status_as_progs ghee_resumes_linux_item linux_paused_resumed_check_clean ghee_paused_check_clean linux_reads_ghee_item linux_resumes_ghee_item"
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
want=$(btrfs balance start -dusage=0 "$m" 2>&1; btrfs balance status "$m" 2>&1
	btrfs balance start -v -dstripes=2..2 "$m" 2>&1
	btrfs balance start -mstripes=1..1 "$m" 2>&1
	btrfs balance start -dusage=101 "$m" 2>&1)
umount "$m"
got=$(printf '%s\n' "mount vda" "btrfs balance start -dusage=0 /" \
	"btrfs balance status /" "btrfs balance start -v -dstripes=2..2 /" \
	"btrfs balance start -mstripes=1..1 /" \
	"btrfs balance start -dusage=101 /" |
	timeout 120 "$GHEE" "$img" 2>&1 |
	grep -E '^(Done|No balance|Dumping|  [A-Z]+ \(|ERROR)' | sed "s|'/'|'$m'|")
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

# sys_step PROFILE DF_NAME: ghee converts the SYSTEM chunk to PROFILE;
# says what is wrong (and fails) unless btrfs check is clean, Linux
# mounts it, its df shows "System, DF_NAME" and every file reads the same.
sys_step() {
	local out df
	out=$(printf '%s\n' "mount vda" "btrfs balance start -f -sconvert=$1 /" \
		"umount /" | timeout 300 "$GHEE" "$img" 2>&1)
	echo "$out" | grep -q '^Done, had to relocate 1 out of' ||
		{ echo "ghee: $(echo "$out" | tail -n 2 | tr '\n' ' ')"; return 1; }
	btrfs check "$img" > "$W/check-sys.txt" 2>&1 ||
		{ echo "btrfs check: $(grep -m1 -iE 'error|mismatch|wrong' "$W/check-sys.txt")"; return 1; }
	mount -o loop,ro "$img" "$m" || { echo "Linux does not mount it"; return 1; }
	df=$(btrfs filesystem df "$m" | grep '^System')
	(cd "$m" && find . -type f | sort | xargs sha256sum) > "$W/got-sys.txt"
	umount "$m"
	case "$df" in "System, $2:"*) ;; *) echo "Linux df: $df"; return 1 ;; esac
	cmp -s "$W/want.txt" "$W/got-sys.txt" || { echo "a file differs"; return 1; }
}
if why=$(sys_step single single); then ok system_single_linux_reads
else notok system_single_linux_reads "$why"; fi
if why=$(sys_step dup DUP); then ok system_dup_linux_reads
else notok system_dup_linux_reads "$why"; fi

# A few-chunk filesystem for the paused balances (data chunks of 5% of
# the device: 20 of them hold the files).
mkpaused() {
	truncate -s 1G "$1"
	mkfs.btrfs -q -f "$1" >/dev/null 2>&1
	mount -o loop "$1" "$m" || return 1
	for i in $(seq 1 12); do head -c 16M /dev/urandom > "$m/d$i"; done
	(cd "$m" && sha256sum d*) > "$W/paused-want.txt"
	umount "$m"
}
# ghee's status -v of image $1 mounted with skip_balance, as progs
# prints it for mount point $m.
ghee_status() {
	printf '%s\n' "mount vda / -o skip_balance" "btrfs balance status -v /" |
		timeout 120 "$GHEE" "$1" 2>&1 |
		grep -E "^(Balance on|[0-9]+ out of|Dumping|  [A-Z]+ \(|No balance)" |
		sed "s|'/'|'$m'|"
}
linux_status() {
	mount -o loop,skip_balance "$1" "$m" || return 1
	btrfs balance status -v "$m" 2>&1
	umount "$m"
}

lp=$W/linux-paused.img
mkpaused "$lp" || skip_all "loop mount failed"
mount -o loop "$lp" "$m"
btrfs balance start --bg --full-balance "$m"
for i in $(seq 1 100); do
	btrfs balance status "$m" | grep -q running && break
	sleep 0.05
done
btrfs balance pause "$m"
umount "$m"
want=$(linux_status "$lp")
got=$(ghee_status "$lp")
echo "$want" | sed 's/^/# linux: /'
if echo "$want" | grep -q "is paused" && [ "$got" = "$want" ]; then
	ok linux_paused_status_as_progs
else notok linux_paused_status_as_progs "ghee: $(echo $got)"; fi
out=$(printf '%s\n' "mount vda / -o skip_balance" "btrfs balance resume /" \
	"btrfs balance status /" "umount /" | timeout 300 "$GHEE" "$lp" 2>&1)
if echo "$out" | grep -q '^Done, had to relocate [1-9][0-9]* out of' &&
	echo "$out" | grep -q "^No balance found on '/'"; then
	ok ghee_resumes_linux_item
else notok ghee_resumes_linux_item "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
if btrfs check "$lp" > "$W/check-lp.txt" 2>&1; then
	mount -o loop,ro "$lp" "$m"
	(cd "$m" && sha256sum d*) > "$W/paused-got.txt"
	umount "$m"
	if cmp -s "$W/paused-want.txt" "$W/paused-got.txt"; then
		ok linux_paused_resumed_check_clean
	else notok linux_paused_resumed_check_clean "a file differs"; fi
else notok linux_paused_resumed_check_clean "btrfs check: $(grep -m1 -iE 'error|mismatch|wrong' "$W/check-lp.txt")"; fi

gp=$W/ghee-paused.img
mkpaused "$gp" || skip_all "loop mount failed"
# (Linux relocates nothing for these filters, as for progs' own request:
# they are here for the encoding.)
printf '%s\n' "mount vda" "btrfs balance start --bg -dusage=100,limit=20 -mlimit=5 /" \
	"btrfs balance pause /" "umount /" | timeout 300 "$GHEE" "$gp" > "$W/ghee-pause.out" 2>&1
if ! btrfs check "$gp" > "$W/check-gp.txt" 2>&1; then
	notok ghee_paused_check_clean "btrfs check: $(grep -m1 -iE 'error|mismatch|wrong' "$W/check-gp.txt")"
	finish	# never loop-mount an image that fails btrfs check
fi
ok ghee_paused_check_clean
got=$(ghee_status "$gp")
want=$(linux_status "$gp")
echo "$want" | sed 's/^/# linux: /'
if echo "$want" | grep -q "is paused" && [ "$got" = "$want" ]; then
	ok linux_reads_ghee_item
else notok linux_reads_ghee_item "ghee: $(echo $got)"; fi
mount -o loop,skip_balance "$gp" "$m"
res=$(btrfs balance resume "$m" 2>&1; btrfs balance status "$m" 2>&1)
(cd "$m" && sha256sum d*) > "$W/paused-got.txt"
umount "$m"
echo "$res" | sed 's/^/# linux: /'
if echo "$res" | grep -q "^Done, had to relocate" &&
	echo "$res" | grep -q "^No balance found" &&
	cmp -s "$W/paused-want.txt" "$W/paused-got.txt" &&
	btrfs check "$gp" > "$W/check-gp2.txt" 2>&1; then
	ok linux_resumes_ghee_item
else notok linux_resumes_ghee_item "$(echo $res)"; fi
finish
