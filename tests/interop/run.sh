#!/bin/bash
# Interop tests of ghee's btrfs read path against btrfs-progs.
#
# Builds images with mkfs.btrfs (--rootdir from trees made by gen_tree.py,
# each supported feature set and node sizes 4K..64K), runs the host tool
# build/ghee on them through compare.py, and checks that ghee's listing and
# the SHA-256 of every file equal what the host computes from the source
# tree, and that ghee's fsck finds the image clean. Then damages images
# (corrupt.py) and checks each fails with a clear error and no crash, hang
# or wrong data.
#
# Output: KTAP ("ok N name", "not ok N name # why", "ok N name # SKIP why")
# and '#' comment lines only. Exit status 1 if any case failed.
# Scratch files live in build/interop/. GHEE=path overrides build/ghee.
set -u
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
HERE=$ROOT/tests/interop
W=$ROOT/build/interop
N=0
FAILED=0
PY=python3

echo "KTAP version 1"

ok() { N=$((N + 1)); echo "ok $N $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N $1 # $2"; }
skip() { N=$((N + 1)); echo "ok $N $1 # SKIP $2"; }
finish() { echo "1..$N"; [ "$FAILED" -eq 0 ]; exit $?; }

if ! command -v mkfs.btrfs >/dev/null || ! command -v btrfs >/dev/null; then
	skip interop "btrfs-progs not installed"
	finish
fi
if [ ! -x "$GHEE" ]; then
	notok interop "host tool $GHEE not built (make host)"
	finish
fi

rm -rf "$W"
mkdir -p "$W"
$PY "$HERE/gen_tree.py" "$W/full" full || { notok gen_tree "full tree"; finish; }
$PY "$HERE/gen_tree.py" "$W/small" small || { notok gen_tree "small tree"; finish; }

# mkimg NAME SIZE SRC|- MKFS-OPTIONS...: make $W/NAME.img; SRC "-" = empty fs.
mkimg() {
	local name=$1 size=$2 src=$3 img=$W/$1.img
	shift 3
	rm -f "$img"
	truncate -s "$size" "$img"
	if [ "$src" = - ]; then
		mkfs.btrfs -q -f "$@" "$img" >"$W/$name.mkfs" 2>&1
	else
		mkfs.btrfs -q -f "$@" --rootdir "$src" "$img" >"$W/$name.mkfs" 2>&1
	fi
}

# good NAME SIZE TREE MKFS-OPTIONS...: ghee must read the image exactly.
good() {
	local name=$1 size=$2 tree=$3 out
	shift 3
	if ! mkimg "$name" "$size" "$W/$tree" "$@"; then
		skip "$name" "mkfs.btrfs $* failed: $(tail -n1 "$W/$name.mkfs")"
		return
	fi
	out=$($PY "$HERE/compare.py" "$GHEE" "$W/$name.img" "$W/$tree" 2>&1)
	local rc=$?
	echo "$out" | sed 's/^\([^#]\)/# \1/'
	if [ $rc -ne 0 ]; then notok "$name" "ghee differs from the source tree"; return; fi
	out=$(printf 'fsck vda\n' | "$GHEE" "ro:$W/$name.img" 2>&1)
	echo "$out" | grep "^fsck:\|^error" | head -n 6 | sed 's/^/# /'
	if echo "$out" | grep -q "^fsck: .*: no errors$"; then ok "$name"; else notok "$name" "ghee fsck finds errors in a mkfs.btrfs image"; fi
}

# bad NAME IMAGE REGEX [TREE] [--allow]: a damaged image must fail clearly
# (output matching REGEX) without wrong data; with --allow it must instead
# read exactly, the REGEX being the warning of the recovery.
bad() {
	local name=$1 img=$2 re=$3 tree=${4:-small} mode=${5:-}
	local out rc
	if [ "$mode" = --allow ]; then
		out=$(timeout 150 $PY "$HERE/compare.py" --allow "$re" "$GHEE" "$img" "$W/$tree" 2>&1)
		rc=$?

	else
		out=$(timeout 150 $PY "$HERE/compare.py" --expect-error "$re" "$GHEE" "$img" "$W/$tree" 2>&1)
		rc=$?
	fi
	echo "$out" | sed 's/^\([^#]\)/# \1/'
	if [ $rc -eq 0 ]; then ok "$name"; else notok "$name" "see the lines above"; fi
}

# refused NAME REGEX MKFS-OPTIONS...: mount must fail naming the feature.
refused() {
	local name=$1 re=$2 out
	shift 2
	if ! mkimg "$name" 300M - "$@"; then
		skip "$name" "mkfs.btrfs $* failed"
		return
	fi
	out=$(printf 'mount vda\n' | timeout 60 "$GHEE" "$W/$name.img" 2>&1)
	echo "$out" | grep -E "$re" | sed 's/^/# /'
	if echo "$out" | grep -qE "$re" && echo "$out" | grep -q "^mount: vda:"; then
		ok "$name"
	else
		notok "$name" "mount did not fail naming the feature"
	fi
}

