#!/usr/bin/env bash
# Gather the compression libraries btrfs's compressed extents need, from
# Debian's source packages (fetched by scripts/debian-source.sh), into
# OUTDIR; the Makefile compiles the same sources into the kernel (with
# newlib) and into the host programs (under their sanitizers too):
#  - zstd: libzstd's lib/common, lib/compress and lib/decompress
#    (ZSTD_compress2 at levels 1-15, ZSTD_decompressStream);
#  - zlib: zlib's deflate and inflate;
#  - lzo: liblzo2's lzo1x_1 compressor and lzo1x_decompress_safe.
# OUTDIR/include holds the public headers fs/ includes (zstd.h, zlib.h,
# lzo/lzo1x.h), OUTDIR/zstd, zlib and lzo the sources.
# Usage: build-codecs.sh OUTDIR   (cached: a second run does nothing)
set -euo pipefail

out=$(realpath -m "$1")
want="libzstd zlib lzo2 1"
stamp="$out/.stamp"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

rm -rf "$out"
mkdir -p "$out/include/lzo"
"$(dirname "$0")/debian-source.sh" "$out" libzstd zlib lzo2
src=$out/src
mkdir -p "$out/zstd" "$out/zlib" "$out/lzo"
cp -r "$src/libzstd/lib/common" "$src/libzstd/lib/compress" \
	"$src/libzstd/lib/decompress" "$src/libzstd/lib/zstd.h" \
	"$src/libzstd/lib/zstd_errors.h" "$out/zstd/"
cp "$src"/zlib/*.[ch] "$out/zlib/"
cp -r "$src/lzo2/src" "$src/lzo2/include" "$out/lzo/"
cp "$src/libzstd/lib/zstd.h" "$src/libzstd/lib/zstd_errors.h" \
	"$src/zlib/zlib.h" "$src/zlib/zconf.h" "$out/include/"
cp "$src"/lzo2/include/lzo/*.h "$out/include/lzo/"
rm -rf "$src"
echo "$want" > "$stamp"
