#!/bin/bash
# Interop: ghee's fsck beside `btrfs check --readonly` on every image of
# btrfs-progs' own test corpus (tests/interop/progs_corpus.sh fetches it
# into build/progs/images). One KTAP line per image: ok when both find it
# clean or both find errors (a mount that fails on corrupt metadata, or
# on a device error, naming the block, counts as errors found), or ghee
# refuses an image of several devices, which it cannot assemble yet; not ok with both verdicts and their first
# error line otherwise, or when ghee crashes or hangs. Ends with
# "# agree: N of M".
#
# PROGS_IMAGES=a,b limits the run to images whose name contains a or b.
# Without the corpus (the fetch failed: no network, no apt) the one case
# is reported as skipped with the fetch's reason.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
IMG=$ROOT/build/progs/images
W=$ROOT/build/progs/run
N=0 FAILED=0 AGREE=0

echo "KTAP version 1"
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; exit $?; }
[ -x "$GHEE" ] || { N=1; FAILED=1; echo "not ok 1 progs_images # $GHEE not built"; finish; }
if [ ! -e "$IMG/.done" ]; then
	why=$(tests/interop/progs_corpus.sh 2>&1 >/dev/null | tail -n1)
	if [ ! -e "$IMG/.done" ]; then
		N=1; echo "ok 1 progs_images # SKIP corpus not fetched: ${why:-unknown}"
		finish
	fi
fi
command -v btrfs >/dev/null || { N=1; echo "ok 1 progs_images # SKIP btrfs-progs not installed"; finish; }
rm -rf "$W" && mkdir -p "$W"

# ghee's verdict on one image: clean, errors, refused, crash or hang.
ghee_verdict() {
	local img=$1 out=$2 rc
	printf 'fsck vda\n' | timeout 120 "$GHEE" "ro:$img" > "$out" 2>&1
	rc=$?
	if [ $rc = 124 ]; then echo hang
	elif [ $rc -ge 128 ] || grep -q -E 'Sanitizer|runtime error' "$out"; then echo crash
	elif grep -q '^fsck: .*: no errors$' "$out"; then echo clean
	elif grep -q '^fsck: .* errors$' "$out"; then echo errors
	elif grep -q 'cannot mount: .*(errno \(117\|5\))' "$out"; then echo errors
	elif grep -q 'cannot mount' "$out"; then echo refused
	else echo unknown; fi
}

# The first line of ghee's output that names a problem: an error, else
# a warning or a refusal.
ghee_first_error() {
	{ grep '^error: ' "$1"
	  grep -v -E '^(> |fsck vda|ghee|error: |fsck: .* is a metadata dump)' "$1" |
		grep -v '^fsck: .*generation'; } | head -n1
}

wanted() {
	local pat
	[ -z "${PROGS_IMAGES:-}" ] && return 0
	for pat in ${PROGS_IMAGES//,/ }; do
		case $1 in *"$pat"*) return 0 ;; esac
	done
	return 1
}

for img in "$IMG"/*.img; do
	name=$(basename "$img" .img)
	wanted "$name" || continue
	N=$((N + 1))
	timeout 300 btrfs check --readonly "$img" > "$W/$name.progs" 2>&1
	prc=$?
	devs=$(btrfs inspect-internal dump-super "$img" 2>/dev/null |
		awk '$1 == "num_devices" { print $2 }')
	case $prc in 0) progs=clean ;; 124) progs=hang ;; *) progs=errors ;; esac
	ghee=$(ghee_verdict "$img" "$W/$name.ghee")
	gerr=$(ghee_first_error "$W/$name.ghee")
	perr=$(grep -m1 -i -E 'error|corrupt|mismatch|wrong|invalid|missing|fail' "$W/$name.progs")
	if [ "${devs:-1}" -gt 1 ] && [ "$ghee" = refused ]; then
		AGREE=$((AGREE + 1))
		echo "ok $N $name # $devs devices: ghee refuses (one device only)${perr:+; btrfs check: $perr}"
	elif [ "$ghee" = "$progs" ]; then
		AGREE=$((AGREE + 1))
		echo "ok $N $name # both $ghee${gerr:+: ghee: $gerr}${perr:+; btrfs check: $perr}"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $N $name # ghee $ghee, btrfs check $progs${gerr:+; ghee: $gerr}${perr:+; btrfs check: $perr}"
	fi
done
echo "# agree: $AGREE of $N"

# A metadata dump mounts read-only only; it lists names and attributes
# and refuses file reads, naming why.
dump=$IMG/fsck-020-extent-ref-cases.shared_data_ref.img
if wanted metadump_mount && [ -e "$dump" ]; then
	N=$((N + 1))
	out=$(printf '%s\n' "mount vda" "mount vda ro" "ls -l /" "cat /0" |
		timeout 60 "$GHEE" "$dump" 2>&1)
	if echo "$out" | grep -q "a metadata dump (btrfs-image) has no file data; it mounts read-only" &&
	   echo "$out" | grep -q "^-rw------- 1 0 0 4096 .* 0$" &&
	   echo "$out" | grep -q "no file data in a metadata dump" &&
	   echo "$out" | grep -q "^cat: /0: read at offset 0: not supported"; then
		echo "ok $N metadump_mount"
	else
		FAILED=$((FAILED + 1))
		echo "not ok $N metadump_mount # $(echo "$out" | tr '\n' '|')"
	fi
fi
finish
