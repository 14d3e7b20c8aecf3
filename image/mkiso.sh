#!/usr/bin/env bash
# Build a GRUB rescue image (BIOS and UEFI) that boots the kernel by
# Multiboot2 with the given command line. GRUB is left off the serial port:
# the port is ghee's console, and its input is the shell's.
# Usage: mkiso.sh KERNEL OUT.iso [CMDLINE...]
set -euo pipefail
kernel=$1 out=$2
shift 2
cmdline="$*"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tree=$work/tree		# what goes on the image; the log stays outside it
mkdir -p "$tree/boot/grub"
cp "$kernel" "$tree/boot/ghee.elf"
cat > "$tree/boot/grub/grub.cfg" <<CFG
set timeout=0
set default=0
menuentry "ghee" {
	multiboot2 /boot/ghee.elf $cmdline
	boot
}
CFG
grub-mkrescue -o "$out" "$tree" >"$work/log" 2>&1 || { cat "$work/log" >&2; exit 1; }
