#!/bin/bash
# Interop: ghee's receive (host tool) of streams made by the host's
# `btrfs send` from Linux-made snapshots.
#   1. tests/interop/make_streams.sh: Linux makes a chain of snapshots
#      of a subvolume with every inode kind and the changes incremental
#      sends must order; streams: a full send, incremental sends (-p),
#      one with a clone source (-c), a full one in protocol version 2.
#   2. ghee's receive --dump prints what btrfs receive --dump prints,
#      byte for byte, for every stream.
#   3. ghee receives the chain (from a raw disk with -e, and one stream
#      from a file in its filesystem); `btrfs check` is clean after every
#      receive; Linux mounts ghee's image and every received snapshot is
#      the same tree as Linux's (same_tree.py), read-only, with the
#      sender's UUID as received UUID; ghee reads the same (compare.py).
#   4. ghee's own send, full and incremental, received by ghee;
#   5. damaged streams (bad magic, bad crc, truncated, unknown command,
#      paths leaving the subvolume by "..", "/" and a symlink, a missing
#      parent, an existing target) each fail with their message and the
#      byte offset, touch nothing outside the new subvolume, leave it
#      writable and named, and `btrfs check` stays clean.
# Needs root (loop mounts). Output: KTAP and '#' lines. Scratch files in
# build/interop-receive/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-receive
N=0
FAILED=0

. tests/interop/lib.sh
cleanup() {
	mountpoint -q "$W/src" && umount "$W/src"
	mountpoint -q "$W/got" && umount "$W/got"
}

command -v btrfs >/dev/null || { notok receive "btrfs-progs not installed"; finish; }
[ -x "$GHEE" ] || { notok receive "host tool $GHEE not built"; finish; }
[ "$(id -u)" = 0 ] || { notok receive "needs root for loop mounts"; finish; }
cleanup 2>/dev/null
rm -rf "$W" && mkdir -p "$W/src" "$W/got"
trap cleanup EXIT

# 1. Linux's snapshots and streams.
S=$W/src
if tests/interop/make_streams.sh "$W" >"$W/build.log" 2>&1; then
	ok linux_makes_streams
else
	tail -n 5 "$W/build.log" | say
	notok linux_makes_streams "building the snapshots failed"
	finish
fi
STREAMS="cs s0 s1 s2 s3 v2 e0 h1 h2"
for s in $STREAMS; do
	cp "$W/$s.stream" "$W/$s.raw" && truncate -s %4096 "$W/$s.raw"
done

# ghee_on IMAGE DISK... -- COMMAND...: run commands with the image
# mounted; prints the output.
ghee_on() {
	local img=$1 disks=()
	shift
	while [ "$1" != -- ]; do disks+=("$1"); shift; done
	shift
	printf '%s\n' "mount vda" "$@" "umount" |
		timeout 300 "$GHEE" "$img" "${disks[@]}" 2>&1
}

# 2. --dump.
bad=0
for s in $STREAMS; do
	TZ=UTC btrfs receive --dump -f "$W/$s.stream" >"$W/$s.want.dump" 2>&1
	printf '%s\n' "receive --dump -f vda" | "$GHEE" "$W/$s.raw" 2>&1 |
		sed '1d;$d' >"$W/$s.got.dump"
	if ! cmp -s "$W/$s.want.dump" "$W/$s.got.dump"; then
		bad=1
		diff "$W/$s.want.dump" "$W/$s.got.dump" | head -n 6 | say
	fi
done
[ $bad = 0 ] && ok dump_same_as_btrfs_progs ||
	notok dump_same_as_btrfs_progs "receive --dump differs (lines above)"

