#!/bin/bash
# Interop tests of compressed extents (zlib, lzo, zstd) against Linux and
# btrfs-progs. For each mount option OPT (compress=zstd, zstd:15, zlib:9,
# lzo, compress-force=zlib:1):
#   linux_OPT:  Linux (a loop mount with OPT) writes a varied tree:
#               compressible text, random data, small files it keeps
#               inline (compressed), sparse files, and partial
#               overwrites of compressed extents after a sync; the image
#               holds extents of that compression type, btrfs check
#               --check-data-csum passes, and ghee reads every file back
#               exactly (compare.py) and its fsck agrees.
#   change_OPT: ghee mounts Linux's image with OPT and changes it:
#               writes into the middle of compressed extents, into an
#               inline compressed file, truncates one, imports a new
#               tree, clones an inline compressed file and reflinks
#               compressed extents; btrfs check --check-data-csum passes, ghee's fsck
#               agrees, and only then Linux mounts it and reads every
#               file as the model (the host tree given the same changes).
#   ghee_OPT:   ghee's own writes with OPT on a fresh image: its extents
#               are of that type, btrfs check --check-data-csum passes,
#               and Linux reads every byte back.
# Then nocompress: incompressible data under compress=zstd is stored plain
# and its inode marked NOCOMPRESS, as Linux does, while compress-force
# keeps trying.
#
# Output: KTAP, '#' comments. Scratch files live in build/interop-compress/.
# GHEE=path overrides build/ghee. Needs root for the loop mounts; without
# them every case is skipped, with the reason.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
HERE=$ROOT/tests/interop
W=$ROOT/build/interop-compress
OPTS="compress=zstd compress=zstd:15 compress=zlib:9 compress=lzo compress-force=zlib:1"
N=0
FAILED=0

. "$HERE/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean
# case_name PREFIX OPT: "linux_zstd_15", "ghee_force_zlib_1".
case_name() { echo "$1_$(echo "$2" | sed 's/^compress=//; s/^compress-force=/force_/; s/:/_/')"; }
skip_all() {
	local o
	for o in $OPTS; do
		for c in linux change ghee; do skip "$(case_name $c "$o")" "$1"; done
	done
	skip nocompress "$1"
	finish
}

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
command -v btrfs >/dev/null || skip_all "btrfs-progs not installed"
[ -x "$GHEE" ] || { notok compress "host tool $GHEE not built (make host)"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt"
m=$W/mnt

# The tree Linux writes: gen_tree.py's small tree and text-like data.
python3 "$HERE/gen_tree.py" "$W/src" small >/dev/null || {
	notok compress "gen_tree.py failed"; finish; }
python3 - "$W/src" <<'EOF'
import os, random, sys
d = sys.argv[1]
r = random.Random(20)
words = [b"alpha", b"beta", b"gamma", b"extent", b"btrfs", b"ghee", b"\n"]
def text(n):
    return b" ".join(r.choice(words) for _ in range(n // 5))[:n]
os.mkdir(d + "/c")
for i, n in enumerate((300, 1500, 3000, 4000)):	# inline when small
    open(d + "/c/small%d.txt" % i, "wb").write(text(n))
open(d + "/c/words.txt", "wb").write(text(3 << 20))
open(d + "/c/seq.txt", "wb").write(b"".join(b"%d\n" % i for i in range(200000)))
with open(d + "/c/holes.txt", "wb") as f:	# text between holes
    for off in (0, 1 << 20, 5 << 20):
        f.seek(off)
        f.write(text(300000))
    f.truncate(8 << 20)
open(d + "/c/mixed", "wb").write(text(200000) + os.urandom(200000) + text(200000))
EOF

# overwrite ROOT: the partial overwrites Linux makes after a sync (the
# compressed extents exist, so these split them); applied to the model too.
overwrite() {
	python3 - "$1" <<'EOF'
import sys
d = sys.argv[1]
for name, off, data in (("c/words.txt", 70000, b"OVERWRITTEN" * 900),
                        ("c/seq.txt", 4096 * 40 + 11, b"x" * 5000),
                        ("c/holes.txt", (1 << 20) + 200000, b"y" * 70000)):
    with open(d + "/" + name, "r+b") as f:
        f.seek(off)
        f.write(data)
EOF
}
# ghee_changes: what ghee does to Linux's image (and change_model to the
# model): writes into compressed extents and an inline compressed file,
# a truncate into a compressed extent, a new imported tree.
ghee_changes() {
	printf '%s\n' "mount vda -o $1" "write /c/words.txt 1000000 300000 3" \
		"write /c/small2.txt 100 50 4" "write /c/seq.txt 5000 10 5" \
		"truncate /c/mixed 150001" "import $W/src/sizes /imported" \
		"clone /c/small3.txt 0 0 /c/from-inline 0" \
		"cp --reflink=always /c/seq.txt /c/seq.ref" \
		"sync" "umount"
}
change_model() {
	python3 - "$1" "$HERE" <<'EOF'
import shutil, sys
sys.path.insert(0, sys.argv[2])
from model import pattern
d = sys.argv[1]
for name, seed, off, n in (("c/words.txt", 3, 1000000, 300000),
                           ("c/small2.txt", 4, 100, 50),
                           ("c/seq.txt", 5, 5000, 10)):
    with open(d + "/" + name, "r+b") as f:
        f.seek(off)
        f.write(pattern(seed, off, n))
with open(d + "/c/mixed", "r+b") as f:
    f.truncate(150001)
shutil.copyfile(d + "/c/small3.txt", d + "/c/from-inline")
shutil.copyfile(d + "/c/seq.txt", d + "/c/seq.ref")
shutil.copytree(d + "/sizes", d + "/imported", symlinks=True)
EOF
}

# comp_types IMG: the compression types of the fs tree's extents.
comp_types() {
	btrfs inspect-internal dump-tree -t 5 "$1" | grep -oE "compression [0-9]" | sort -u | tr '\n' ' '
}
type_of() { case $1 in *zlib*) echo 1 ;; *lzo*) echo 2 ;; *zstd*) echo 3 ;; esac; }

