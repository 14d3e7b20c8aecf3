#!/usr/bin/env bash
# Boot time (issue 18: QEMU start to the prompt with a filesystem mounted,
# under 60 ms on TCG): wall milliseconds from QEMU's start to ghee's first
# prompt on the serial console, PVH direct boot, TCG, median of N boots
# (default 11), at -smp 1 and 2, without a disk and with one mounted at
# boot (mount=vda: a small filesystem made by the host tool). Beside them
# QEMU's own floor: the same QEMU, firmware and loading, with a guest that
# prints the prompt at its first instruction (bench/boot_floor.S), so
# "over the floor" is what ghee itself takes. Beside each wall figure the
# CPU time QEMU's threads had used by the prompt (on a loaded host the wall
# time is mostly waiting for a CPU), and the median of the time the kernel
# prints ("booted in", from its first instruction). Every round boots
# every kind once in turn, so all see the same load.
# Settings: N, KERNELS (kernels to compare, interleaved; default
# build/kernel.elf; rows of the second and later are suffixed _k2, _k3...).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-11}
KERNELS=${KERNELS:-build/kernel.elf}
work=build/bench
mkdir -p $work

gcc -m32 -c bench/boot_floor.S -o $work/boot_floor.o
ld -m elf_i386 -Ttext=0x100000 -e start -o $work/boot_floor.elf \
	$work/boot_floor.o

img=$work/boot.img
rm -f $img
truncate -s 1G $img
printf '%s\n' "mkfs vda" "mount vda" "mkdir /etc" "mkdir /data" \
	"write /etc/motd 0 100 1" "write /data/a 0 1M 2" "umount" |
	build/ghee $img >/dev/null

kinds=(floor=$work/boot_floor.elf,1,)
k=0
for kernel in $KERNELS; do
	k=$((k + 1))
	sfx=$([ $k -eq 1 ] || echo _k$k)
	kinds+=("smp1$sfx=$kernel,1," "smp1_mount$sfx=$kernel,1,$img"
		"smp2$sfx=$kernel,2," "smp2_mount$sfx=$kernel,2,$img")
done

echo "# boot: N=$N, TCG, PVH, median (min-max) wall ms, median CPU ms; load:$(uptime | sed 's/.*average://')"
bench/boot_time.py "$N" "${kinds[@]}" |
while read -r label med lo hi cpu printed; do
	echo "# $label: $med ($lo-$hi) ms, CPU $cpu ms${printed:+, printed $printed ms}"
	if [ "$label" = floor ]; then
		floor=$med floor_cpu=$cpu
		echo "RESULT boot_qemu_floor_ms $med ms"
		echo "RESULT boot_qemu_floor_cpu_ms $cpu ms"
		continue
	fi
	echo "RESULT boot_${label}_ms $med ms"
	echo "RESULT boot_${label}_over_floor_ms $(echo "$med - $floor" | bc) ms"
	echo "RESULT boot_${label}_cpu_over_floor_ms $(echo "$cpu - $floor_cpu" | bc) ms"
	echo "RESULT boot_${label}_printed_ms $printed ms"
done