# 3. Receive the chain.
G=$W/got.img
truncate -s 512M "$G"
printf '%s\n' "mkfs vda" | "$GHEE" "$G" >/dev/null 2>&1
out=$(ghee_on "$G" -- "import $W/s0.stream /s0.stream")
bad=
for s in cs s0 s1 s2 s3; do
	if [ $s = s0 ]; then
		out=$(ghee_on "$G" -- "receive -f /s0.stream /" "rm /s0.stream")
	else
		out=$(ghee_on "$G" "$W/$s.raw" -- "receive -e -f vdb /")
	fi
	if grep -qE "ERROR|errno|usage|aborted" <<<"$out"; then
		echo "$out" | grep -E "ERROR|errno|usage|aborted" | head -n 4 | say
		bad="receive of $s failed"
		break
	fi
	if ! btrfs check "$G" >"$W/check-$s.txt" 2>&1; then
		grep -iE "error|mismatch|wrong|missing" "$W/check-$s.txt" | head -n 5 | say
		bad="btrfs check after receiving $s"
		break
	fi
done
[ -z "$bad" ] && ok receive_chain_btrfs_check_clean || { notok receive_chain_btrfs_check_clean "$bad"; finish; }

mount -o loop,ro,noatime "$G" "$W/got" || { notok linux_mounts_received "mount failed"; finish; }
bad=
for s in cs s0 s1 s2 s3; do
	python3 tests/interop/same_tree.py "$S/snaps/$s" "$W/got/$s" >"$W/same-$s.txt" ||
		{ say <"$W/same-$s.txt"; bad="$bad $s"; }
done
[ -z "$bad" ] && ok received_trees_same_as_linux || notok received_trees_same_as_linux "differ:$bad"
# uuids: what Linux's snapshot has as uuid, ghee's copy has as received
# uuid; and it is read-only.
bad=
for s in cs s0 s1 s2 s3; do
	want=$(btrfs subvolume show "$S/snaps/$s" | awk '$1 == "UUID:" { print $2 }')
	got=$(btrfs subvolume show "$W/got/$s" | awk '/Received UUID:/ { print $3 }')
	# the root item's flag (GETFLAGS, behind `property get`, says
	# false on every ghee-made read-only subvolume: see the report)
	ro=$(btrfs subvolume show "$W/got/$s" | awk '$1 == "Flags:" { print $2 }')
	[ "$want" = "$got" ] && [ "$ro" = readonly ] || bad="$bad $s($want/$got/$ro)"
done
[ -z "$bad" ] && ok received_uuid_and_read_only || notok received_uuid_and_read_only "wrong:$bad"
umount "$W/got"
if python3 tests/interop/compare.py "$GHEE" "$G" "$S/snaps" >"$W/ghee-view.txt" 2>&1; then
	ok ghee_reads_received_trees
else
	head -n 8 "$W/ghee-view.txt" | say
	notok ghee_reads_received_trees "ghee's view differs"
fi

# Protocol version 2 into a fresh image: s3 whole, and h1 then h2 (holes
# punched and preallocated ranges: FALLOCATE).
G2=$W/v2.img
truncate -s 512M "$G2"
printf '%s\n' "mkfs vda" | "$GHEE" "$G2" >/dev/null 2>&1
out=$(ghee_on "$G2" "$W/v2.raw" "$W/h1.raw" "$W/h2.raw" -- "receive -e -f vdb /" \
	"receive -e -f vdc /" "receive -e -f vdd /")
if grep -qE "ERROR|errno" <<<"$out" || ! btrfs check "$G2" >/dev/null 2>&1; then
	grep -E "ERROR|errno" <<<"$out" | head -n 4 | say
	notok receive_v2_stream "receive or btrfs check failed"
elif mount -o loop,ro,noatime "$G2" "$W/got" &&
	python3 tests/interop/same_tree.py "$S/snaps/s3" "$W/got/s3" >"$W/same-v2.txt" &&
	python3 tests/interop/same_tree.py "$S/hsnaps/h2" "$W/got/h2" >>"$W/same-v2.txt"; then
	umount "$W/got"
	ok receive_v2_stream
else
	say <"$W/same-v2.txt"
	mountpoint -q "$W/got" && umount "$W/got"
	notok receive_v2_stream "tree differs"
fi

