#!/usr/bin/env bash
# Fuzz with libFuzzer: mount + walk + read (tests/host/fuzz_mount.c) for
# SECONDS (default 30), from seeds made of fresh mkfs.btrfs images; then
# each decompression path of compressed extents (tests/host/fuzz_decompress.c
# built for zlib, lzo and zstd) for a sixth of it (at least 5 s), from
# seeds the codecs make. One KTAP case each; a crash, sanitizer report,
# leak or timeout fails it and leaves the input in build/fuzz/.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
out=build/fuzz
mkdir -p "$out/corpus" "$out/seeds"
. tests/host/fuzz_lib.sh	# FUZZ_CFLAGS, fuzz_codecs

echo "KTAP version 1"
echo "1..4"

n=0
if ! fuzz_codecs "$out/build.log"; then
	for c in zlib lzo zstd; do echo "not ok $((n += 1)) fuzz.decompress_$c # codecs build failed (see $out/build.log)"; done
	echo "not ok 4 fuzz.mount_walk_read # codecs build failed"
	exit 1
fi
codecs=$FUZZ_CODECS

# fuzz_decompress N TYPE NAME: build and run the decompression target of
# one codec for a sixth of the time, from seeds it writes itself.
fuzz_decompress() {
	local n=$1 type=$2 name=fuzz.decompress_$3 bin=$out/fuzz_$3 t=$((seconds / 6))
	[ $t -ge 5 ] || t=5
	if ! clang "${FUZZ_CFLAGS[@]}" -fsanitize=fuzzer,address,undefined -DFUZZ_TYPE="$type" \
		tests/host/fuzz_decompress.c fs/compress.c fs/compress_zlib.c \
		fs/compress_lzo.c fs/compress_zstd.c tests/host/shim/alloc.c \
		"$codecs" -o "$bin" 2>>"$out/build.log"; then
		echo "not ok $n $name # build failed (see $out/build.log)"
		return 1
	fi
	rm -rf "$out/seeds-$3" && mkdir -p "$out/seeds-$3" "$out/corpus-$3"
	FUZZ_SEED_DIR=$out/seeds-$3 "$bin" >/dev/null 2>&1
	if [ "$(ls "$out/seeds-$3" | wc -l)" -lt 4 ]; then
		echo "not ok $n $name # fewer than 4 seeds made"
		return 1
	fi
	"$bin" -max_total_time="$t" -max_len=140000 -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="$out/$3-" "$out/corpus-$3" "$out/seeds-$3" >"$out/fuzz-$3.log" 2>&1
	local status=$? runs
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/fuzz-$3.log")
	if [ $status -eq 0 ]; then
		echo "ok $n $name # ${runs:-?} runs in $t s"
	else
		echo "not ok $n $name # libFuzzer status $status (see $out/fuzz-$3.log and $out/$3-crash-*)"
		return 1
	fi
}
failed=0
fuzz_decompress 1 1 zlib || failed=1
fuzz_decompress 2 2 lzo || failed=1
fuzz_decompress 3 3 zstd || failed=1

name=fuzz.mount_walk_read
if ! clang "${FUZZ_CFLAGS[@]}" -fsanitize=fuzzer,address,undefined \
	tests/host/fuzz_mount.c fs/*.c lib/*.c tests/host/shim/*.c "$codecs" -lpthread \
	-o "$out/fuzz_mount" 2>>"$out/build.log"; then
	echo "not ok 4 $name # build failed (see $out/build.log)"
	exit 1
fi

# Seeds: a small populated image at two node sizes and an empty one.
if ! command -v mkfs.btrfs >/dev/null; then
	echo "ok 4 $name # SKIP mkfs.btrfs not installed: no seed images"
	exit $failed
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
	echo "not ok 4 $name # seed images: $1"
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
	echo "ok 4 $name # ${runs:-?} runs in $seconds s"
	exit $failed
else
	echo "not ok 4 $name # libFuzzer status $status (see $out/fuzz.log and $out/crash-*)"
	exit 1
fi
