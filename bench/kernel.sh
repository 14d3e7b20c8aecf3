#!/usr/bin/env bash
# Kernel micro-benchmarks: boot ghee (SMP CPUs, default 2; lock-order
# checker off, as in production) and run the shell's `bench` command.
# Prints its "RESULT name value unit" lines, names prefixed "kernel_"
# (context switch, uncontended and contended spinlock and rwsem,
# kmalloc/kfree; each in ns per operation). Settings: SMP, ACCEL.
set -euo pipefail
cd "$(dirname "$0")/.."

out=$(printf 'bench\n' |
	KERNEL=build/kernel.elf SMP=${SMP:-2} APPEND="lockdep=off" \
	timeout 600 scripts/run.sh 2>&1) || {
	echo "bench/kernel.sh: the guest failed:" >&2
	echo "$out" >&2
	exit 1
}
results=$(echo "$out" | tr -d '\r' | sed -n 's/^RESULT \([^ ]*\) /RESULT kernel_\1 /p')
if [ -z "$results" ]; then
	echo "bench/kernel.sh: no results:" >&2
	echo "$out" >&2
	exit 1
fi
echo "# kernel: SMP=${SMP:-2} ACCEL=${ACCEL:-tcg}"
echo "$results"
