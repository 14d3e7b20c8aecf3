#!/bin/bash
# Interop: ghee must not damage what Linux made, whatever shape its
# back-references have. For each image of btrfs-progs' test corpus
# (tests/interop/progs_corpus.sh) that `btrfs check` finds clean and that
# ghee can mount read-write (one device, not a metadata dump), a copy is
# mounted read-write, given a short workload (write, a write past the
# end and a truncate up leaving holes, rename, mkdir, delete, sync),
# unmounted, and checked by `btrfs check` again: one KTAP line per image,
# the first error of btrfs check when it fails. Most of these images were
# made without the skinny-metadata or no-holes feature, as mkfs.btrfs did
# before 5.15. An image with relocation trees an interrupted Linux balance
# left must be refused read-write with that reason (ghee does not merge
# them as Linux's next mount does; issue 15 allows the refusal) and its
# copy stay unchanged: that passes. Any other read-only mount is a SKIP
# with its reason, once its copy is seen unchanged.
#
# PROGS_IMAGES=a,b limits the run to images whose name contains a or b.
# Without the corpus the one case is reported as skipped with the reason.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
IMG=$ROOT/build/progs/images
W=$ROOT/build/progs/rw
N=0 FAILED=0

echo "KTAP version 1"
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; exit $?; }
[ -x "$GHEE" ] || { N=1; FAILED=1; echo "not ok 1 progs_rw # $GHEE not built"; finish; }
if [ ! -e "$IMG/.done" ]; then
	why=$(tests/interop/progs_corpus.sh 2>&1 >/dev/null | tail -n1)
	if [ ! -e "$IMG/.done" ]; then
		N=1; echo "ok 1 progs_rw # SKIP corpus not fetched: ${why:-unknown}"
		finish
	fi
fi
command -v btrfs >/dev/null || { N=1; echo "ok 1 progs_rw # SKIP btrfs-progs not installed"; finish; }
rm -rf "$W" && mkdir -p "$W"

wanted() {
	local pat
	[ -z "${PROGS_IMAGES:-}" ] && return 0
	for pat in ${PROGS_IMAGES//,/ }; do
		case $1 in *"$pat"*) return 0 ;; esac
	done
	return 1
}

# The superblock's flags and device count, as "FLAGS DEVICES".
super_of() {
	btrfs inspect-internal dump-super "$1" 2>/dev/null |
		awk '$1 == "flags" { f = $2 } $1 == "num_devices" { d = $2 }
		     END { print f, d }'
}

workload=("mount vda"
	"write /ghee-a 0 300000 1"
	"write /ghee-b 0 5000 2"
	"mkdir /ghee-dir"
	"mv /ghee-a /ghee-dir/a"
	"write /ghee-dir/a 4096 8192 3"
	"sync"
	"rm /ghee-b"
	"write /ghee-c 0 70000 4"
	"write /ghee-d 200000 5000 5"
	"truncate /ghee-c 300000"
	"umount")

for img in "$IMG"/*.img; do
	name=$(basename "$img" .img)
	wanted "$name" || continue
	read -r flags devs < <(super_of "$img")
	[ "$flags" = 0x1 ] && [ "${devs:-0}" = 1 ] || continue
	btrfs check --readonly "$img" > /dev/null 2>&1 || continue
	N=$((N + 1))
	copy=$W/$name.img
	cp --sparse=always "$img" "$copy"
	printf '%s\n' "${workload[@]}" | timeout 120 "$GHEE" "$copy" \
		> "$W/$name.ghee" 2>&1
	rc=$?
	gerr=$(grep -m1 -E '^(error|[a-z]+: .*errno)' "$W/$name.ghee")
	ro=$(grep -m1 'mounting read-only' "$W/$name.ghee")
	if [ $rc -eq 0 ] && [ -n "$ro" ]; then
		if ! cmp -s "$img" "$copy"; then
			FAILED=$((FAILED + 1))
			echo "not ok $N rw_$name # mounted read-only, yet the image changed"
		elif [[ $ro == *"relocation trees of an interrupted Linux balance"* ]]; then
			echo "ok $N rw_$name"
		else
			echo "ok $N rw_$name # SKIP ${ro#*: } (the image is unchanged)"
		fi
	elif [ $rc -ne 0 ] || [ -n "$gerr" ]; then
		FAILED=$((FAILED + 1))
		echo "not ok $N rw_$name # ghee (exit $rc): ${gerr:-no message}"
	elif ! btrfs check --readonly "$copy" > "$W/$name.check" 2>&1; then
		FAILED=$((FAILED + 1))
		echo "not ok $N rw_$name # btrfs check after ghee's writes: $(grep -m1 -i -E 'error|mismatch|wrong|missing|invalid' "$W/$name.check")"
	else
		echo "ok $N rw_$name"
	fi
	rm -f "$copy"
done
[ $N -gt 0 ] || { N=1; FAILED=1; echo "not ok 1 progs_rw # no clean single-device image in the corpus"; }
finish
