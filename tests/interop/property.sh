#!/bin/bash
# Interop: ghee's `property get` and `property list` against btrfs-progs
# 6.2's on Linux, on one image.
#   1. ghee makes the image: a label, a subvolume with a file whose
#      compression property is set, a read-only snapshot, a snapshot made
#      read-only and then writable again with `property set`, and the
#      label changed with `property set`; `btrfs check` must pass;
#   2. on a copy: a received subvolume's ro flag flips only with -f;
#   3. ghee's get (all properties, and one by name) and list for the top
#      level, a subvolume, a snapshot and a file; then, as root, Linux's
#      on a read-only loop mount of the same image: each must equal
#      ghee's.
# Output: KTAP and '#' lines, the plan last. Scratch in build/interop-property/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-property
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check

command -v btrfs >/dev/null || { skip property "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok property "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/property.img
truncate -s 300M "$img"

# 1. Build.
if printf '%s\n' "mkfs vda --label first" "mount vda /" \
	"btrfs subvolume create /sv" "write /sv/f 0 100000 1" \
	"property set /sv/f compression zstd" \
	"btrfs subvolume snapshot -r /sv /ro" \
	"btrfs subvolume snapshot /sv /rw" "property set /rw ro true" \
	"property set -t s /rw ro false" "property set / label second" \
	"umount /" | ghee_run "$W/build.txt" "$img"; then
	ok ghee_builds_image
else
	notok ghee_builds_image "a command failed (build/interop-property/build.txt)"
	finish
fi
cp "$img" "$W/rx.img"
if btrfs_check "$img"; then
	ok btrfs_check_clean
else
	notok btrfs_check_clean "btrfs check failed"
	finish
fi

# 2. A received subvolume stays read-only unless forced, as btrfs-progs
# has it: without -f the flip is refused and changes nothing; with -f it
# is made and the received UUID cleared.
printf '%s\n' "mount vda" "btrfs subvolume snapshot -r /sv /s1" "mkdir /rx" \
	"send -f /s.stream /s1" "receive -f /s.stream /rx" \
	"property set /rx/s1 ro false" "property get /rx/s1" \
	"property set -f /rx/s1 ro false" "property get /rx/s1" \
	"subvolume show /rx/s1" | "$GHEE" "$W/rx.img" >"$W/received.txt" 2>&1
if grep -q "^ERROR: cannot flip ro->rw with received_uuid set" "$W/received.txt" &&
	[ "$(grep -c '^ro=true$' "$W/received.txt")" = 1 ] &&
	[ "$(grep -c '^ro=false$' "$W/received.txt")" = 1 ] &&
	grep -qP "^\tReceived UUID: \t\t-$" "$W/received.txt"; then
	ok received_subvolume_needs_force
else
	say <"$W/received.txt"
	notok received_subvolume_needs_force "build/interop-property/received.txt"
fi

# 3. ghee's reports, then Linux's; MNT is the mount point.
FORMS=("get MNT/" "get MNT/sv" "get MNT/ro" "get MNT/rw" "get MNT/sv/f"
       "get MNT/ro/f" "get MNT/ ro" "get MNT/ label" "get -t s MNT/ro ro"
       "list MNT/" "list MNT/sv" "list MNT/sv/f" "list -t i MNT/")
cmds=()
for f in "${FORMS[@]}"; do cmds+=("btrfs property ${f//MNT/}"); done
printf '%s\n' "mount vda" "${cmds[@]}" | "$GHEE" "ro:$img" >"$W/ghee.txt" 2>&1
if [ "$(id -u)" != 0 ]; then
	skip linux_property "needs root for a loop mount"
	finish
fi
mount -o loop,ro "$img" "$W/mnt" || { notok linux_mount "mount failed"; finish; }
for i in "${!FORMS[@]}"; do
	f=${FORMS[$i]}
	# shellcheck disable=SC2086
	btrfs property ${f//MNT/$W/mnt} >"$W/linux.$i" 2>&1
	ghee_said "$W/ghee.txt" "${cmds[$i]}" >"$W/ghee.$i"
done
umount "$W/mnt"
for i in "${!FORMS[@]}"; do
	name=$(echo "${FORMS[$i]//MNT\//top/}" | tr ' /-' '.__' | tr -s _)
	if [ ! -s "$W/linux.$i" ]; then
		notok "$name" "Linux printed nothing"
	elif diff "$W/linux.$i" "$W/ghee.$i" >"$W/diff.$i"; then
		ok "$name"
	else
		head -n 12 "$W/diff.$i" | say
		notok "$name" "ghee's output differs from btrfs-progs' (build/interop-property/diff.$i)"
	fi
done
finish
