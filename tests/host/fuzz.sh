#!/usr/bin/env bash
# Fuzz every libFuzzer target for SECONDS in total (default 60), shared
# among them by weight, or only the TARGETs named:
#   tests/host/fuzz.sh [SECONDS] [TARGET...]
# The targets (tests/host/fuzz_*.c):
#   mount         mount + walk + read of a fuzzed image
#   rw            read-write mount of a fuzzed image, a short workload,
#                 then fsck
#   receive       receive of a fuzzed send stream into an image, then fsck
#   receive_dump  receive --dump of a fuzzed send stream
#   shell         fuzzed shell lines over a mounted RAM image
#   tree_check    the tree checker on a fuzzed tree block
#   zlib lzo zstd each decompression path of compressed extents
# One KTAP case each: first the target's regression inputs
# (tests/host/fuzz_regress/TARGET/*, each run once), then fuzzing from
# its seeds (build/fuzz/seeds, made once: remove the directory to remake
# them) and its corpus, kept between runs (build/fuzz/corpus/TARGET). A
# crash, sanitizer report, leak or timeout fails the case and leaves the
# input in build/fuzz/artifacts. Each case says its executions and rate;
# the last line the total. FUZZ_SEED=N makes libFuzzer's mutations the
# same on every run (make test's sample, so that CI judges the same
# inputs each time); unset, each run explores afresh (make fuzz).
set -uo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift $(($# > 0))
out=build/fuzz
regress=tests/host/fuzz_regress
. tests/host/fuzz_lib.sh	# FUZZ_*, fuzz_codecs, fuzz_ghee, fuzz_link

# name weight timeout max_len: the time a target gets is its weight's
# share of SECONDS (at least 3 s).
table="mount 3 20 2000000
rw 3 30 2000000
receive 2 30 1000000
receive_dump 1 10 1000000
shell 2 20 4096
tree_check 1 10 16385
zlib 1 10 140000
lzo 1 10 140000
zstd 1 10 140000"
if [ $# -gt 0 ]; then
	table=$(for t in "$@"; do grep "^$t " <<<"$table" ||
		echo "fuzz.sh: no target $t" >&2; done)
fi
[ -n "$table" ] || exit 2
ntargets=$(wc -l <<<"$table")
weights=$(awk '{ w += $2 } END { print w }' <<<"$table")
mkdir -p "$out/seeds" "$out/corpus" "$out/artifacts"
# ASan's quarantine of freed memory at 16 MB, not 256: every input frees
# and allocates a RAM disk's pages, and with the large quarantine each
# allocation is fresh memory whose page faults cost 2 to 4 times the
# run itself. A use after free is still caught while the block is among
# the last 16 MB freed. Options given in the environment come after.
export ASAN_OPTIONS="quarantine_size_mb=16${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
: >"$out/build.log"

echo "KTAP version 1"
echo "1..$ntargets"

# build NAME: the target's binary, $out/fuzz_NAME.
build() {
	local bin=$out/fuzz_$1
	case $1 in
	mount|rw|shell|tree_check) fuzz_link "$out/build.log" "$bin" "tests/host/fuzz_$1.c" ;;
	receive) fuzz_link "$out/build.log" "$bin" tests/host/fuzz_receive.c ;;
	receive_dump) fuzz_link "$out/build.log" "$bin" -DFUZZ_RECEIVE_DUMP tests/host/fuzz_receive.c ;;
	zlib) fuzz_link "$out/build.log" "$bin" -DFUZZ_TYPE=1 tests/host/fuzz_decompress.c ;;
	lzo) fuzz_link "$out/build.log" "$bin" -DFUZZ_TYPE=2 tests/host/fuzz_decompress.c ;;
	zstd) fuzz_link "$out/build.log" "$bin" -DFUZZ_TYPE=3 tests/host/fuzz_decompress.c ;;
	esac
}

