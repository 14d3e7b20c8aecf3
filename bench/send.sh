#!/usr/bin/env bash
# send, ghee beside Linux: the host makes one btrfs image holding a
# read-only snapshot s1 of SEND_MB MiB (default 1024) in files of mixed
# sizes (4 KiB to 8 MiB), a snapshot s2 after every tenth file was
# rewritten (about 10% of the data changed) and a snapshot small of
# SMALL (default 100,000) files of 1-4 KiB. Linux and ghee, each in QEMU
# with the same settings and the image attached read-only, send s1 whole,
# s2 incrementally on s1 and small whole, each stream to a raw disk of
# its own (vdb, vdc, vdd), timed with its sync. Prints `RESULT name value
# unit`, each stream's size beside Linux's (read back from the disks) and
# the ghee/Linux ratios (Linux time / ghee time: above 1 means ghee is
# faster); every ghee stream must be accepted by `btrfs receive --dump`.
# Needs root (loop mount) and btrfs-progs.
# Settings: SMP (1), MEM (512M), ACCEL (tcg), KERNEL (build/kernel.elf),
# SEND_MB, SMALL, ROUNDS (1; each round runs both systems, which goes
# first alternating, and prints the load average before each run).
set -uo pipefail
cd "$(dirname "$0")/.."

. bench/image.sh
SEND_MB=${SEND_MB:-1024}
SMALL=${SMALL:-100000}
ROUNDS=${ROUNDS:-1}
src=$out/send-src
img=$out/send.img
echo "bench/send: $SEND_MB MiB in mixed files, 10% changed, and $SMALL small" \
	"files (smp=$SMP mem=$MEM accel=$ACCEL), $ROUNDS round(s)" >&2

bench_image send "$img" "$src" $((SEND_MB * 2 + SMALL * 16 / 1024 + 512)) \
	"$SEND_MB" "$SMALL" <<'PY' || exit 1
