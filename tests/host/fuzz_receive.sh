#!/usr/bin/env bash
# Fuzz receive --dump and receive (tests/host/fuzz_receive.c) with
# libFuzzer for SECONDS (default 30), seeded with streams the host's
# btrfs send made (tests/interop/make_streams.sh; needs root and
# btrfs-progs). Prints one KTAP case; a crash, sanitizer report, leak,
# timeout or an image ghee's fsck finds damaged fails it and leaves the
# input in build/fuzz-receive/.
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-30}
out=build/fuzz-receive
name=fuzz.receive_stream

echo "KTAP version 1"
echo "1..1"
mkdir -p "$out/corpus"
. tests/host/fuzz_lib.sh	# FUZZ_CFLAGS, fuzz_codecs
: >"$out/build.log"
if ! fuzz_codecs "$out/build.log" ||
   ! clang "${FUZZ_CFLAGS[@]}" -fsanitize=fuzzer,address,undefined \
	tests/host/fuzz_receive.c fs/*.c lib/*.c tests/host/shim/*.c \
	"$FUZZ_CODECS" -lpthread -o "$out/fuzz_receive" 2>>"$out/build.log"; then
	echo "not ok 1 $name # build failed (see $out/build.log)"
	exit 1
fi

# Seeds: a chain of host-made streams; the template image holds cs and
# s0 received, so the incremental ones reach past their SNAPSHOT.
mountpoint -q "$out/streams/src" && umount "$out/streams/src"
rm -rf "$out/streams" "$out/seeds" && mkdir -p "$out/streams" "$out/seeds"
if ! tests/interop/make_streams.sh "$out/streams" >"$out/streams.log" 2>&1; then
	mountpoint -q "$out/streams/src" && umount "$out/streams/src"
	echo "not ok 1 $name # seed streams: make_streams.sh failed (see $out/streams.log)"
	exit 1
fi
umount "$out/streams/src"
cp "$out"/streams/*.stream "$out/seeds/"
rm -f "$out/streams/src.img"

FUZZ_RECEIVE_BASE="$out/streams/cs.stream:$out/streams/s0.stream" \
"$out/fuzz_receive" -max_total_time="$seconds" -max_len=1000000 \
	-close_fd_mask=1 -rss_limit_mb=4096 -timeout=30 \
	-artifact_prefix="$out/" "$out/corpus" "$out/seeds" >"$out/fuzz.log" 2>&1
status=$?
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$out/fuzz.log")
if [ $status -eq 0 ]; then
	echo "ok 1 $name # ${runs:-?} runs in $seconds s"
else
	echo "not ok 1 $name # libFuzzer status $status (see $out/fuzz.log and $out/crash-*)"
	exit 1
fi
