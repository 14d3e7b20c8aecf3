#!/usr/bin/env bash
# Boot ghee in QEMU: the engine of `make run` and of the QEMU tests.
#
# Settings (environment): KERNEL (build/kernel.elf), DISKS ("a.img b.img":
# virtio-blk disks, vda, vdb, ... in that order; a "ro:" prefix attaches one
# read-only), SMP (1), MEM (512M), ACCEL (tcg|kvm), BOOT (pvh), APPEND (more
# kernel command line), QEMU_EXTRA (more QEMU arguments).
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
APPEND=${APPEND:-}
QEMU_EXTRA=${QEMU_EXTRA:-}

die() { echo "run: $*" >&2; exit 3; }

[ -f "$KERNEL" ] || die "no kernel at $KERNEL (run make first)"
[ "$BOOT" = pvh ] || die "BOOT=$BOOT: only pvh exists so far"

args=(-M q35 -bios /usr/share/qemu/qboot.rom -nodefaults -display none
      -m "$MEM" -smp "$SMP" -kernel "$KERNEL"
      -device isa-debug-exit,iobase=0xf4,iosize=0x04)
case $ACCEL in
tcg) args+=(-accel tcg -cpu qemu64) ;;
kvm) [ -w /dev/kvm ] || die "ACCEL=kvm but /dev/kvm is not usable"
     args+=(-accel kvm -cpu host) ;;
*) die "ACCEL=$ACCEL: want tcg or kvm" ;;
esac

i=0
for disk in $DISKS; do
	ro=
	case $disk in ro:*) disk=${disk#ro:}; ro=,readonly=on ;; esac
	[ -f "$disk" ] || die "disk image $disk does not exist"
	args+=(-drive "file=${disk//,/,,},if=none,id=disk$i,format=raw,cache=none,aio=threads$ro"
	       -device "virtio-blk-pci,drive=disk$i,disable-legacy=on")
	i=$((i + 1))
done

cmdline="accel=$ACCEL $APPEND"
if [ -t 0 ]; then
	args+=(-chardev stdio,id=con,signal=off -serial chardev:con)
else
	# Scripted: a panic or triple fault must end QEMU, never hang it.
	cmdline="panic=exit $cmdline"
	args+=(-chardev stdio,id=con -serial chardev:con -no-reboot)
fi
echo "run: QEMU accel=$ACCEL smp=$SMP mem=$MEM boot=$BOOT disks=${DISKS:-none}" >&2

# shellcheck disable=SC2086
if [ -t 0 ]; then
	qemu-system-x86_64 "${args[@]}" -append "$cmdline" $QEMU_EXTRA
else
	# After the script, an end-of-input byte (Ctrl-D) ends the shell.
	{ cat; printf '\n\004'; } |
		qemu-system-x86_64 "${args[@]}" -append "$cmdline" $QEMU_EXTRA
fi
status=$?
case $status in
33) exit 0 ;;
35) echo "run: ghee stopped with a failure (panic or failed test)" >&2; exit 1 ;;
0) echo "run: the guest reset (reboot, or a triple fault)" >&2; exit 2 ;;
*) echo "run: QEMU failed with status $status" >&2; exit 3 ;;
esac
