#!/usr/bin/env bash
# balance, ghee beside Linux: the host makes one btrfs image (loop
# mount) of BAL_MB MiB (default 300) of files in a subvolume, so that
# its data fills 6 or more data chunks, and 10 read-only snapshots of it
# with a few files rewritten between them. Linux and ghee, each in QEMU
# with the same settings on a copy of that image of its own, time: a full
# balance (balance alone); a full send of the last snapshot to a raw disk
# (send alone); then a second full balance with the same send started at
# the same moment (both at once: each's time from the common start). Both
# sends read the data as a balance laid it out (with the send alone
# first, on the host-made layout, ghee's send alone ran up to twice as
# long as its send beside a balance, so together/alone read below 1).
# Prints `RESULT name value unit`, the ghee/Linux ratios (Linux time /
# ghee time: above 1 means ghee is faster) and, for each system, how
# much slower send and balance ran together than alone (together/alone).
# For ghee also the CPU time of each phase (from `cpus`' idle times) and
# the floor of together/alone: the CPU time of both alone over the CPUs,
# over the longer alone time. With the CPUs busy, the one that ends last
# cannot do better, whatever the scheduler (with SMP=1 ghee's send and
# balance each need about as much CPU as the other).
# Every image must pass `btrfs check` after, and ghee's send streams
# `btrfs receive --dump`. Needs root (loop mount) and btrfs-progs.
# Settings: SMP (1), MEM (512M), ACCEL (tcg), BAL_MB; KERNELS
# ("build/kernel.elf") lists ghee kernels to run after Linux (to compare
# two builds under the same load).
set -uo pipefail
cd "$(dirname "$0")/.."

. bench/image.sh
BAL_MB=${BAL_MB:-300}
KERNELS=${KERNELS:-build/kernel.elf}
# ghee runs without its lock-order checker, as bench/kernel.sh: the
# figures are those of a production kernel.
export APPEND="${APPEND:-} lockdep=off"
src=$out/balance-src
img=$out/balance.img
echo "bench/balance: $BAL_MB MiB, 10 snapshots (smp=$SMP mem=$MEM" \
	"accel=$ACCEL)" >&2

bench_image balance "$img" "$src" $((BAL_MB * 2 + 256)) "$BAL_MB" <<'PY' || exit 1
mb = int(args[0])
sh("btrfs", "subvolume", "create", top + "/data")
rng = random.Random(1)
left, files = mb << 20, []
block = os.urandom(1 << 20)
while left > 0:
    size = min(left, rng.choice([65536, 1 << 20, 4 << 20, 8 << 20]))
    path = "%s/data/f%05d" % (top, len(files))
    fill(path, size, block)
    files.append((path, size))
    left -= size
for s in range(1, 11):
    block = os.urandom(1 << 20)
    for path, size in rng.sample(files, 4):
        fill(path, size, block)
    sh("btrfs", "subvolume", "snapshot", "-r", top + "/data",
       "%s/s%d" % (top, s))
PY
chunks=$(btrfs inspect-internal dump-tree -t chunk "$img" |
	grep -c 'type DATA')
echo "RESULT data_chunks $chunks chunks"
[ "$chunks" -ge 6 ] ||
	echo "bench/balance: only $chunks data chunks (raise BAL_MB)" >&2

# Per system: a copy of the image and two stream disks (send alone, send
# during the balance).
disks() {
	rm -f "$out/balance-$1.img" "$out/balance-$1-s1.img" "$out/balance-$1-s2.img"
	cp --sparse=always "$img" "$out/balance-$1.img"
	truncate -s $((BAL_MB + 128))M "$out/balance-$1-s1.img" "$out/balance-$1-s2.img"
	echo "$out/balance-$1.img $out/balance-$1-s1.img $out/balance-$1-s2.img"
}

cat > "$out/balance-linux.sh" <<'SH'
ms() { echo $(( ($2 - $1) / 1000000 )); }
mount /dev/vda /mnt || exit 1
t0=$(lbio now); btrfs balance start --full-balance /mnt >/dev/null || exit 1
sync; t1=$(lbio now)
echo "RESULT linux_balance_alone_ms $(ms $t0 $t1) ms"
t0=$(lbio now); btrfs send -q -f /dev/vdb /mnt/s10 || exit 1; sync; t1=$(lbio now)
echo "RESULT linux_send_alone_ms $(ms $t0 $t1) ms"
t0=$(lbio now)
(btrfs balance start --full-balance /mnt >/dev/null && sync &&
	lbio now > /tmp/bal_end) &
btrfs send -q -f /dev/vdc /mnt/s10 || exit 1; sync; t1=$(lbio now)
wait
[ -s /tmp/bal_end ] || exit 1
echo "RESULT linux_send_during_ms $(ms $t0 $t1) ms"
echo "RESULT linux_balance_during_ms $(ms $t0 $(cat /tmp/bal_end)) ms"
SH
echo "bench/balance: Linux in QEMU" >&2
MACHINE=q35 TIMEOUT=${TIMEOUT:-3600} "$LB" script "$out/balance-linux.sh" \
	$(disks linux) 2>"$out/balance-linux.err" | grep '^RESULT ' > "$out/balance-linux.txt"
[ "$(wc -l < "$out/balance-linux.txt")" = 4 ] ||
	{ echo "bench/balance: the Linux run failed, see $out/balance-linux.err" >&2; exit 1; }

