#!/usr/bin/env bash
# Boot ghee in QEMU: the engine of `make run` and of the QEMU tests.
#
# Settings (environment): KERNEL (build/kernel.elf), DISKS ("a.img b.img":
# virtio-blk disks, vda, vdb, ... in that order; a "ro:" prefix attaches one
# read-only, a "4k:" prefix gives it 4096-byte logical and physical
# sectors; prefixes combine, "ro:4k:x.img"), BLK_QUEUES (virtio queues per
# disk, each with its own MSI-X vector; default: QEMU's, one per CPU), SMP (1), MEM (512M), ACCEL (tcg|kvm), APPEND (more kernel
# command line), QEMU_EXTRA (more QEMU arguments), QEMU (the QEMU program,
# default qemu-system-x86_64; bench/boot.sh puts a time stamp before it),
# and the boot path:
#   BOOT=pvh  QEMU loads the kernel directly (PVH note), qboot firmware
#   BOOT=iso  GRUB image by Multiboot2, under SeaBIOS, or OVMF with
#             FIRMWARE=uefi
#   BOOT=efi  ghee's gnu-efi loader (LOADER, build/efi/BOOTX64.EFI) from a
#             GPT/ESP disk image, under OVMF; EFI_IMAGE boots a ready image
#             (`make efi` makes build/ghee-efi.img) instead
# The GRUB and UEFI images are made for each run (they carry the command
# line) in a temporary folder, with a fresh copy of OVMF's variable store.
#
# On a terminal the serial console is the terminal (Ctrl-C goes to ghee;
# `poweroff` or Ctrl-D on an empty line ends the run). Otherwise shell
# commands are read from standard input and the run ends with `poweroff` or
# at the end of input. Exit status: 0 after a clean poweroff, 1 when the
# kernel panicked or a test failed, 2 when the guest reset (reboot command
# or triple fault), 3 when QEMU itself failed.
set -uo pipefail

KERNEL=${KERNEL:-build/kernel.elf}
DISKS=${DISKS:-}
SMP=${SMP:-1}
MEM=${MEM:-512M}
ACCEL=${ACCEL:-tcg}
BOOT=${BOOT:-pvh}
FIRMWARE=${FIRMWARE:-}
LOADER=${LOADER:-build/efi/BOOTX64.EFI}
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
APPEND=${APPEND:-}
QEMU_EXTRA=${QEMU_EXTRA:-}
QEMU=${QEMU:-qemu-system-x86_64}

die() { echo "run: $*" >&2; exit 3; }

[ -f "$KERNEL" ] || die "no kernel at $KERNEL (run make first)"

args=(-M q35 -nodefaults -display none -m "$MEM" -smp "$SMP"
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
case $ACCEL in
tcg) args+=(-accel tcg -cpu qemu64) ;;
kvm) [ -w /dev/kvm ] || die "ACCEL=kvm but /dev/kvm is not usable"
     args+=(-accel kvm -cpu host) ;;
*) die "ACCEL=$ACCEL: want tcg or kvm" ;;
esac

i=0
for disk in $DISKS; do
	ro= dev=
	while :; do
		case $disk in
		ro:*) disk=${disk#ro:}; ro=,readonly=on ;;
		4k:*) disk=${disk#4k:}; dev+=,logical_block_size=4096,physical_block_size=4096 ;;
		*) break ;;
		esac
	done
	[ -n "${BLK_QUEUES:-}" ] && dev+=",num-queues=$BLK_QUEUES,vectors=$((BLK_QUEUES + 1))"
	[ -f "$disk" ] || die "disk image $disk does not exist"
	args+=(-drive "file=${disk//,/,,},if=none,id=disk$i,format=raw,cache=none,aio=threads$ro"
	       -device "virtio-blk-pci,drive=disk$i,disable-legacy=on$dev")
	i=$((i + 1))
done

# Scripted runs: a panic ends QEMU, and the console is no terminal
# (tty=0: progress is printed as plain lines, not redrawn bars).
if [ -t 0 ]; then
	# a person at the terminal: the first disk is mounted at boot when
	# it holds a filesystem (mount=none in APPEND turns it off)
	cmdline="accel=$ACCEL ${DISKS:+mount=vda }$APPEND"
else
	cmdline="panic=exit accel=$ACCEL tty=0 $APPEND"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ovmf() {
	cp "$OVMF_VARS" "$work/vars.fd"
	args+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE"
	       -drive "if=pflash,format=raw,unit=1,file=$work/vars.fd")
}
case $BOOT in
pvh)
	args+=(-bios /usr/share/qemu/qboot.rom -kernel "$KERNEL" -append "$cmdline")
	firmware=qboot ;;
iso)
	image/mkiso.sh "$KERNEL" "$work/ghee.iso" "$cmdline" || die "cannot build the GRUB image"
	args+=(-drive "file=$work/ghee.iso,media=cdrom,if=ide,readonly=on")
	case ${FIRMWARE:-bios} in
	bios) firmware=seabios ;;
	uefi) ovmf; firmware=ovmf ;;
	*) die "FIRMWARE=$FIRMWARE: want bios or uefi" ;;
	esac ;;
efi)
	if [ -n "${EFI_IMAGE:-}" ]; then
		cp "$EFI_IMAGE" "$work/esp.img" || die "cannot read $EFI_IMAGE"
	else
		[ -f "$LOADER" ] || die "no UEFI loader at $LOADER (run make loader)"
		image/mkefi.sh "$LOADER" "$KERNEL" "$work/esp.img" "$cmdline" ||
			die "cannot build the UEFI image"
	fi
	args+=(-drive "file=$work/esp.img,format=raw,if=ide")
	ovmf; firmware=ovmf ;;
*) die "BOOT=$BOOT: want pvh, iso or efi" ;;
esac

if [ -t 0 ]; then
	args+=(-chardev stdio,id=con,signal=off -serial chardev:con)
else
	# Scripted: a panic or triple fault must end QEMU, never hang it.
	args+=(-chardev stdio,id=con -serial chardev:con -no-reboot)
fi
echo "run: QEMU accel=$ACCEL smp=$SMP mem=$MEM boot=$BOOT firmware=$firmware disks=${DISKS:-none}" >&2

# shellcheck disable=SC2086
if [ -t 0 ]; then
	"$QEMU" "${args[@]}" $QEMU_EXTRA
else
	scripts/serial_feed.py "$QEMU" "${args[@]}" $QEMU_EXTRA
fi
status=$?
case $status in
33) exit 0 ;;
35) echo "run: ghee stopped with a failure (panic or failed test)" >&2; exit 1 ;;
0) echo "run: the guest reset (reboot, or a triple fault)" >&2; exit 2 ;;
*) echo "run: QEMU failed with status $status" >&2; exit 3 ;;
esac