# 4. Damaged streams, each into a fresh image holding cs and s0.
# damaged NAME STREAM EDIT PATTERN [LEFT]: receive the edited stream;
# its output must match PATTERN and name the offset stream_edit.py
# printed (when EDIT is not "-"); LEFT: the subvolume left writable.
base=$W/base.img
out=$(truncate -s 256M "$base"; printf '%s\n' "mkfs vda" | "$GHEE" "$base" 2>&1;
	ghee_on "$base" "$W/cs.raw" -- "receive -e -f vdb /"; ghee_on "$base" "$W/s0.raw" -- "receive -e -f vdb /")
damaged() {
	local name=$1 stream=$2 edit=$3 pat=$4 left=${5:-} at img=$W/d.img
	cp "$base" "$img"
	if [ "$edit" = - ]; then
		cp "$W/$stream.stream" "$W/d.stream"
		at=
	else
		at=$(python3 tests/interop/stream_edit.py "$W/$stream.stream" "$W/d.stream" "$edit")
	fi
	out=$(ghee_on "$img" -- "import $W/d.stream /d.stream" \
		"receive -f /d.stream /" "rm /d.stream" "ls /" "subvolume list /")
	echo "$out" >"$W/damaged-$name.txt"
	local why=
	grep -q "ERROR: .*$pat" <<<"$out" || why="no message matching '$pat'"
	[ -z "$at" ] || grep -q "ERROR: at byte $at of the stream" <<<"$out" ||
		why="$why; offset $at not named"
	if [ -n "$left" ]; then
		grep -q "left writable in /$left" <<<"$out" || why="$why; $left not named"
		grep -q "path $left\$" <<<"$out" || why="$why; $left not kept"
	fi
	# nothing outside: the top level holds what it held and the new one
	echo "$out" | sed -n '/^ghee> ls \/$/,/^ghee> /p' | grep -vE "^ghee> |^(cs|s0|$left)\$" |
		grep -q . && why="$why; something else appeared at the top level"
	btrfs check "$img" >/dev/null 2>&1 || why="$why; btrfs check finds errors"
	if [ -z "$why" ]; then
		ok "damaged_$name"
	else
		grep -E "ERROR|^[a-z]" "$W/damaged-$name.txt" | head -n 6 | say
		notok "damaged_$name" "$why"
	fi
}
damaged bad_magic s1 badmagic "bad magic"
damaged bad_crc s1 badcrc "bad crc32c" s1
damaged truncated s1 truncate "truncated" s1
damaged unknown_command s1 unknown "unknown command 99" s1
damaged dotdot e0 "mkfile-at=../evil" "with \"..\" leaves the subvolume" e0
damaged absolute e0 "mkfile-at=/evil" "absolute path leaves the subvolume" e0
damaged symlink e0 "mkfile-at=up/evil" "through a symlink leaves the subvolume" e0
damaged rename_dotdot e0 "rename-to=f:a/../../f" "with \"..\" leaves the subvolume" e0
damaged missing_parent s2 - "cannot find parent subvolume"
damaged existing_target s0 - "s0: file exists"

# Several streams in one source (without -e: up to the source's end),
# and -E: "../f" refused, then the commands on f fail; -E 3 stops at the
# third error, -E 0 goes on to the end (e0 received, read-only), as
# btrfs receive does.
cat "$W/cs.stream" "$W/s0.stream" >"$W/two.stream"
img=$W/two.img
truncate -s 256M "$img"
printf '%s\n' "mkfs vda" | "$GHEE" "$img" >/dev/null 2>&1
out=$(ghee_on "$img" -- "import $W/two.stream /two.stream" "receive -f /two.stream /" \
	"rm /two.stream" "subvolume list -r /")
if grep -q "path cs$" <<<"$out" && grep -q "path s0$" <<<"$out" && ! grep -q ERROR <<<"$out" &&
	btrfs check "$img" >/dev/null 2>&1; then
	ok two_streams_in_one_source