# linux_reads IMG MODEL: Linux mounts the image and sees the model.
linux_reads() {
	mount -o loop,ro "$1" "$m" 2>"$W/mount.err" || { say <"$W/mount.err"; return 1; }
	diff -r --no-dereference "$2" "$m" >"$W/diff.txt" 2>&1
	local rc=$?
	umount "$m"
	[ $rc = 0 ] || { head -n 6 "$W/diff.txt" | say; return 1; }
}

for opt in $OPTS; do
	img=$W/linux.img model=$W/model want=$(type_of "$opt")
	rm -rf "$model" && cp -a "$W/src" "$model" && overwrite "$model"
	rm -f "$img" && truncate -s 512M "$img"
	name=$(case_name linux "$opt")
	if ! mkfs.btrfs -q -f "$img" >/dev/null 2>&1 ||
	   ! mount -o "loop,$opt" "$img" "$m" 2>"$W/mount.err"; then
		skip "$name" "mkfs.btrfs or the loop mount with $opt failed"
		skip "$(case_name change "$opt")" "no Linux image"
	else
		cp -a "$W/src/." "$m/" && sync && overwrite "$m"
		for f in words.txt seq.txt holes.txt; do touch -m -r "$m/c/$f" "$model/c/$f"; done
		umount "$m"
		types=$(comp_types "$img")
		echo "# $opt: Linux's extents have $types"
		if ! echo "$types" | grep -q "compression $want"; then
			notok "$name" "Linux wrote no extent of type $want"
		elif ! btrfs_check "$img" --check-data-csum; then
			notok "$name" "btrfs check fails on Linux's image"
		elif ! python3 "$HERE/compare.py" "$GHEE" "$img" "$model" >"$W/cmp.txt" 2>&1; then
			grep -v "^# [0-9]* paths" "$W/cmp.txt" | head -n 8
			notok "$name" "ghee reads differ from what Linux wrote"
		elif ! fsck_clean "$img"; then
			notok "$name" "ghee fsck finds errors in Linux's image"
		else
			ok "$name"
		fi
		name=$(case_name change "$opt")
		change_model "$model"
		ghee_changes "$opt" >"$W/changes.txt"
		if ! ghee_run "$W/changes.out" "$img" <"$W/changes.txt"; then
			notok "$name" "a ghee command failed"
		elif ! btrfs_check "$img" --check-data-csum; then
			notok "$name" "btrfs check fails after ghee's changes"
		elif ! fsck_clean "$img"; then
			notok "$name" "ghee fsck disagrees with btrfs check"
		elif ! linux_reads "$img" "$model"; then
			notok "$name" "Linux reads differ from the model"
		else
			ok "$name"
		fi
	fi

	name=$(case_name ghee "$opt")
	img=$W/ghee.img
	rm -f "$img" && truncate -s 512M "$img"
	printf '%s\n' "mkfs vda" "mount vda -o $opt" "import $W/src /" "sync" \
		"umount" >"$W/ghee.txt"
	if ! ghee_run "$W/ghee.out" "$img" <"$W/ghee.txt"; then
		notok "$name" "a ghee command failed"
	elif ! comp_types "$img" | grep -q "compression $want"; then
		notok "$name" "ghee wrote no extent of type $want ($(comp_types "$img"))"
	elif ! btrfs_check "$img" --check-data-csum; then
		notok "$name" "btrfs check fails on ghee's image"
	elif ! linux_reads "$img" "$W/src"; then
		notok "$name" "Linux reads differ from what ghee wrote"
	else
		ok "$name"
	fi
