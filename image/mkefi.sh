#!/usr/bin/env bash
# Build a UEFI disk image: GPT with one EFI system partition (FAT) holding
# \EFI\BOOT\BOOTX64.EFI (ghee's loader), \ghee\kernel.elf and, when given,
# \ghee\cmdline.txt. No root and no loop mounts: sfdisk and mtools work on
# the image file.
# Usage: mkefi.sh LOADER.efi KERNEL OUT.img [CMDLINE...]
set -euo pipefail
loader=$1 kernel=$2 out=$3
shift 3

size_mb=34		# a 32 MiB FAT16 ESP plus GPT overhead
part_start=2048		# sectors: the ESP starts at 1 MiB
rm -f "$out"
truncate -s ${size_mb}M "$out"
echo "label: gpt
start=$part_start, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=ESP" |
	sfdisk -q "$out"
esp="$out@@$((part_start * 512))"
mformat -i "$esp" -T $(((size_mb - 2) * 2048)) -h 64 -s 32 :: >/dev/null
mmd -i "$esp" ::/EFI ::/EFI/BOOT ::/ghee
mcopy -i "$esp" "$loader" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$esp" "$kernel" ::/ghee/kernel.elf
if [ $# -gt 0 ]; then
	printf '%s\n' "$*" > "$out.cmdline"
	mcopy -i "$esp" "$out.cmdline" ::/ghee/cmdline.txt
	rm -f "$out.cmdline"
fi