else
	grep -E "ERROR|^ID" <<<"$out" | head -n 4 | say
	notok two_streams_in_one_source "not both received"
fi
python3 tests/interop/stream_edit.py "$W/e0.stream" "$W/esc.stream" "rename-to=f:../f" >/dev/null
# max_errors N WANT_ERRORS WANT_RO: receive esc.stream with -E N.
max_errors() {
	cp "$base" "$img"
	out=$(ghee_on "$img" -- "import $W/esc.stream /esc.stream" "receive -E $1 -f /esc.stream /" \
		"rm /esc.stream" "subvolume list -r /")
	local n why=
	n=$(grep -c "ERROR: at byte" <<<"$out")
	[ "$n" = "$2" ] || why="$n errors, want $2"
	if [ "$3" = ro ]; then
		grep -q "path e0$" <<<"$out" || why="$why; e0 not read-only"
	else
		grep -q "left writable in /e0" <<<"$out" || why="$why; e0 not left writable"
	fi
	btrfs check "$img" >/dev/null 2>&1 || why="$why; btrfs check finds errors"
	[ -z "$why" ] && ok "max_errors_$1" || { grep ERROR <<<"$out" | head -n 5 | say; notok "max_errors_$1" "$why"; }
}
max_errors 3 3 rw
max_errors 0 5 ro	# the rename, then write, chown, chmod, utimes of f

# ghee to ghee: a full and an incremental send through files, received
# beside the originals; Linux sees the same trees.
img=$W/gg.img
truncate -s 256M "$img"
printf '%s\n' "mkfs vda" | "$GHEE" "$img" >/dev/null 2>&1
out=$(ghee_on "$img" -- "subvolume create /sv" "mkdir /sv/d" "write /sv/d/a 0 300000 1" \
	"ln /sv/d/a /sv/h" "subvolume snapshot -r /sv /s1" "send -f /s1.st /s1" \
	"mv /sv/d/a /sv/b" "write /sv/c 0 5000 2" "rm /sv/h" "subvolume snapshot -r /sv /s2" \
	"send -p /s1 -f /s2.st /s2" "mkdir /got" "receive -f /s1.st /got" \
	"receive -f /s2.st /got")
why=
grep -qE "ERROR|errno|usage" <<<"$out" && why="a command failed"
btrfs check "$img" >/dev/null 2>&1 || why="$why; btrfs check finds errors"
if [ -z "$why" ] && mount -o loop,ro,noatime "$img" "$W/got"; then
	for s in s1 s2; do
		python3 tests/interop/same_tree.py "$W/got/$s" "$W/got/got/$s" >"$W/same-gg-$s.txt" ||
			{ say <"$W/same-gg-$s.txt"; why="$why; $s differs"; }
	done
	umount "$W/got"
fi
[ -z "$why" ] && ok ghee_send_to_ghee_receive ||
	{ grep -E "ERROR|errno|usage" <<<"$out" | head -n 4 | say; notok ghee_send_to_ghee_receive "$why"; }
# and ghee's --dump of ghee's streams is btrfs-progs'
ghee_on "$img" -- "export /s1.st $W/gs1.stream" "export /s2.st $W/gs2.stream" >/dev/null
bad=
for s in gs1 gs2; do
	TZ=UTC btrfs receive --dump -f "$W/$s.stream" >"$W/$s.want.dump" 2>&1
	cp "$W/$s.stream" "$W/$s.raw" && truncate -s %4096 "$W/$s.raw"
	printf '%s\n' "receive --dump -f vda" | "$GHEE" "$W/$s.raw" 2>&1 | sed '1d;$d' >"$W/$s.got.dump"
	[ -s "$W/$s.want.dump" ] && cmp -s "$W/$s.want.dump" "$W/$s.got.dump" || bad="$bad $s"
done
[ -z "$bad" ] && ok dump_of_ghee_streams_same_as_btrfs_progs ||
	notok dump_of_ghee_streams_same_as_btrfs_progs "differ:$bad"
finish
