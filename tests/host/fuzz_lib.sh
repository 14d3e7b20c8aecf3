# Shared by the fuzz scripts (sourced from the project root): the compile
# flags, and the codec libraries (build/codecs, make's list and flags)
# compiled once under ASan for the fuzzers into build/fuzz/codecs.a (not
# UBSan: their unaligned loads are upstream's, as in the host build).
FUZZ_CFLAGS=(-std=gnu11 -g -O1 -Ibuild/hashes -Ibuild/codecs/include -Iinclude
	-Itests/host/include -D_GNU_SOURCE -DGHEE_VERSION='"fuzz"')
FUZZ_CODECS=build/fuzz/codecs.a

# fuzz_codecs LOG: build FUZZ_CODECS when missing or older than the
# codec sources; 1 on failure (compiler messages in LOG).
fuzz_codecs() {
	local log=$1 dir=build/fuzz/codecs defs src
	[ -f "$FUZZ_CODECS" ] && [ ! build/codecs/.stamp -nt "$FUZZ_CODECS" ] && return 0
	make -s --no-print-directory build/codecs/.stamp >>"$log" 2>&1 || return 1
	rm -rf "$dir" && mkdir -p "$dir"
	read -ra defs <<<"$(make -s --no-print-directory codec-defs)"
	for src in $(make -s --no-print-directory codec-srcs); do
		clang "${FUZZ_CFLAGS[@]}" "${defs[@]}" -fsanitize=fuzzer-no-link,address \
			-c "$src" -o "$dir/$(echo "${src#build/codecs/}" | tr / _).o" \
			2>>"$log" || return 1
	done
	ar rcs "$FUZZ_CODECS" "$dir"/*.o
}