# --- images that must read back exactly --------------------------------
good rootdir_full_default 1G full
good rootdir_full_nodesize_4k 1G full -n 4096
for ns in 4096 8192 16384 32768 65536; do
	good "rootdir_small_nodesize_$((ns / 1024))k" 300M small -n $ns
done
good feature_explicit_holes 300M small -O ^no-holes
good feature_no_skinny_no_extref 300M small -O ^skinny-metadata,^extref
good feature_no_free_space_tree 300M small -R ^free-space-tree
good feature_quota 300M small -R quota
good feature_mixed_bg 300M small -O mixed-bg -n 4096
good profile_metadata_single 300M small -m single
good profile_data_dup 300M small -d dup -m dup
good profile_all_single 300M small -d single -m single
for csum in xxhash sha256 blake2; do
	good "csum_$csum" 300M small --csum $csum
done
if mkimg plain_empty 300M -; then
	out=$(printf 'mount vda\nls /\nfilesystem df\ninspect-internal dump-super\ninspect-internal dump-tree -t root\n' | "$GHEE" "$W/plain_empty.img" 2>&1)
	if echo "$out" | grep -q "^mounted vda" && echo "$out" | grep -q "^Metadata, DUP" &&
	   echo "$out" | grep -q "^magic.*_BHRfS_M" && ! echo "$out" | grep -qE "^error|: .*errno"; then
		ok plain_mkfs_empty
	else
		echo "$out" | head -n 5 | sed 's/^/# /'
		notok plain_mkfs_empty "mount/ls/df/dump of an empty filesystem"
	fi
else
	notok plain_mkfs_empty "mkfs.btrfs failed: $(tail -n1 "$W/plain_empty.mkfs")"
fi

# --- features ghee refuses, by name ------------------------------------
refused refuse_raid1c34 "unsupported incompat feature: raid1c34" -O raid1c34
refused refuse_raid56 "unsupported incompat feature: raid56" -O raid56

# --- damaged images ------------------------------------------------------
C="$PY $HERE/corrupt.py"
base=$W/rootdir_small_nodesize_16k.img
base4k=$W/rootdir_full_nodesize_4k.img
dmg() { cp --sparse=always "$1" "$W/$2.img"; echo "$W/$2.img"; }

img=$(dmg "$base" bad_super_primary)
$C flip "$img" $((65536 + 0x100))
bad super_primary_bad_uses_backup "$img" "primary superblock at 65536 is bad|using backup superblock" small --allow

img=$(dmg "$base" bad_super_all)
$C flip "$img" $((65536 + 0x100)) $((64 * 1048576 + 0x100))
bad super_all_copies_bad "$img" "no valid btrfs superblock"

chunk=$($PY - "$base" <<'PYEOF'
import subprocess, sys, re
out = subprocess.run(["btrfs", "inspect-internal", "dump-super", sys.argv[1]],
                     capture_output=True, text=True).stdout
print(re.search(r"^chunk_root\s+(\d+)", out, re.M).group(1))
PYEOF
)
img=$(dmg "$base" bad_chunk_one_copy)
$C flip "$img" $(($($C phys "$img" "$chunk" | head -n1) + 200))
bad chunk_tree_one_copy_bad_dup_fallback "$img" "tree block $chunk \\(tree 3\\) copy 1 of 2 is bad|tree block $chunk: using good copy 2" small --allow

img=$(dmg "$base" bad_chunk_both)
$C flip "$img" $(for p in $($C phys "$img" "$chunk"); do echo $((p + 200)); done)
bad chunk_tree_bad "$img" "corrupt tree block $chunk \\(tree 3"

node=$($C block "$base4k" fs node)
img=$(dmg "$base4k" bad_node)
$C flip "$img" $(for p in $($C phys "$img" "$node"); do echo $((p + 150)); done)
bad interior_node_bad "$img" "corrupt tree block $node \\(tree 5, level [1-7]\\)" full

leaf=$($C block "$base4k" fs leaf)
img=$(dmg "$base4k" bad_leaf_one)
$C flip "$img" $(($($C phys "$img" "$leaf" | head -n1) + 1000))
bad leaf_one_copy_bad_dup_fallback "$img" "tree block $leaf \\(tree 5\\) copy 1 of 2 is bad|tree block $leaf: using good copy 2" full --allow

img=$(dmg "$base4k" bad_leaf_both)
$C flip "$img" $(for p in $($C phys "$img" "$leaf"); do echo $((p + 1000)); done)
bad leaf_bad "$img" "corrupt tree block $leaf \\(tree 5, level 0\\)" full

data=$($C data "$base")
img=$(dmg "$base" bad_data)
$C flip "$img" $(($($C phys "$img" "$data" | head -n1) + 10))
bad data_block_bad "$img" "data checksum mismatch: subvolume 5 inode [0-9]+ offset [0-9]+"

img=$(dmg "$base" truncated)
truncate -s 25M "$img"
bad truncated_image "$img" "past the end of the device|image truncated"

head -c $((64 << 20)) /dev/urandom >"$W/not_btrfs.img"
bad not_btrfs "$W/not_btrfs.img" "mount: vda: not a btrfs filesystem"

head -c 4096 /dev/zero >"$W/tiny.img"
bad tiny_image "$W/tiny.img" "too small to hold btrfs"

finish