# ghee: the balance of the third row runs as a background job; its
# `time:` line follows its "Done" line, the send's follows nothing of it.
# Each kernel of KERNELS runs on a fresh copy of the image, one after
# the other (the first is "ghee", the next "ghee2", ...).
ghee_run() {	# NAME KERNEL
	echo "bench/balance: $1 ($2) in QEMU" >&2
	printf '%s\n' "mount vda" "cpus" \
		"time btrfs balance start --full-balance /" "cpus" "sync" "cpus" \
		"time send -q -f vdb /s10" "cpus" \
		"time btrfs balance start --full-balance / &" "time send -q -f vdc /s10" \
		"wait" "cpus" "umount /" "poweroff" |
		KERNEL=$2 DISKS="$(disks "$1")" scripts/run.sh \
		> "$out/balance-$1.log" 2>&1 ||
		{ echo "bench/balance: the $1 run failed, see $out/balance-$1.log" >&2; return 1; }
	awk -v o="$1" '{ sub(/\r$/, "") }
	/^Done, had to relocate/ { done = 1; next }
	/^time: / { if (done) b[nb++] = $2; else s[ns++] = $2; done = 0; next }
	/^ *CPU +HWID / { nl++ }
	/^ *[0-9]+ +[0-9]+ +online / { idle[nl] += $NF; if (nl == 1) ncpu++ }
	{ done = 0 }
	END {
		if (nb != 2 || ns != 2 || nl != 5) {
			print "bench/balance: " o " printed " ns " send and " nb " balance times, " nl " CPU lists" > "/dev/stderr"
			exit 1
		}
		printf "RESULT %s_send_alone_ms %d ms\nRESULT %s_balance_alone_ms %d ms\n", o, s[0], o, b[0]
		printf "RESULT %s_send_during_ms %d ms\nRESULT %s_balance_during_ms %d ms\n", o, s[1], o, b[1]
		# CPU time used (CPUs times the time, less their idle time)
		last = s[1] > b[1] ? s[1] : b[1]
		printf "RESULT %s_balance_alone_cpu_ms %d ms\n", o, ncpu * b[0] - (idle[2] - idle[1])
		printf "RESULT %s_send_alone_cpu_ms %d ms\n", o, ncpu * s[0] - (idle[4] - idle[3])
		printf "RESULT %s_together_cpu_ms %d ms\n", o, ncpu * last - (idle[5] - idle[4])
	}' "$out/balance-$1.log" > "$out/balance-$1.txt" ||
		{ echo "bench/balance: see $out/balance-$1.log" >&2; return 1; }
}
names=
i=1
for k in $KERNELS; do
	n=ghee; [ $i = 1 ] || n=ghee$i
	ghee_run $n "$k" || exit 1
	names="$names $n"
	i=$((i + 1))
done

for s in linux $names; do
	btrfs check "$out/balance-$s.img" > "$out/balance-check-$s.txt" 2>&1 ||
		{ echo "bench/balance: btrfs check failed on $s's image, see $out/balance-check-$s.txt" >&2; exit 1; }
done
for n in $names; do
	for d in s1 s2; do
		btrfs receive --dump -e -f "$out/balance-$n-$d.img" > /dev/null 2> "$out/balance-dump-$n-$d.err" ||
			{ echo "bench/balance: btrfs receive --dump refused $n's stream $d, see $out/balance-dump-$n-$d.err" >&2; exit 1; }
	done
done
res=$out/balance-results.txt
cat "$out/balance-linux.txt" $(printf "$out/balance-%s.txt " $names) > "$res"
cat "$res"
awk -v names="$names" -v smp="$SMP" '{ v[$2] = $3 } END {
	split("send_alone balance_alone send_during balance_during", k, " ")
	no = split(names, o, " ")
	for (j = 1; j <= no; j++)
		for (i = 1; i <= 4; i++) {
			g = v[o[j] "_" k[i] "_ms"]; l = v["linux_" k[i] "_ms"]
			printf "%s: %s %d ms, linux %d ms\n", k[i], o[j], g, l
			p = o[j] == "ghee" ? "" : o[j] "_"
			printf "RESULT %sratio_%s %.2f x\n", p, k[i], (g > 0 ? l / g : 0)
		}
	o[++no] = "linux"
	for (i = 1; i <= no; i++) {
		sa = v[o[i] "_send_alone_ms"]; ba = v[o[i] "_balance_alone_ms"]
		printf "RESULT %s_send_together_vs_alone %.2f x\n", o[i],
		       (sa > 0 ? v[o[i] "_send_during_ms"] / sa : 0)
		printf "RESULT %s_balance_together_vs_alone %.2f x\n", o[i],
		       (ba > 0 ? v[o[i] "_balance_during_ms"] / ba : 0)
		if (o[i] == "linux")
			continue
		# Together, the CPUs do the work of both: the one ending last
		# takes at least their CPU time over the CPUs, so with the
		# CPUs busy no scheduling brings both under this ratio.
		sc = v[o[i] "_send_alone_cpu_ms"]; bc = v[o[i] "_balance_alone_cpu_ms"]
		printf "RESULT %s_together_vs_alone_floor %.2f x\n", o[i],
		       (sc + bc) / (smp * (sa > ba ? sa : ba))
	}
}' "$res"
