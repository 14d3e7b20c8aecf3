# Shared by the fuzz scripts (sourced from the project root): the compile
# flags; the codec libraries (build/codecs, make's list and flags)
# compiled once under ASan into build/fuzz/codecs.a (not UBSan: their
# unaligned loads are upstream's, as in the host build); and ghee's own
# code (fs/, lib/, shell/, the host shims and the fuzzers' image device)
# compiled once for all targets into build/fuzz/ghee.a, under ASan and
# UBSan with UBSan's findings fatal, as in the host tests.
FUZZ_CFLAGS=(-std=gnu11 -g -O1 -Ibuild/hashes -Ibuild/codecs/include -Iinclude
	-Itests/host/include -D_GNU_SOURCE -DGHEE_VERSION='"fuzz"')
FUZZ_SAN=(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
FUZZ_CODECS=build/fuzz/codecs.a
FUZZ_GHEE=build/fuzz/ghee.a

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

# fuzz_ghee LOG: build FUZZ_GHEE, recompiling each source newer than its
# object, or every one when a header is newer than the archive (two
# compilers at a time); 1 on failure (compiler messages in LOG).
fuzz_ghee() {
	local log=$1 dir=build/fuzz/obj src obj stale=()
	local srcs=(fs/*.c lib/*.c shell/*.c tests/host/shim/*.c tests/host/fuzz_image.c)
	mkdir -p "$dir"
	if [ -f "$FUZZ_GHEE" ] && [ -n "$(find include fs lib shell tests/host \
		-name '*.h' -newer "$FUZZ_GHEE" | head -1)" ]; then
		rm -f "$dir"/*.o
	fi
	for src in "${srcs[@]}"; do
		obj=$dir/$(echo "${src%.c}" | tr / _).o
		[ "$obj" -nt "$src" ] || stale+=("$src")
	done
	if [ ${#stale[@]} -gt 0 ]; then
		printf '%s\n' "${stale[@]}" | xargs -P2 -I{} sh -c \
			'clang "$@" -c {} -o '"$dir"'/$(echo {} | sed "s/\.c$//" | tr / _).o' \
			clang "${FUZZ_CFLAGS[@]}" "${FUZZ_SAN[@]}" -fsanitize=fuzzer-no-link \
			2>>"$log" || return 1
	fi
	[ ${#stale[@]} -eq 0 ] && [ -f "$FUZZ_GHEE" ] && return 0
	rm -f "$FUZZ_GHEE"
	# Sources removed since: their objects must not stay in the archive.
	for src in "${srcs[@]}"; do
		echo "$dir/$(echo "${src%.c}" | tr / _).o"
	done | xargs ar rcs "$FUZZ_GHEE"
}

# fuzz_link LOG OUT SOURCE... [FLAGS]: link one target against both
# archives; 1 on failure.
fuzz_link() {
	local log=$1 out=$2
	shift 2
	clang "${FUZZ_CFLAGS[@]}" "${FUZZ_SAN[@]}" -fsanitize=fuzzer "$@" \
		"$FUZZ_GHEE" "$FUZZ_CODECS" -lpthread -o "$out" 2>>"$log"
}