done

# Incompressible data: under compress=zstd a file of random bytes is
# stored plain and its inode gets NOCOMPRESS (flags 0x8), so text copied
# into it later stays plain too; under compress-force the same sequence
# compresses the text and leaves the flag off.
img=$W/nocomp.img
rm -f "$img" && truncate -s 256M "$img"
head -c 500000 /dev/urandom >"$W/random.bin"
printf '%s\n' "mkfs vda" "mount vda -o compress=zstd" "import $W/random.bin /r" \
	"import $W/src/c/seq.txt /s" "cp --reflink=never /s /r" "umount" \
	"mount vda -o compress-force=zstd" "import $W/random.bin /f" \
	"cp --reflink=never /s /f" "stat /r" "stat /s" "stat /f" "umount" >"$W/nocomp.txt"
# flags_of NAME: the Flags stat printed for /NAME; ino_of NAME its inode.
flags_of() { grep -A5 "^ghee> stat /$1\$" "$W/nocomp.out" | grep -oE "Flags: 0x[0-9a-f]+"; }
ino_of() { grep -A5 "^ghee> stat /$1\$" "$W/nocomp.out" | grep -oE "Inode: [0-9]+" | cut -d' ' -f2; }
# comp_of NAME: the compression types of /NAME's extents.
comp_of() {
	btrfs inspect-internal dump-tree -t 5 "$img" | grep -A4 "($(ino_of "$1") EXTENT_DATA " |
		grep -oE "compression [0-9]" | sort -u | tr '\n' ' '
}
if ! ghee_run "$W/nocomp.out" "$img" <"$W/nocomp.txt"; then
	notok nocompress "a ghee command failed"
elif ! btrfs_check "$img" --check-data-csum; then
	notok nocompress "btrfs check fails"
else
	for f in r s f; do echo "# /$f: $(flags_of $f), $(comp_of $f)"; done
	if [ "$(flags_of r)" != "Flags: 0x8" ] || [ "$(comp_of r)" != "compression 0 " ]; then
		notok nocompress "random data's inode not NOCOMPRESS, or the text copied in compressed"
	elif [ "$(flags_of s)" != "Flags: 0x0" ] || [ "$(comp_of s)" != "compression 3 " ]; then
		notok nocompress "text under compress=zstd not compressed"
	elif [ "$(flags_of f)" != "Flags: 0x0" ] || [ "$(comp_of f)" != "compression 3 " ]; then
		notok nocompress "compress-force gave up on the inode"
	else
		ok nocompress
	fi
fi
finish
