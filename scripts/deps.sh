#!/usr/bin/env bash
# Install the Debian packages the build and the tests need, if any is
# missing (apt-get update first). Quiet when everything is present.
set -euo pipefail

# package:file-that-proves-it-is-installed
need=(
	gcc:/usr/bin/gcc
	make:/usr/bin/make
	binutils:/usr/bin/ld
	python3:/usr/bin/python3
	qemu-system-x86:/usr/bin/qemu-system-x86_64
	qemu-system-data:/usr/share/qemu/qboot.rom
	newlib-source:/usr/src/newlib
	libxxhash-dev:/usr/include/xxhash.h
	btrfs-progs:/usr/sbin/mkfs.btrfs
	xfsprogs:/usr/sbin/xfs_io
	attr:/usr/bin/setfattr
	clang:/usr/bin/clang
	libclang-rt-14-dev:/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a
	xz-utils:/usr/bin/xz
	grub-common:/usr/bin/grub-mkrescue
	grub-pc-bin:/usr/lib/grub/i386-pc/multiboot2.mod
	grub-efi-amd64-bin:/usr/lib/grub/x86_64-efi/multiboot2.mod
	xorriso:/usr/bin/xorriso
	mtools:/usr/bin/mcopy
	fdisk:/usr/sbin/sfdisk
	gnu-efi:/usr/lib/crt0-efi-x86_64.o
	ovmf:/usr/share/OVMF/OVMF_CODE_4M.fd
)

missing=()
for entry in "${need[@]}"; do
	pkg=${entry%%:*}
	file=${entry#*:}
	[ -e "$file" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" != 0 ]; then
	echo "deps: need root to install packages (run as root or install: ${missing[*]})" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
