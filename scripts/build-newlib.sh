#!/usr/bin/env bash
# Build newlib (the kernel's C library) for freestanding x86-64 from Debian's
# newlib-source package, with the host gcc and binutils as the target tools.
# Usage: build-newlib.sh OUTDIR   (installs headers and libc.a under OUTDIR/install)
# The result is cached: a second run with the same flags does nothing.
set -euo pipefail

out=$(realpath -m "$1")
tarball=$(ls /usr/src/newlib/newlib-*.tar.* 2>/dev/null | head -n 1)
[ -n "$tarball" ] || { echo "build-newlib: no newlib source under /usr/src/newlib (package newlib-source)" >&2; exit 1; }

# Must match the kernel's code model: no red zone (interrupts use the same
# stack), no PIC, small code model (the kernel is linked at 1 MiB).
cflags="-O2 -g -ffreestanding -fno-pic -fno-pie -mno-red-zone -fno-stack-protector -fno-omit-frame-pointer"
# C99 formats (%zu, %jd, %hhu) and long long in printf/scanf; no floats.
options="--disable-multilib --disable-libgloss --disable-nls
	--disable-newlib-supplied-syscalls --disable-newlib-multithread
	--disable-newlib-io-float --enable-newlib-io-c99-formats
	--enable-newlib-io-long-long"
stamp="$out/install/.stamp"
want="$(basename "$tarball") $cflags $(echo $options)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
	exit 0
fi

rm -rf "$out/src" "$out/obj" "$out/install"
mkdir -p "$out/src" "$out/obj"
tar -xf "$tarball" -C "$out/src" --strip-components=1
cd "$out/obj"
# shellcheck disable=SC2086
"$out/src/configure" --target=x86_64-elf --prefix="$out/install" $options \
	CC_FOR_TARGET=gcc AS_FOR_TARGET=as AR_FOR_TARGET=ar LD_FOR_TARGET=ld \
	NM_FOR_TARGET=nm RANLIB_FOR_TARGET=ranlib OBJDUMP_FOR_TARGET=objdump \
	STRIP_FOR_TARGET=strip READELF_FOR_TARGET=readelf \
	CFLAGS_FOR_TARGET="$cflags" > configure.log 2>&1 \
	|| { tail -n 30 configure.log >&2; exit 1; }
make -j"$(nproc)" all-target-newlib > build.log 2>&1 || { tail -n 40 build.log >&2; exit 1; }
make install-target-newlib > install.log 2>&1 || { tail -n 20 install.log >&2; exit 1; }
rm -rf "$out/src"
echo "$want" > "$stamp"
