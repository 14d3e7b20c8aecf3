#!/bin/bash
# Interop: ghee's dedupe against Linux's FIDEDUPERANGE (xfs_io's dedupe
# on a loop mount). Linux writes an image with files made for each rule
# (alignment, end of file on one side or both, bytes that differ, inline
# files, ranges overlapping in one file, a read-only snapshot as the
# destination, a directory, a second subvolume); a copy of it gets the
# same dedupe calls in Linux and in ghee. Then:
#   1. each call's status (deduped N/N at OFF, differs, or the errno) is
#      Linux's;
#   2. `btrfs check` passes on ghee's image;
#   3. Linux mounts ghee's image: every file has the same bytes and the
#      same mtime and ctime as before the dedupe, and each 4 KiB block of
#      each file sits at the same disk address (shared the same way) as
#      in Linux's deduped image (fiemap).
#
# Output: KTAP and '#' lines. Needs root, loop devices and xfs_io
# (xfsprogs); without them every case is reported as skipped.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-dedupe
N=0
FAILED=0
. tests/interop/lib.sh
cases="statuses btrfs_check same_bytes_and_times same_sharing"
skip_all() { for c in $cases; do skip "$c" "$1"; done; finish; }

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
command -v btrfs >/dev/null || skip_all "btrfs-progs not installed"
command -v xfs_io >/dev/null || skip_all "xfs_io (xfsprogs) not installed"
[ -x "$GHEE" ] || { notok dedupe "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/base.img m=$W/mnt
truncate -s 256M "$img"
mkfs.btrfs -q -f "$img" >/dev/null 2>&1 || skip_all "mkfs.btrfs failed"
mount -o loop "$img" "$m" 2>"$W/mount.err" ||
	skip_all "loop mount failed: $(head -n1 "$W/mount.err")"

# The files, written (not reflinked) so that no two share yet.
btrfs -q subvolume create "$m/sv" && mkdir "$m/dir" && python3 - "$m" <<'EOF'
import os, sys
m = sys.argv[1]
r = os.urandom(65536)
def put(name, data):
    with open(m + "/" + name, "wb") as f:
        f.write(data)
put("a", r[:16384]); put("b", r[:16384])
put("c", r[:12288] + bytes(4096))          # differs in its last block
put("e", r[:10000]); put("f", r[:10000])   # both end mid-block
put("g", r[:16384]); put("h", r[:10000] + r[20000:32000])
put("rep", r[:4096] * 4)                   # four equal blocks
put("inl1", b"hi\n"); put("inl2", b"hi\n")
put("x", r[32768:65536]); put("sv/x", r[32768:65536])
put("sv/y", r[:16384])
EOF
[ $? -eq 0 ] && btrfs -q subvolume snapshot -r "$m/sv" "$m/snap" && sync ||
	{ umount "$m"; notok statuses "making the files failed"; finish; }
umount "$m"
cp "$img" "$W/linux.img" && cp "$img" "$W/ghee.img"

# The calls: SRC SRC_OFF LEN DST DST_OFF, in order, on the same tree.
cat >"$W/calls" <<'EOF'
a 0 4096 b 0
a 4096 5000 b 4096
a 0 16384 c 0
e 0 10000 f 0
h 0 10000 g 0
a 0 4096 b 20480
a 100 4096 b 100
rep 0 8192 rep 4096
rep 0 4096 rep 8192
inl1 0 3 inl2 0
x 0 32768 snap/x 0
a 0 4096 dir 0
a 0 0 b 20480
a 20480 0 b 0
sv/y 0 16384 a 0
EOF

# Linux's answers, each normalized to one status line.
mount -o loop "$W/linux.img" "$m" || { notok statuses "mount failed"; finish; }
while read -r s so len d do_; do
	out=$(cd "$m" && xfs_io -r -c "dedupe $s $so $do_ $len" "$d" 2>&1 | head -n1)
	python3 -c '
import errno, os, sys
o = sys.argv[1]
if o.startswith("deduped"): print(o)
elif "did not match" in o: print("differs")
else:
    t = o.split(": ")[-1]
    print("errno", next(e for e in range(1, 134) if os.strerror(e) == t))
' "$out"
done <"$W/calls" >"$W/linux.status"
umount "$m"

# ghee's, the same way.
{ echo "mount vda"; sed 's/^/dedupe \//; s/ \([a-z]\)/ \/\1/g' "$W/calls";
  echo umount; } >"$W/ghee.cmds"
timeout 300 "$GHEE" "$W/ghee.img" <"$W/ghee.cmds" >"$W/ghee.out" 2>&1
grep -E "^deduped|did not match|\(errno [0-9]+\)" "$W/ghee.out" |
	sed -E 's/.*did not match.*/differs/; s/.*\(errno ([0-9]+)\).*/errno \1/' \
	>"$W/ghee.status"
if diff "$W/linux.status" "$W/ghee.status" >"$W/status.diff"; then
	ok statuses
else
	notok statuses "ghee's statuses differ from Linux's"
	paste -d'|' "$W/calls" "$W/linux.status" "$W/ghee.status" | say
fi

if ! btrfs_check "$W/ghee.img"; then
	notok btrfs_check "btrfs check failed on ghee's image"
	for c in same_bytes_and_times same_sharing; do
		skip "$c" "btrfs check failed"
	done
	finish
fi
ok btrfs_check

# Per file: sha256, mtime, ctime; and each block's disk address.
describe() {
	mount -o loop,ro "$1" "$m" || return 1
	(cd "$m" && for f in a b c e f g h rep inl1 inl2 x sv/x sv/y snap/x; do
		echo "$f $(sha256sum <"$f" | cut -c1-16) $(stat -c '%Y %y %z' "$f")"
	done) >"$2.files"
	(cd "$m" && for f in a b c e f g h rep x sv/x sv/y snap/x; do
		xfs_io -r -c "fiemap" "$f" | awk -v f="$f" 'NR > 1 && $3 != "hole" {
			split($2, l, /[][.:]+/); split($3, p, /[.:]+/)
			for (i = l[2]; i <= l[3]; i += 8)
				print f, i / 8, p[1] + (i - l[2]) }'
	done) >"$2.map"
	umount "$m"
}
describe "$img" "$W/before" && describe "$W/linux.img" "$W/linux" &&
	describe "$W/ghee.img" "$W/ghee" ||
	{ notok same_bytes_and_times "a loop mount failed"; finish; }
if diff "$W/before.files" "$W/ghee.files" | say; then
	ok same_bytes_and_times
else
	notok same_bytes_and_times "bytes or times changed in ghee's image"
fi
if [ -s "$W/linux.map" ] && diff "$W/linux.map" "$W/ghee.map" | head -n 20 | say &&
   ! diff -q "$W/before.map" "$W/linux.map" >/dev/null; then
	ok same_sharing
else
	notok same_sharing "blocks shared differently from Linux"
fi
finish
