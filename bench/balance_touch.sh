#!/usr/bin/env bash
# A writer beside a data balance, in ghee (QEMU): how long a `touch`
# waits while `balance start -d` relocates data groups (issue 15: a
# group's relocation commit holds trans_sem for write, so every change
# waits for it). The guest makes a fresh filesystem on a 1 GiB disk
# (data chunks of about 100 MiB), writes FILES_MB MiB of 1 MiB files,
# starts the data balance as a background job and touches a new file
# every GAP_MS until it is done.
# Prints, per kernel of KERNELS (each on a fresh disk, ROUNDS times, the
# kernels in turn: A, B, A, B), `RESULT NAME_touch_median_ms`,
# `NAME_touch_max_ms`, `NAME_touches` (those that ran during the
# balance) and `NAME_balance_ms`, NAME as bench/balance.sh names them
# (ghee, ghee2, ...) with the round after it.
# Settings: SMP (1), MEM (512M), ACCEL (tcg), KERNELS
# ("build/kernel.elf"), ROUNDS (1), FILES_MB (360), GAP_MS (200), TOUCHES
# (the most touched, 120).
set -uo pipefail
cd "$(dirname "$0")/.."
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
export APPEND="${APPEND:-} lockdep=off"
KERNELS=${KERNELS:-build/kernel.elf}
ROUNDS=${ROUNDS:-1}
FILES_MB=${FILES_MB:-360}
GAP_MS=${GAP_MS:-200}
TOUCHES=${TOUCHES:-120}
out=build/bench
mkdir -p "$out"

commands() {
	printf '%s\n' "mkfs vda" "mount vda" \
		"mkfiles /d 4 $((FILES_MB / 4)) 1048576 1" "sync" \
		"time btrfs balance start -d / &"
	for i in $(seq "$TOUCHES"); do
		printf '%s\n' "sleep $GAP_MS" "time touch /t$i"
	done
	printf '%s\n' "wait" "umount /" "poweroff"
}

for r in $(seq "$ROUNDS"); do
	i=1
	for k in $KERNELS; do
		n=ghee; [ $i = 1 ] || n=ghee$i
		log=$out/balance-touch-$n-$r.log
		rm -f "$out/balance-touch.img"
		truncate -s 1G "$out/balance-touch.img"
		echo "bench/balance_touch: $n ($k), round $r, load $(cut -d' ' -f1 /proc/loadavg)" >&2
		commands | KERNEL=$k DISKS="$out/balance-touch.img" \
			scripts/run.sh > "$log" 2>&1 ||
			{ echo "bench/balance_touch: the run failed, see $log" >&2; exit 1; }
		# A touch's `time:` follows its command; the balance's follows
		# its "Done" line. Touches after that did not wait for it.
		awk '{ sub(/\r$/, "") }
		/^Done, had to relocate/ { done = 1; next }
		/^time: / && done == 1 { print "balance", $2; done = 2; next }
		/^time: / && done == 0 { print "touch", $2 }' "$log" > "$log.times"
		bal=$(awk '$1 == "balance" { print int($2) }' "$log.times")
		sort -n -k2 "$log.times" | awk -v o="${n}_$r" -v bal="$bal" '
		$1 == "touch" { t[++n] = $2 }
		END {
			if (!bal || !n) { print "bench/balance_touch: no balance or touch times" > "/dev/stderr"; exit 1 }
			printf "RESULT %s_touch_median_ms %.1f ms\n", o, t[int((n + 1) / 2)]
			printf "RESULT %s_touch_max_ms %.1f ms\n", o, t[n]
			printf "RESULT %s_touches %d\n", o, n
			printf "RESULT %s_balance_ms %d ms\n", o, bal
		}' || { echo "bench/balance_touch: see $log" >&2; exit 1; }
		i=$((i + 1))
	done
done
