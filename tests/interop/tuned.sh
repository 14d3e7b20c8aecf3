#!/bin/bash
# Interop: a filesystem made without skinny metadata and converted later
# with `btrfstune -x`, as many made before btrfs-progs 5.15 were. The
# tool only sets the feature bit: tree blocks Linux wrote before keep
# their (bytenr, EXTENT_ITEM, nodesize) items with a tree-block info,
# blocks written after get (bytenr, METADATA_ITEM, level), and a writer
# must find a tree block's item in either form (Linux retries the lookup
# with the other key).
#   1. mkfs.btrfs -O ^skinny-metadata; Linux fills it (a subvolume of
#      files and a tree of several levels, a reflink, a read-only
#      snapshot); btrfstune -x; Linux writes more and snapshots again;
#      the extent tree must hold tree blocks in both forms;
#   2. ghee imports, deletes, truncates, clones, snapshots and deletes
#      the first snapshot, each also done to a copy of the files on the
#      host (the model), and scrubs; `btrfs check` finds it clean, with
#      tree blocks still in both forms;
#   3. ghee runs a full balance (every tree block moves, its old item
#      goes); `btrfs check` and ghee's fsck find it clean; Linux mounts
#      it, reads every file as the model has it, writes, and btrfs check
#      is clean again.
# Output: KTAP and '#' lines. Needs root and loop devices; without them
# every case is reported as skipped, with the reason. Scratch files in
# build/interop-tuned/.
set -u -o pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
GHEE=${GHEE:-$ROOT/build/ghee}
W=$ROOT/build/interop-tuned
N=0
FAILED=0

. "$ROOT/tests/interop/lib.sh"	# KTAP lines, ghee_run, btrfs_check, fsck_clean

cases="linux_image_has_both_forms ghee_writes writes_check_clean ghee_balance check_clean fsck_clean linux_reads_every_file linux_writes_check_clean"
skip_all() { for c in $cases; do skip "$c" "$1"; done; finish; }

[ "$(id -u)" = 0 ] || skip_all "needs root for a loop mount"
command -v btrfstune >/dev/null || skip_all "btrfs-progs not installed"
[ -x "$GHEE" ] || { notok tuned "host tool $GHEE not built"; finish; }
rm -rf "$W" && mkdir -p "$W/mnt" "$W/src"
img=$W/tuned.img
m=$W/mnt
model=$W/model
truncate -s 1G "$img"
mkfs.btrfs -q -f -n 4096 -O ^skinny-metadata "$img" >"$W/mkfs.out" 2>&1 ||
	skip_all "mkfs.btrfs failed: $(head -n1 "$W/mkfs.out")"
mount -o loop "$img" "$m" 2>"$W/mount.err" ||
	skip_all "loop mount failed: $(head -n1 "$W/mount.err")"
btrfs -q subvolume create "$m/sv" >/dev/null
for i in $(seq 1 300); do
	head -c $((i * 997 % 70000 + 10)) /dev/urandom > "$m/sv/f$i"
done
mkdir "$m/sv/names"	# a tree of several levels
for i in $(seq 1 3000); do : > "$m/sv/names/a-rather-long-file-name-$i"; done
cp --reflink=always "$m/sv/f50" "$m/sv/r50"
btrfs -q subvolume snapshot -r "$m/sv" "$m/s1" >/dev/null
umount "$m"
btrfstune -x "$img" >"$W/tune.out" 2>&1 ||
	skip_all "btrfstune -x failed: $(head -n1 "$W/tune.out")"
mount -o loop "$img" "$m" || skip_all "loop mount failed after btrfstune"
mkdir "$m/sv/new"
for i in $(seq 1 1500); do echo "$i" > "$m/sv/new/n$i"; done
for i in $(seq 1 9 300); do
	head -c 3000 /dev/urandom | dd of="$m/sv/f$i" conv=notrunc status=none
done
btrfs -q subvolume snapshot "$m/sv" "$m/s2" >/dev/null
umount "$m"
btrfs check "$img" >"$W/check0.txt" 2>&1 ||
	skip_all "btrfs check fails on Linux's own image"

