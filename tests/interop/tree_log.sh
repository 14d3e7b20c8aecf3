#!/bin/bash
# Interop: tree-log replay. Linux (the host kernel, a loop mount with
# commit=3600 so no transaction commits on its own) makes a file system,
# commits a base state with sync, then changes it and fsyncs: the fsync
# writes the tree-log and a superblock naming it. A copy of the image
# taken then is what a crash leaves (dump-super must show log_root set).
# For each case:
#   - Linux mounts one copy (its own replay): the reference;
#   - ghee mounts another copy read-write, which must replay the log;
#   - `btrfs check` and ghee's fsck find that copy clean, no log left;
#   - ghee's view of it equals the reference (compare.py: paths, ls -l,
#     sha256sum);
#   - Linux mounts ghee's result and sees what it saw after its own
#     replay (names, sizes, link counts, data, xattrs);
#   - ghee then writes to it (the space the log held is usable, the
#     space it named is not handed out twice) and btrfs check agrees.
# A read-only mount of a copy with a log must say it does not show it.
# The cases named old_NAME are NAME on a file system made as mkfs.btrfs
# did before 5.15 (-O ^no-holes,^skinny-metadata): Linux logs the hole
# items too, and ghee's replay copies them.
#
# Output: KTAP and '#' lines. Needs root, loop devices and btrfs; without
# them every case is skipped with the reason.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-tree-log
N=0
FAILED=0

cases="new_file inline_file append overwrite_middle rename unlink_dir_fsync
new_dir hard_link xattrs punch_hole truncate subvolumes many_extents
fsync_twice old_append old_punch_hole old_truncate old_sparse
old_many_extents"
checks="replayed checks_clean ghee_view linux_view writes_after"

echo "KTAP version 1"
echo "1..$(($(echo $cases | wc -w) * $(echo $checks | wc -w) + 4))"
ok() { N=$((N + 1)); echo "ok $N $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N $1 # $2"; }
skipn() { N=$((N + 1)); echo "ok $N $1 # SKIP $2"; }
say() { sed 's/^/# /'; }
finish() { [ "$FAILED" -eq 0 ]; exit $?; }
skip_all() {
	skipn ro_mount_says_what_it_hides "$1"
	skipn unreplayable_refused_rw "$1"
	skipn unreplayable_ro_says_why "$1"
	skipn replay_survives_power_cuts "$1"
	for c in $cases; do for k in $checks; do skipn "${c}_$k" "$1"; done; done
	finish
}

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
grep -qw btrfs /proc/filesystems 2>/dev/null || modprobe btrfs 2>/dev/null ||
	skip_all "no btrfs module"