# Seed images for mount and rw: mkfs.btrfs of a small tree in several
# shapes, images ghee made after a workload, btrfs-progs' test images.
seed_images() {
	local dir=$out/seeds/images tree=$out/seeds/tree img shape i=0
	[ -x "$out/fuzz_rw" ] || build rw || return 1
	rm -rf "$tree" && mkdir -p "$dir" "$tree/dir/sub"
	echo hello > "$tree/hello.txt"
	head -c 20000 /dev/urandom > "$tree/dir/blob"
	head -c 3000 /dev/zero > "$tree/dir/small"
	ln -s hello.txt "$tree/link"
	truncate -s 1M "$tree/dir/sub/sparse"
	for shape in "-n 4096" "-n 16384" "-n 4096 -O ^no-holes" \
		"-O ^skinny-metadata" "--csum xxhash" "-n 4096 --csum sha256" \
		"--csum blake2 -m single" "-R ^free-space-tree"; do
		img=$out/seeds/mkfs-$((i += 1)).img
		truncate -s 128M "$img"
		# shellcheck disable=SC2086
		mkfs.btrfs -q -f $shape --rootdir "$tree" "$img" >>"$out/build.log" 2>&1 || return 1
	done
	truncate -s 128M "$out/seeds/mkfs-empty.img"
	mkfs.btrfs -q -f "$out/seeds/mkfs-empty.img" >>"$out/build.log" 2>&1 || return 1
	python3 tests/host/fuzz_seed.py "$dir" "$out"/seeds/mkfs-*.img >>"$out/build.log" || return 1
	[ -d build/progs/images ] &&
		python3 tests/host/fuzz_seed.py "$dir" build/progs/images/*.img >>"$out/build.log"
	FUZZ_SEED_DIR=$dir "$out/fuzz_rw" >>"$out/build.log" 2>&1 || return 1
	python3 tests/host/fuzz_seed.py --blocks "$out/seeds/tree_check" \
		"$out"/seeds/mkfs-*.img >>"$out/build.log" || return 1
	[ -d build/progs/images ] && python3 tests/host/fuzz_seed.py --blocks \
		"$out/seeds/tree_check" build/progs/images/*.img >>"$out/build.log"
	rm -rf "$out"/seeds/mkfs-*.img "$tree"
}

# Seed streams for receive and receive_dump: a chain the host's btrfs
# send made (needs root and btrfs-progs).
seed_streams() {
	local s=$out/seeds/streams
	mountpoint -q "$s/src" && umount "$s/src"
	rm -rf "$s" && mkdir -p "$s"
	if ! tests/interop/make_streams.sh "$s" >>"$out/build.log" 2>&1; then
		mountpoint -q "$s/src" && umount "$s/src"
		return 1
	fi
	umount "$s/src" && rm -rf "$s/src.img" "$s/src"
}

# seeds NAME: make the target's seeds when missing; prints their
# directory, or nothing on failure.
seeds() {
	local d
	case $1 in
	mount|rw) d=$out/seeds/images
		[ -d "$d" ] || seed_images || { rm -rf "$d"; return 1; } ;;
	tree_check) d=$out/seeds/tree_check
		[ -d "$d" ] || seed_images || { rm -rf "$d" "$out/seeds/images"; return 1; } ;;
	receive|receive_dump) d=$out/seeds/streams
		[ -f "$d/s0.stream" ] || seed_streams || return 1 ;;
	shell) d=$out/seeds/shell
		if [ ! -d "$d" ] || [ ! -s "$out/shell.dict" ]; then
			FUZZ_DICT=$out/shell.dict "$out/fuzz_shell" >>"$out/build.log" 2>&1 &&
			python3 tests/host/fuzz_seed.py --lines "$d" "$out/shell.dict" \
				tests/qemu/*.py tests/interop/*.sh tests/host/test_shell.c \
				>>"$out/build.log" || { rm -rf "$d"; return 1; }
		fi ;;
	zlib|lzo|zstd) d=$out/seeds/$1
		if [ ! -d "$d" ]; then
			mkdir -p "$d"
			FUZZ_SEED_DIR=$d "$out/fuzz_$1" >>"$out/build.log" 2>&1 ||
				{ rm -rf "$d"; return 1; }
		fi ;;
	esac
	[ "$(ls "$d" | wc -l)" -gt 0 ] && echo "$d"
}

# replay NAME: run each regression input of the target once.
replay() {
	local files
	[ -d "$regress/$1" ] || return 0
	files=("$regress/$1"/*)
	[ -e "${files[0]}" ] || return 0
	fuzz_env "$1" "$out/fuzz_$1" -rss_limit_mb=4096 -timeout="$2" \
		"${files[@]}" >"$out/replay-$1.log" 2>&1
}

# fuzz_env NAME CMD...: run CMD with the target's environment.
fuzz_env() {
	local name=$1
	shift
	case $name in
	receive) FUZZ_RECEIVE_BASE="$out/seeds/streams/cs.stream:$out/seeds/streams/s0.stream" "$@" ;;
	*) "$@" ;;
	esac
}

failed=0 n=0 total=0
if ! fuzz_codecs "$out/build.log" || ! fuzz_ghee "$out/build.log"; then
	while read -r name _ <&3; do
		echo "not ok $((n += 1)) fuzz.$name # build failed (see $out/build.log)"
	done 3<<<"$table"
	exit 1
fi
while read -r name weight timeout maxlen <&3; do
	n=$((n + 1))
	t=$((seconds * weight / weights))
	[ $t -ge 3 ] || t=3
	if ! build "$name"; then
		echo "not ok $n fuzz.$name # build failed (see $out/build.log)"
		failed=1; continue
	fi
	if ! replay "$name" "$timeout"; then
		echo "not ok $n fuzz.$name # a regression input fails (see $out/replay-$name.log)"
		failed=1; continue
	fi
	if ! seed=$(seeds "$name") || [ -z "$seed" ]; then
		echo "not ok $n fuzz.$name # no seeds made (see $out/build.log)"
		failed=1; continue
	fi
	dict=()
	[ "$name" = shell ] && dict=(-dict="$out/shell.dict")
	mkdir -p "$out/corpus/$name"
	fuzz_env "$name" "$out/fuzz_$name" -max_total_time="$t" -max_len="$maxlen" \
		-close_fd_mask=1 -rss_limit_mb=4096 -timeout="$timeout" "${dict[@]}" \
		-seed="${FUZZ_SEED:-0}" \
		-artifact_prefix="$out/artifacts/$name-" "$out/corpus/$name" "$seed" \
		>"$out/fuzz-$name.log" 2>&1
	status=$?
	# the "Done" line, or the last status line when it stopped early
	runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p; s/^#\([0-9]*\)\t.*/\1/p' \
		"$out/fuzz-$name.log" | tail -1)
	total=$((total + ${runs:-0}))
	if [ $status -eq 0 ]; then
		echo "ok $n fuzz.$name # ${runs:-?} runs in $t s ($(( ${runs:-0} / t ))/s)"
	else
		echo "not ok $n fuzz.$name # libFuzzer status $status after ${runs:-?} runs (see $out/fuzz-$name.log and $out/artifacts/$name-*)"
		failed=1
	fi
done 3<<<"$table"
echo "# fuzz: $total runs in all, $seconds s"
exit $failed