# forms: tree blocks by extent item form, as "OLD NEW": a key
# "(B EXTENT_ITEM 4096)" followed by "flags TREE_BLOCK", or a key
# "(B METADATA_ITEM L)".
forms() {
	btrfs inspect-internal dump-tree -t extent "$img" >"$W/extent.txt"
	echo "$(grep -A1 "EXTENT_ITEM 4096)" "$W/extent.txt" | grep -c "flags TREE_BLOCK")" \
		"$(grep -c "METADATA_ITEM" "$W/extent.txt")"
}
read -r old new < <(forms)
echo "# before ghee: $old tree blocks with an EXTENT_ITEM, $new with a METADATA_ITEM"
if [ "$old" -gt 50 ] && [ "$new" -gt 50 ]; then ok linux_image_has_both_forms
else notok linux_image_has_both_forms "$old EXTENT_ITEM, $new METADATA_ITEM tree blocks"; fi

mount -o loop,ro "$img" "$m" || skip_all "loop mount failed"
cp -a "$m/." "$model"
umount "$m"

# ghee's changes, each mirrored on the model.
for i in 1 2 3; do head -c $((i * 40000)) /dev/urandom > "$W/src/g$i"; done
ghee_cmds=("mount vda")
add() { ghee_cmds+=("$1"); }
add "import $W/src/g1 /sv/g1"; cp "$W/src/g1" "$model/sv/g1"
add "import $W/src/g2 /sv/names/g2"; cp "$W/src/g2" "$model/sv/names/g2"
for i in $(seq 100 3 400); do
	add "rm /sv/names/a-rather-long-file-name-$i"
	rm "$model/sv/names/a-rather-long-file-name-$i"
done
add "rm /sv/f7 /sv/f8 /sv/new/n5"; rm "$model/sv/f7" "$model/sv/f8" "$model/sv/new/n5"
add "truncate /sv/f10 100"; truncate -s 100 "$model/sv/f10"
add "cp --reflink=always /sv/f20 /sv/new/r20"; cp "$model/sv/f20" "$model/sv/new/r20"
add "sync"
add "subvolume snapshot /sv /gsnap"; cp -a "$model/sv" "$model/gsnap"
add "import $W/src/g3 /gsnap/g3"; cp "$W/src/g3" "$model/gsnap/g3"
add "rm /gsnap/f30 /s2/f31"; rm "$model/gsnap/f30" "$model/s2/f31"
add "subvolume delete /s1"; rm -rf "$model/s1"
add "subvolume sync /"
add "scrub start -B /"
add "fsck"
add "umount"
if printf '%s\n' "${ghee_cmds[@]}" | ghee_run "$W/ghee.out" "$img"; then
	grep -E "^(fsck:|scrub done|Error summary)" "$W/ghee.out" | say
	ok ghee_writes
else
	notok ghee_writes "a ghee command failed (see $W/ghee.out)"
fi
read -r old new < <(forms)
echo "# after ghee's writes: $old tree blocks with an EXTENT_ITEM, $new with a METADATA_ITEM"
if ! btrfs_check "$img"; then
	notok writes_check_clean "btrfs check finds errors after ghee's writes"
	finish
elif [ "$old" -gt 0 ]; then ok writes_check_clean
else notok writes_check_clean "no tree block kept its EXTENT_ITEM"; fi

if printf '%s\n' "mount vda" "btrfs balance start --full-balance /" \
	"fsck" "umount" | ghee_run "$W/balance.out" "$img"; then
	grep -E "^(Done|fsck:)" "$W/balance.out" | say
	ok ghee_balance
else
	notok ghee_balance "balance failed (see $W/balance.out)"
fi
if btrfs_check "$img"; then ok check_clean
else
	notok check_clean "btrfs check finds errors after ghee's changes"
	finish	# never loop-mount an image that fails btrfs check
fi
if fsck_clean "$img"; then ok fsck_clean
else notok fsck_clean "ghee's fsck finds errors"; fi

sums() { (cd "$1" && find . -type f | sort | xargs sha256sum); }
sums "$model" >"$W/want.txt"
mount -o loop "$img" "$m" || { notok linux_reads_every_file "Linux does not mount it"; finish; }
sums "$m" >"$W/got.txt"
if cmp -s "$W/want.txt" "$W/got.txt"; then ok linux_reads_every_file
else notok linux_reads_every_file "$(diff "$W/want.txt" "$W/got.txt" | grep '^[<>]' | head -n 2 | tr '\n' ' ')"; fi
for i in $(seq 1 200); do echo "$i" > "$m/sv/names/linux-$i"; done
rm -f "$m"/sv/f4?
umount "$m"
if btrfs_check "$img"; then ok linux_writes_check_clean
else notok linux_writes_check_clean "btrfs check finds errors after Linux's writes"; fi
finish
