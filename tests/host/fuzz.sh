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
	-Iinclude -Itests/host/include -D_GNU_SOURCE -DGHEE_VERSION='"fuzz"' \
	tests/host/fuzz_mount.c fs/*.c lib/*.c tests/host/shim/*.c -lpthread \
	-o "$out/fuzz_mount" 2>"$out/build.log"; then
	echo "not ok 1 $name # build failed (see $out/build.log)"
	exit 1
fi

# Seeds: a small populated image at two node sizes and an empty one.
tree=$out/tree
rm -rf "$tree" && mkdir -p "$tree/dir/sub"
echo hello > "$tree/hello.txt"
head -c 20000 /dev/urandom > "$tree/dir/blob"
ln -s hello.txt "$tree/link"
truncate -s 1M "$tree/dir/sub/sparse"
for ns in 4096 16384; do
	truncate -s 128M "$out/seed-$ns.img"
	mkfs.btrfs -q -f -n $ns --rootdir "$tree" "$out/seed-$ns.img" >/dev/null
done
truncate -s 128M "$out/seed-empty.img"
mkfs.btrfs -q -f "$out/seed-empty.img" >/dev/null
python3 tests/host/fuzz_seed.py "$out/seeds" "$out"/seed-*.img >/dev/null
rm -f "$out"/seed-*.img

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