command -v mkfs.btrfs >/dev/null || skip_all "mkfs.btrfs not installed"
[ -x "$GHEE" ] || { notok tree_log "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt" "$W/ref" "$W/got"
M=$W/mnt

fsync() { python3 -c 'import os,sys
for p in sys.argv[1:]:
    fd = os.open(p, os.O_RDONLY); os.fsync(fd); os.close(fd)' "$@"; }
rnd() { head -c "$1" /dev/urandom; }
forget() { btrfs device scan --forget >/dev/null 2>&1; }

# Each case: base_NAME makes the committed state, log_NAME the changes
# and the fsyncs that leave them in the log. Linux commits instead of
# logging for some changes (a rename into another directory; a change to
# a file of more than about 128 KiB written in an earlier transaction, on
# the 6.x host kernel): the cases avoid those, and a copy without a log
# fails its case rather than pass it.
base_new_file() { echo base >"$M/old"; }
log_new_file() { rnd 300000 >"$M/f"; fsync "$M/f"; }
base_inline_file() { :; }
log_inline_file() { echo "small inline data" >"$M/s"; fsync "$M/s"; }
base_append() { rnd 100000 >"$M/a"; }
log_append() { rnd 50000 >>"$M/a"; fsync "$M/a"; }
base_overwrite_middle() { rnd 100000 >"$M/o"; }
log_overwrite_middle() {
	dd if=/dev/urandom of="$M/o" bs=4096 seek=8 count=4 conv=notrunc \
		2>/dev/null
	fsync "$M/o"
}
base_rename() { rnd 20000 >"$M/a"; echo c >"$M/c"; }
log_rename() { mv "$M/a" "$M/b"; mv "$M/c" "$M/a"; fsync "$M/b" "$M/a"; }
base_unlink_dir_fsync() { mkdir "$M/d"; rnd 9000 >"$M/d/x"; echo y >"$M/d/y"; }
log_unlink_dir_fsync() { rm "$M/d/x"; fsync "$M/d"; }
base_new_dir() { :; }
log_new_dir() {
	mkdir -p "$M/n/sub"
	rnd 70000 >"$M/n/1"; echo two >"$M/n/2"; ln -s 1 "$M/n/sub/l"
	fsync "$M/n/1" "$M/n/2" "$M/n/sub" "$M/n"
}
base_hard_link() { rnd 5000 >"$M/f"; }
log_hard_link() { ln "$M/f" "$M/g"; fsync "$M/f"; }
base_xattrs() { rnd 5000 >"$M/x"; setfattr -n user.old -v gone "$M/x"; }
log_xattrs() {
	setfattr -x user.old "$M/x"; setfattr -n user.new -v here "$M/x"
	fsync "$M/x"
}
base_punch_hole() { rnd 100000 >"$M/p"; }
log_punch_hole() { fallocate -p -o 32768 -l 32768 "$M/p"; fsync "$M/p"; }
base_truncate() { rnd 100000 >"$M/t"; }
log_truncate() { truncate -s 30000 "$M/t"; fsync "$M/t"; }
base_subvolumes() {
	btrfs -q subvolume create "$M/sv" >/dev/null
	btrfs -q subvolume create "$M/sv2" >/dev/null
	echo top >"$M/sv2/keep"
}
log_subvolumes() {
	rnd 40000 >"$M/sv/a"; rnd 60000 >"$M/sv2/b"; echo t >"$M/top"
	fsync "$M/sv/a" "$M/sv2/b" "$M/top"
}
base_many_extents() { :; }
log_many_extents() {	# 600 extents: a log tree of two levels
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
for i in range(600):
    os.pwrite(fd, os.urandom(4096), i * 8192)
os.fsync(fd)' "$M/many"
}
base_sparse() { rnd 10000 >"$M/s"; }
log_sparse() {		# a write past the end: a hole item before it
	python3 -c 'import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY)
os.pwrite(fd, os.urandom(5000), 300000)
os.fsync(fd)' "$M/s"
}
base_fsync_twice() { rnd 50000 >"$M/t"; }
log_fsync_twice() {
	rnd 30000 >>"$M/t"; fsync "$M/t"
	rnd 30000 >>"$M/t"; echo n >"$M/n"; fsync "$M/t" "$M/n"
}

# make_log_once NAME: $W/NAME.log.img, a copy taken right after the fsyncs.
make_log_once() {
	local img=$W/$1.img fn=${1#old_} opts=
	[ "$fn" = "$1" ] || opts="-O ^no-holes,^skinny-metadata"
	rm -f "$img" "$W/$1.log.img"
	truncate -s 256M "$img"
	mkfs.btrfs -q -f $opts "$img" >/dev/null 2>&1 || return 1
	mount -o loop,commit=3600 "$img" "$M" 2>"$W/mount.err" || return 1
	"base_$fn" && sync && "log_$fn"
	cp --sparse=always "$img" "$W/$1.log.img"
	umount "$M"
	forget
	rm -f "$img"
}

log_root_of() {
	btrfs inspect-internal dump-super "$1" | awk '/^log_root\t/ {print $2}'
}

# make_log NAME: $W/NAME.log.img, a copy holding the fsyncs in its log.
# A sync anywhere on the machine (another test's) commits every mounted
# btrfs and so may empty the log before the copy: then try again, twice.
make_log() {
	local try
	for try in 1 2 3; do
		make_log_once "$1" || return 1
		[ "$(log_root_of "$W/$1.log.img")" != 0 ] && return 0
		echo "# $1: the copy holds no log (try $try)"
	done
	return 0
}

# listing DIR: every path with type, mode, links, size, digest, xattrs.
listing() {
	python3 - "$1" <<'EOF'
import hashlib, os, stat, sys
top = sys.argv[1]
for root, dirs, files in sorted(os.walk(top)):
    for n in sorted([""] if root == top else []) + sorted(dirs + files):
        p = os.path.join(root, n) if n else root
        st = os.lstat(p)
        rel = os.path.relpath(p, top)
        line = "%s %o" % (rel, st.st_mode)
        if stat.S_ISREG(st.st_mode):
            line += " nlink=%d size=%d %s" % (st.st_nlink, st.st_size,
                hashlib.sha256(open(p, "rb").read()).hexdigest()[:16])
        elif stat.S_ISLNK(st.st_mode):
            line += " -> " + os.readlink(p)
        if not stat.S_ISLNK(st.st_mode):
            for x in sorted(os.listxattr(p)):
                line += " %s=%r" % (x, os.getxattr(p, x))
        print(line)
EOF
}

# A read-only mount leaves the log alone and says what it does not show.
if make_log new_file 2>/dev/null; then
	out=$(printf 'mount vda ro\nls /\n' | timeout 60 "$GHEE" "ro:$W/new_file.log.img" 2>&1)
	if echo "$out" | grep -q "tree-log holds fsyncs of [1-9][0-9]* inodes\? in 1 subvolume that a read-only mount does not show" &&
	   ! echo "$out" | grep -qx "f"; then
		ok ro_mount_says_what_it_hides
	else
		echo "$out" | say
		notok ro_mount_says_what_it_hides "no message, or the log shown"
	fi
else
	notok ro_mount_says_what_it_hides "making the image failed"
fi

run_case() {
	local c=$1 log=$W/$1.log.img ref=$W/$1.ref.img got=$W/$1.ghee.img out
	if [ ! -f "$log" ] && ! make_log "$c"; then
		for k in $checks; do notok "${c}_$k" "making the image failed"; done
		return
	fi
	if [ "$(log_root_of "$log")" = 0 ]; then
		for k in $checks; do notok "${c}_$k" "the copy holds no log"; done
		return
	fi
	cp --sparse=always "$log" "$ref"
	cp --sparse=always "$log" "$got"
	out=$(printf 'mount vda\numount\n' | timeout 120 "$GHEE" "$got" 2>&1)
	if echo "$out" | grep -q "tree-log replayed" &&
	   ! echo "$out" | grep -qE "^error|failed|aborted"; then
		ok "${c}_replayed"
	else
		echo "$out" | say
		notok "${c}_replayed" "ghee did not replay the log"
	fi
	out=$(btrfs check "$got" 2>&1)
	fsck=$(printf 'fsck vda\n' | timeout 120 "$GHEE" "ro:$got" 2>&1)
	if echo "$out" | grep -q "no error found" &&
	   [ "$(log_root_of "$got")" = 0 ] &&
	   echo "$fsck" | grep -q "^fsck: vda .*: no errors$"; then
		ok "${c}_checks_clean"
	else
		echo "$out" | grep -vE "^\[|^Opening|^Checking|^UUID" | head -n 12 | say
		echo "$fsck" | grep -E "^fsck|^error" | head -n 6 | say
		notok "${c}_checks_clean" "btrfs check or ghee's fsck is not clean, or the log is left"
		for k in ghee_view linux_view writes_after; do notok "${c}_$k" "not checked: the image is not clean"; done
		return
	fi
	if ! mount -o loop "$ref" "$W/ref"; then
		for k in ghee_view linux_view writes_after; do notok "${c}_$k" "Linux cannot mount its copy"; done
		forget
		return
	fi
	if python3 tests/interop/compare.py "$GHEE" "$got" "$W/ref" >"$W/$c.cmp" 2>&1; then
		ok "${c}_ghee_view"
	else
		say <"$W/$c.cmp" | head -n 12
		notok "${c}_ghee_view" "ghee's view differs from Linux's replay"
	fi
	listing "$W/ref" >"$W/$c.want"
	# The copies share one fsid: Linux must forget the first before it
	# mounts the second, or it would show the first again.
	umount "$W/ref"
	forget
	if mount -o loop,ro "$got" "$W/got"; then
		listing "$W/got" >"$W/$c.got"
		umount "$W/got"
		forget
		if diff "$W/$c.want" "$W/$c.got" >"$W/$c.diff"; then
			ok "${c}_linux_view"
		else
			say <"$W/$c.diff" | head -n 12
			notok "${c}_linux_view" "Linux sees ghee's replay differ from its own"
		fi
	else
		notok "${c}_linux_view" "Linux cannot mount ghee's replay"
	fi
	out=$(printf 'mount vda\nwrite /after 0 3000000 7\nwrite /after2 0 5000 8\nrm /after\nsync\nwrite /after3 0 2000000 9\numount\n' |
	      timeout 120 "$GHEE" "$got" 2>&1)
	if ! echo "$out" | grep -qE "^error|errno|aborted" &&
	   btrfs check "$got" 2>&1 | grep -q "no error found"; then
		ok "${c}_writes_after"
	else
		echo "$out" | grep -E "^error|errno|aborted" | head -n 6 | say
		notok "${c}_writes_after" "writing after the replay failed or left errors"
	fi
}

for c in $cases; do run_case "$c"; done

# A log ghee cannot replay (DIR_LOG_ITEM ranges, as older kernels wrote):
# a read-write mount is refused with the reason and changes nothing; a
# read-only mount says what it does not show, and why.
bad=$W/unreplayable.img
if cp --sparse=always "$W/unlink_dir_fsync.log.img" "$bad" 2>/dev/null &&
   python3 tests/interop/log_patch.py "$bad"; then
	sum=$(sha256sum <"$bad")
	out=$(printf 'mount vda\nls /d\n' | timeout 60 "$GHEE" "$bad" 2>&1)
	if echo "$out" | grep -q "mounting read-only: the tree-log holds DIR_LOG_ITEM ranges" &&
	   echo "$out" | grep -q "^mounted vda read-only" &&
	   [ "$(sha256sum <"$bad")" = "$sum" ]; then
		ok unreplayable_refused_rw
	else
		echo "$out" | say
		notok unreplayable_refused_rw "not refused with the reason, or the image changed"
	fi
	out=$(printf 'mount vda ro\n' | timeout 60 "$GHEE" "ro:$bad" 2>&1)
	if echo "$out" | grep -q "a read-only mount does not show; not replayable: the tree-log holds DIR_LOG_ITEM ranges"; then
		ok unreplayable_ro_says_why
	else
		echo "$out" | say
		notok unreplayable_ro_says_why "the read-only mount does not say what it hides and why"
	fi
else
	notok unreplayable_refused_rw "could not make the image (log_patch.py)"
	notok unreplayable_ro_says_why "could not make the image (log_patch.py)"
fi
# A power cut at each write of the replay (the host suite's case, on the
# fault device, with three of these logs): the survivor replays again.
HOSTTEST=$ROOT/build/tests/host_tests
imgs="$W/new_dir.log.img $W/subvolumes.log.img $W/unlink_dir_fsync.log.img"
if [ ! -x "$HOSTTEST" ]; then
	notok replay_survives_power_cuts "$HOSTTEST not built"
elif out=$(GHEE_TREE_LOG_IMAGES="$imgs" "$HOSTTEST" \
	   tree_log.replay_survives_power_cuts 2>&1) &&
     echo "$out" | grep -q "^ok 1 tree_log.replay_survives_power_cuts$"; then
	echo "$out" | grep "^# " | say
	ok replay_survives_power_cuts
else
	echo "$out" | grep -E "^#|^not ok|^ok|tree differs|want" | head -n 20 | say
	notok replay_survives_power_cuts "a survivor of a cut replay is wrong"
fi

echo "# $((N - FAILED)) passed, $FAILED failed"
finish
