#!/usr/bin/env bash
# Fuzz mount + walk + read (tests/host/fuzz_mount.c) with libFuzzer for
# SECONDS (default 30), from seeds made of fresh mkfs.btrfs images.
# Prints one KTAP case; a crash, sanitizer report, leak or timeout fails it
# and leaves the input in build/fuzz/.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
out=build/fuzz
mkdir -p "$out/corpus" "$out/seeds"

echo "KTAP version 1"
echo "1..1"
name=fuzz.mount_walk_read
if ! clang -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined \
	-Ibuild/hashes -Iinclude -Itests/host/include -D_GNU_SOURCE -DGHEE_VERSION='"fuzz"' \
	tests/host/fuzz_mount.c fs/*.c lib/*.c tests/host/shim/*.c -lpthread \
	-o "$out/fuzz_mount" 2>"$out/build.log"; then
	echo "not ok 1 $name # build failed (see $out/build.log)"
	exit 1
fi

# Seeds: a small populated image at two node sizes and an empty one.
if ! command -v mkfs.btrfs >/dev/null; then
	echo "ok 1 $name # SKIP mkfs.btrfs not installed: no seed images"
	exit 0
fi
tree=$out/tree
rm -rf "$tree" && mkdir -p "$tree/dir/sub"
echo hello > "$tree/hello.txt"
head -c 20000 /dev/urandom > "$tree/dir/blob"
ln -s hello.txt "$tree/link"
truncate -s 1M "$tree/dir/sub/sparse"
# seed_fail WHY: the seeds could not be made; fuzzing without them would
# only try inputs that fail at the superblock.
seed_fail() {
	echo "not ok 1 $name # seed images: $1"
	exit 1
}
rm -rf "$out/seeds" && mkdir -p "$out/seeds"
for ns in 4096 16384; do
	truncate -s 128M "$out/seed-$ns.img"
	mkfs.btrfs -q -f -n $ns --rootdir "$tree" "$out/seed-$ns.img" \
		>"$out/mkfs.log" 2>&1 || seed_fail "mkfs.btrfs -n $ns failed"
done
truncate -s 128M "$out/seed-empty.img"
mkfs.btrfs -q -f "$out/seed-empty.img" >"$out/mkfs.log" 2>&1 ||
	seed_fail "mkfs.btrfs failed"
python3 tests/host/fuzz_seed.py "$out/seeds" "$out"/seed-*.img >/dev/null ||
	seed_fail "fuzz_seed.py failed"
rm -f "$out"/seed-*.img
seeds=$(find "$out/seeds" -type f -size +4k | wc -l)
[ "$seeds" -ge 3 ] || seed_fail "$seeds made, want 3 or more"

"$out/fuzz_mount" -max_total_time="$seconds" -max_len=2000000 \
	-close_fd_mask=1 -rss_limit_mb=4096 -timeout=20 \
	-artifact_prefix="$out/" "$out/corpus" "$out/seeds" >"$out/fuzz.log" 2>&1
status=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/fuzz.log")
if [ $status -eq 0 ]; then
	echo "ok 1 $name # ${runs:-?} runs in $seconds s"
else
	echo "not ok 1 $name # libFuzzer status $status (see $out/fuzz.log and $out/crash-*)"
	exit 1
fi