mb, small = int(args[0]), int(args[1])
sh("btrfs", "subvolume", "create", top + "/data")
rng = random.Random(1)
left, files = mb << 20, []
block = os.urandom(1 << 20)
while left > 0:
    size = min(left, rng.choice([4096, 65536, 1 << 20, 8 << 20]))
    d = "%s/data/d%03d" % (top, len(files) // 100)
    os.makedirs(d, exist_ok=True)
    path = "%s/f%05d" % (d, len(files))
    fill(path, size, block)
    files.append((path, size))
    left -= size
sh("btrfs", "subvolume", "snapshot", "-r", top + "/data", top + "/s1")
block = os.urandom(1 << 20)
for path, size in files[::10]:
    fill(path, size, block)
sh("btrfs", "subvolume", "snapshot", "-r", top + "/data", top + "/s2")
sh("btrfs", "subvolume", "create", top + "/many")
for i in range(small):
    d = "%s/many/d%03d" % (top, i // 1000)
    os.makedirs(d, exist_ok=True)
    with open("%s/f%05d" % (d, i), "wb") as f:
        f.write(block[i % 4096:i % 4096 + 1024 + i % 3072])
sh("btrfs", "subvolume", "snapshot", "-r", top + "/many", top + "/small")
PY

# Stream disks, zeroed for each run; their sizes bound the streams.
disks() {
	local d
	for d in full:$((SEND_MB + 64)) incr:$((SEND_MB / 5 + 64)) \
		small:$((SMALL * 5 / 1024 + 64)); do
		rm -f "$out/send-$1-${d%%:*}.img"
		truncate -s "${d#*:}M" "$out/send-$1-${d%%:*}.img"
	done
}
streams() { echo "$out/send-$1-full.img $out/send-$1-incr.img $out/send-$1-small.img"; }

# stream_bytes DISK: the length of the stream at the start of DISK (up to
# and including its END command), or nothing when it is not one.
stream_bytes() {
	python3 - "$1" <<'PY'
import struct, sys
with open(sys.argv[1], "rb") as f:
    if f.read(13) != b"btrfs-stream\0":
        sys.exit(1)
    f.read(4)
    at = 17
    while True:
        h = f.read(10)
        if len(h) < 10:
            sys.exit(1)
        n, cmd = struct.unpack("<IH", h[:6])
        at += 10 + n
        if cmd == 21:
            print(at)
            break
        f.seek(n, 1)
PY
}

cat > "$out/send-linux.sh" <<'SH'
ms() { echo $(( ($2 - $1) / 1000000 )); }
mount -o ro /dev/vda /mnt || exit 1
t0=$(lbio now); btrfs send -q -f /dev/vdb /mnt/s1 || exit 1; sync; t1=$(lbio now)
btrfs send -q -p /mnt/s1 -f /dev/vdc /mnt/s2 || exit 1; sync; t2=$(lbio now)
btrfs send -q -f /dev/vdd /mnt/small || exit 1; sync; t3=$(lbio now)
echo "RESULT linux_send_full_ms $(ms $t0 $t1) ms"
echo "RESULT linux_send_incr_ms $(ms $t1 $t2) ms"
echo "RESULT linux_send_small_ms $(ms $t2 $t3) ms"
SH
load() { cut -d' ' -f1 /proc/loadavg; }

# One Linux run: its times in $out/send-linux.txt.
run_linux() {
	disks linux
	echo "bench/send: Linux in QEMU (load $(load))" >&2
	echo "RESULT load_before_linux $(load) load" > "$out/send-linux.txt"
	MACHINE=q35 TIMEOUT=${TIMEOUT:-3600} "$LB" script "$out/send-linux.sh" "ro:$img" \
		$(streams linux) 2>"$out/send-linux.err" | grep '^RESULT ' >> "$out/send-linux.txt"
	[ "$(wc -l < "$out/send-linux.txt")" = 4 ] ||
		{ echo "bench/send: the Linux run failed, see $out/send-linux.err" >&2; return 1; }
}

# One ghee run: its times in $out/send-ghee.txt; its streams must be
# accepted by btrfs receive --dump.
run_ghee() {
	local s
	disks ghee
	echo "bench/send: ghee in QEMU (load $(load))" >&2
	echo "RESULT load_before_ghee $(load) load" > "$out/send-ghee.txt"
	printf '%s\n' "mount -o ro vda" "time send -q -f vdb /s1" \
		"time send -q -p /s1 -f vdc /s2" "time send -q -f vdd /small" "umount /" \
		"poweroff" | KERNEL=${KERNEL:-build/kernel.elf} DISKS="$img $(streams ghee)" scripts/run.sh \
		> "$out/send-ghee.log" 2>&1 ||
		{ echo "bench/send: the ghee run failed, see $out/send-ghee.log" >&2; return 1; }
	awk '{ sub(/\r$/, "") } /^time: / { t[n++] = $2 }
	END {
		if (n != 3) { print "bench/send: ghee printed " n " times" > "/dev/stderr"; exit 1 }
		printf "RESULT ghee_send_full_ms %d ms\nRESULT ghee_send_incr_ms %d ms\n", t[0], t[1]
		printf "RESULT ghee_send_small_ms %d ms\n", t[2]
	}' "$out/send-ghee.log" >> "$out/send-ghee.txt" ||
		{ echo "bench/send: see $out/send-ghee.log" >&2; return 1; }
	for s in full incr small; do
		btrfs receive --dump -e -f "$out/send-ghee-$s.img" > /dev/null 2> "$out/send-dump-$s.err" ||
			{ echo "bench/send: btrfs receive --dump refused ghee's $s stream, see $out/send-dump-$s.err" >&2; return 1; }
	done
}

# The results of round $1: both runs' times, the stream sizes, the ratios.
report() {
	local s g l res=$out/send-results-$1.txt
	cat "$out/send-linux.txt" "$out/send-ghee.txt" > "$res"
	for s in full incr small; do
		g=$(stream_bytes "$out/send-ghee-$s.img") l=$(stream_bytes "$out/send-linux-$s.img")
		[ -n "$g" ] && [ -n "$l" ] ||
			{ echo "bench/send: the $s stream is not on its disk" >&2; return 1; }
		echo "RESULT ghee_stream_${s}_bytes $g bytes" >> "$res"
		echo "RESULT linux_stream_${s}_bytes $l bytes" >> "$res"
	done
	echo "bench/send: round $1"
	cat "$res"
	awk '{ v[$2] = $3 } END {
		split("full incr small", k, " ")
		for (i = 1; i <= 3; i++) {
			g = v["ghee_send_" k[i] "_ms"]; l = v["linux_send_" k[i] "_ms"]
			printf "send %s: ghee %d ms, linux %d ms, stream %.1f MiB (linux %.1f MiB)\n", k[i], g, l,
			       v["ghee_stream_" k[i] "_bytes"] / 1048576, v["linux_stream_" k[i] "_bytes"] / 1048576
			printf "RESULT ratio_send_%s %.2f x\n", k[i], (g > 0 ? l / g : 0)
		}
	}' "$res"
}

# Rounds alternate which system goes first, so that a load that changes
# during the run weighs on both.
for r in $(seq 1 "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then
		run_linux && run_ghee || exit 1
	else
		run_ghee && run_linux || exit 1
	fi
	report "$r" || exit 1
done
