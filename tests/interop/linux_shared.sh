#!/bin/bash
# Interop: an image the Linux kernel's btrfs wrote with shared extents
# (cp --reflink, a FICLONERANGE of a middle part, a reflinked inline
# file), a subvolume, extended attributes (many on one file, on a
# directory, on a symlink, empty and binary values), devices, a FIFO, a
# socket and owners, mounted read-write in ghee and changed there: clones into and
# out of the shared extents and across subvolumes (the inline file's
# bytes copied), a write into the middle of a shared extent, xattrs
# replaced, removed and added, one reflinked copy removed, chown, mknod.
# A host copy of the tree (the model) gets the same changes. Then:
#   1. `btrfs check` passes;  2. ghee's fsck agrees;
#   3. ghee's view matches the model (compare.py: names, modes, owners,
#      devices, sizes, data, xattrs);
#   4. Linux mounts it again: its view matches the model (model.py
#      compare), attr's getfattr -d prints what ghee's prints, and
#      `btrfs scrub` is clean.
#
# Output: KTAP and '#' lines. Needs root and loop devices; without them
# every case is reported as skipped, with the reason.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
HERE=$ROOT/tests/interop
W=$ROOT/build/interop-shared
N=0
FAILED=0

echo "KTAP version 1"
ok() { N=$((N + 1)); echo "ok $N $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N $1 # $2"; }
finish() { echo "1..$N"; echo "$((N - FAILED)) passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }
cases="ghee_changes btrfs_check ghee_fsck ghee_view linux_view getfattr_layout scrub"
skip_all() { for c in $cases; do N=$((N + 1)); echo "ok $N $c # SKIP $1"; done; finish; }
say() { sed 's/^/# /'; }

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
command -v btrfs >/dev/null || skip_all "btrfs-progs not installed"
[ -x "$GHEE" ] || { notok linux_shared "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
img=$W/linux.img m=$W/mnt model=$W/model
truncate -s 512M "$img"
mkfs.btrfs -q -f "$img" >/dev/null 2>&1 || skip_all "mkfs.btrfs failed"
mount -o loop "$img" "$m" 2>"$W/mount.err" ||
	skip_all "loop mount failed: $(head -n1 "$W/mount.err")"

# What Linux makes. clone(SRC, SRC_OFF, LEN, DST, DST_OFF) is FICLONERANGE.
python3 - "$m" <<'EOF'
import fcntl, os, struct, sys
m = sys.argv[1]
def clone(src, soff, n, dst, doff):
    with open(src, "rb") as s, open(dst, "r+b") as d:
        fcntl.ioctl(d.fileno(), 0x4020940d,
                    struct.pack("=qQQQ", s.fileno(), soff, n, doff))
def put(p, data):
    with open(p, "wb") as f:
        f.write(data)
os.mkdir(m + "/d")
put(m + "/d/big", os.urandom(3 << 20))
put(m + "/d/mid", os.urandom(1 << 20))
clone(m + "/d/big", 1 << 20, 256 << 10, m + "/d/mid", 512 << 10)
put(m + "/inline.txt", b"a small file that Linux keeps inline\n")
put(m + "/empty", b"")
# The model's filesystem (ext4) holds one block of xattrs per inode.
for i in range(60):
    os.setxattr(m + "/d/big", "user.attr%02d" % i, os.urandom(i % 8 * 3))
os.setxattr(m + "/d/big", "user.empty", b"")
os.setxattr(m + "/d", "user.dir", b"on a directory")
os.setxattr(m + "/inline.txt", "trusted.t", b"\x00\x01binary\xff")
os.symlink("inline.txt", m + "/link")
os.setxattr(m + "/link", "trusted.on-link", b"x", follow_symlinks=False)
os.mknod(m + "/chr", 0o20640, os.makedev(10, 200))
os.mkfifo(m + "/fifo", 0o600)
import socket
socket.socket(socket.AF_UNIX).bind(m + "/sock")
os.chown(m + "/d/mid", 1000, 100)
EOF
[ $? = 0 ] || { umount "$m"; notok ghee_changes "Linux's writes failed"; finish; }
btrfs -q subvolume create "$m/sv" >/dev/null &&
head -c 300000 /dev/urandom >"$m/sv/s" &&
cp --reflink=always "$m/d/big" "$m/d/big.ref" &&
cp --reflink=always "$m/inline.txt" "$m/inline.ref" || {
	umount "$m"; notok ghee_changes "Linux could not reflink"; finish; }
sync
rm -rf "$model" && cp -a "$m" "$model" || {
	umount "$m"; notok ghee_changes "the model copy failed"; finish; }
umount "$m"
if ! btrfs check "$img" >"$W/check0.txt" 2>&1; then
	notok ghee_changes "btrfs check failed on Linux's own image"
	finish
fi

# The same changes in ghee and in the model.
cat >"$W/changes.sh" <<'EOF'
mount vda
clone /inline.txt 0 0 /d/from-inline 0
clone /d/big 0 0 /d/big.copy 0
clone /d/big 0 1048576 /sv/from-big 0
clone /sv/s 0 0 /d/from-sv 0
clone /d/mid 0 1048576 /d/big 2097152
write /d/big.ref 1000000 70000 5
clone /d/big.ref 524288 262144 /d/big.ref 2621440
setfattr -n user.attr07 -v 0x00ff00ff /d/big
setfattr -x user.attr03 /d/big
setfattr -n user.added -v "from ghee" /d/mid
setfattr -h -x trusted.on-link /link
setfattr -n trusted.t2 -v 0sAAEC /fifo
rm /d/big.copy
cp --reflink /d/big /d/big.again
chown 7:8 /inline.ref
mknod /blk b 8 16
sync
fsck
umount
EOF
python3 - "$model" <<'EOF'
import os, shutil, sys
sys.path.insert(0, os.environ.get("HERE", "tests/interop"))
from model import pattern
m = sys.argv[1]
def clone(src, soff, n, dst, doff):
    with open(m + src, "rb") as f:
        f.seek(soff)
        data = f.read(n) if n else f.read()
    mode = "r+b" if os.path.exists(m + dst) else "wb"
    with open(m + dst, mode) as f:
        f.seek(doff)
        f.write(data)
    if mode == "wb":
        os.chmod(m + dst, 0o644)
clone("/inline.txt", 0, 0, "/d/from-inline", 0)
clone("/d/big", 0, 0, "/d/big.copy", 0)
clone("/d/big", 0, 1 << 20, "/sv/from-big", 0)
clone("/sv/s", 0, 0, "/d/from-sv", 0)
clone("/d/mid", 0, 1 << 20, "/d/big", 2 << 20)
with open(m + "/d/big.ref", "r+b") as f:
    f.seek(1000000)
    f.write(pattern(5, 1000000, 70000))
clone("/d/big.ref", 512 << 10, 256 << 10, "/d/big.ref", 2560 << 10)
os.setxattr(m + "/d/big", "user.attr07", b"\x00\xff\x00\xff")
os.removexattr(m + "/d/big", "user.attr03")
os.setxattr(m + "/d/mid", "user.added", b"from ghee")
os.removexattr(m + "/link", "trusted.on-link", follow_symlinks=False)
os.setxattr(m + "/fifo", "trusted.t2", b"\x00\x01\x02")
os.unlink(m + "/d/big.copy")
shutil.copyfile(m + "/d/big", m + "/d/big.again")
os.chmod(m + "/d/big.again", 0o644)
os.chown(m + "/inline.ref", 7, 8)
os.mknod(m + "/blk", 0o60644, os.makedev(8, 16))
EOF
[ $? = 0 ] || { notok ghee_changes "the model's changes failed"; finish; }
timeout 120 "$GHEE" "$img" <"$W/changes.sh" >"$W/changes.out" 2>&1
if grep -qE "^error|errno|usage:|aborted" "$W/changes.out" ||
   ! grep -q "^fsck: .*: no errors$" "$W/changes.out"; then
	grep -E -B1 "^error|errno|usage:|aborted|^fsck" "$W/changes.out" | head -n 10 | say
	notok ghee_changes "a ghee command failed"
	finish
fi
ok ghee_changes

# Times are not part of this test: give both the model's.
times() {
	python3 -c "import sys; sys.path.insert(0, '$HERE'); import model; model.set_times(sys.argv[1])" "$1"
}
times "$model"
python3 -c "import sys; sys.path.insert(0, '$HERE'); import model; model.times_script(sys.argv[1], sys.argv[2])" "$model" "$W/times.sh"
{ echo "mount vda"; cat "$W/times.sh"; echo "umount"; } >"$W/times2.sh"
timeout 120 "$GHEE" "$img" <"$W/times2.sh" >"$W/times.out" 2>&1

if btrfs check "$img" >"$W/check1.txt" 2>&1; then
	ok btrfs_check
else
	grep -vE "^\[|^Opening|^Checking|^UUID" "$W/check1.txt" | head -n 12 | say
	notok btrfs_check "btrfs check found errors after ghee's changes"
	finish
fi
out=$(printf 'fsck vda\n' | "$GHEE" "ro:$img" 2>&1)
echo "$out" | grep "^fsck:\|^error" | head -n 4 | say
if echo "$out" | grep -q "^fsck: .*: no errors$"; then
	ok ghee_fsck
else
	notok ghee_fsck "ghee's fsck disagrees with btrfs check"
fi
if python3 "$HERE/compare.py" "$GHEE" "$img" "$model" | say; then
	ok ghee_view
else
	notok ghee_view "ghee's view differs from the model"
fi
# getfattr's text layout, value encodings chosen alike: ghee's (leading
# '/' removed) against attr's getfattr on Linux's mount.
paths="d/big inline.txt d fifo link d/mid"
got=$(printf 'mount vda ro\ngetfattr -d -m - %s\n' "$(echo /$paths | sed 's# # /#g')" |
	"$GHEE" "ro:$img" 2>&1 | grep -vE "^ghee> |^mounted |^getfattr: Removing")
if mount -o loop "$img" "$m" 2>"$W/mount.err"; then
	if python3 "$HERE/model.py" compare "$m" "$model" | say; then
		ok linux_view
	else
		notok linux_view "Linux's view differs from the model"
	fi
	want=$(cd "$m" && getfattr -d -m - $paths 2>/dev/null)
	if [ -n "$want" ] && [ "$got" = "$want" ]; then
		ok getfattr_layout
	else
		diff <(echo "$want") <(echo "$got") | head -n 10 | say
		notok getfattr_layout "ghee's getfattr output differs from attr's"
	fi
	btrfs filesystem du -s "$m/d" 2>&1 | say
	if btrfs scrub start -B "$m" >"$W/scrub.out" 2>&1 &&
	   ! grep -qiE "error(s)? *: *[1-9]|uncorrectable|csum_errors: *[1-9]" "$W/scrub.out"; then
		ok scrub
	else
		say <"$W/scrub.out"
		notok scrub "scrub found errors"
	fi
	umount "$m"
else
	notok linux_view "Linux cannot mount the image: $(head -n1 "$W/mount.err")"
	notok getfattr_layout "not mounted"
	notok scrub "not mounted"
fi
finish
