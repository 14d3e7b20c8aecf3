#!/usr/bin/env bash
# Compressed writes and reads (issue 20), ghee beside Linux in one run, with
# the same mount option on both sides: for each of compress=zstd:3 and
# compress=lzo, Linux then ghee, each on a fresh btrfs in a preallocated
# image of the same size, with the same QEMU disk options, CPU count,
# memory, machine and accelerator (bench/snap_lib.sh). Each boot times:
#   - write: COMP_MB MiB (default 1024) into one file, and the sync after
#     it (Linux compresses at writeback, so in the sync);
#   - read: that file after unmounting and mounting again (Linux also
#     drops its caches), read whole and the data dropped.
# The data is text-like: a TEXT_KB KiB block (default 4096) of made-up
# words with Zipf-like frequencies, in sentences wrapped at 72 columns,
# made by a seeded Python generator (so every run writes the same bytes),
# repeated to COMP_MB. Both filesystems compress each 128 KiB of a file on
# its own, so a block of several MiB repeated compresses as unique text of
# its kind would; zstd -3 gives it about 3:1. The block sits in a small
# host-made btrfs attached read-only (vdb): Linux copies it into /tmp
# (tmpfs) untimed and writes it with one `cat BLOCK BLOCK ...`; ghee's
# `write-repeat` reads it once (inside the timed command) and writes it in
# 1 MiB pieces.
# After the runs: the size each side's extents take on disk (the sum of
# disk_num_bytes over the file's distinct extents, from `btrfs
# inspect-internal dump-tree` on the host; each side's own `filesystem df -b` Data
# used is printed beside it), the data ratio (data / that size), and
# whether each image passes `btrfs check --check-data-csum`. Each side
# also reads the other's file back (ghee reads Linux's image in its run;
# one more Linux boot reads ghee's two) and its SHA-256 must be the
# host's.
# Prints `RESULT name value unit` and a table: time, MiB/s, Linux time /
# ghee time (above 1: ghee is faster), the size on disk of each.
# Settings: SMP (1), MEM (512M), ACCEL (tcg), COMP_MB (1024; rounded up to
# a whole number of blocks; lower it on a loaded machine), TEXT_KB (4096),
# ROUNDS (1: times Linux and ghee in turn), KERNELS ("build/kernel.elf":
# ghee builds run in each round, every ratio against the Linux run just
# before), PROFILE=1 (ghee's write and read under `profile`, whose tables
# go to the log; take figures from runs without it).
set -uo pipefail
cd "$(dirname "$0")/.."

. bench/snap_lib.sh
# ghee runs without its lock-order checker, as bench/kernel.sh: the
# figures are those of a production kernel.
export APPEND="${APPEND:-} lockdep=off"
ROUNDS=${ROUNDS:-1}
KERNELS=${KERNELS:-build/kernel.elf}
PROF=
[ "${PROFILE:-0}" = 1 ] && PROF="profile "
TEXT_KB=${TEXT_KB:-4096}
COMP_MB=${COMP_MB:-1024}
NBLOCKS=$(((COMP_MB * 1024 + TEXT_KB - 1) / TEXT_KB))
COMP_MB=$((NBLOCKS * TEXT_KB / 1024))
ALGS="zstd:3 lzo"
size=$((COMP_MB + 1024))
echo "bench/compress: $COMP_MB MiB of text ($NBLOCKS x $TEXT_KB KiB) with" \
	"$ALGS (smp=$SMP mem=$MEM accel=$ACCEL)" >&2

# The text block: in the source image (kept for later runs, as the
# generator always makes the same bytes) and as a host file for the sum.
src_img=$out/compress-src-$TEXT_KB.img
block=$out/compress-text-$TEXT_KB.txt
if [ ! -f "$src_img" ] || [ ! -f "$block" ]; then
	echo "bench/compress: making the text ($src_img)" >&2
	bench_image compress "$src_img.tmp" "$out/compress-src" 128 \
		$((TEXT_KB << 10)) "$PWD/$block" <<'PY' || exit 1
# Words of 2-10 letters drawn by English letter frequencies, a
# vocabulary of 1500 used with weights 1/rank, sentences of 5-20 words
# (8% followed by a comma), lines wrapped at 72 columns.
size, copy = int(args[0]), args[1]
r = random.Random(20)
letters = "etaoinshrdlcumwfgypbvkjxqz"
freq = [12.7, 9.1, 8.2, 7.5, 7.0, 6.7, 6.3, 6.1, 6.0, 4.3, 4.0, 2.8, 2.8,
        2.4, 2.4, 2.2, 2.0, 2.0, 1.9, 1.5, 1.0, 0.8, 0.2, 0.2, 0.1, 0.1]
vocab = ["".join(r.choices(letters, freq, k=r.randint(2, 10)))
         for _ in range(1500)]
rank = [1.0 / (i + 1) for i in range(len(vocab))]
lines, line, n = [], [], 0
while n < size:
    words = r.choices(vocab, rank, k=r.randint(5, 20))
    words[0] = words[0].capitalize()
    words = [w + ("," if r.random() < 0.08 else "") for w in words]
    words[-1] += "."
    for w in words:
        if line and len(" ".join(line)) + 1 + len(w) > 72:
            lines.append(" ".join(line))
            n += len(lines[-1]) + 1
            line = []
        line.append(w)
text = ("\n".join(lines) + "\n").encode()[:size]
for path in (top + "/text", copy):
    with open(path, "wb") as f:
        f.write(text)
PY
	mv "$src_img.tmp" "$src_img"
fi
want=$(for _ in $(seq 1 "$NBLOCKS"); do cat "$block"; done | sha256sum | cut -d' ' -f1)

# tag ALG: the name of ALG in rows and files ("zstd:3" -> "zstd3").
tag() { echo "${1//:/}"; }

# Linux's script for ALG: prints `RESULT linux_TAG_{write,read}_ms` and
# `RESULT linux_TAG_df_bytes` (Data used).
linux_script() {
	local t=$(tag "$1")
	cat <<SH
ms() { echo \$(( (\$2 - \$1) / 1000000 )); }
mkfs.btrfs -q -f /dev/vda >/dev/null && mount -o compress=$1 /dev/vda /mnt || exit 1
mount -o ro /dev/vdb /mnt2 && cp /mnt2/text /tmp/blk && umount /mnt2 || exit 1
t0=\$(lbio now); cat $(for _ in $(seq 1 "$NBLOCKS"); do printf '/tmp/blk '; done)> /mnt/big || exit 1
sync; t1=\$(lbio now)
echo "RESULT linux_${t}_write_ms \$(ms \$t0 \$t1) ms"
btrfs filesystem df -b /mnt | sed -n 's/^Data, [a-z0-9]*: .*used=\([0-9]*\).*/RESULT linux_${t}_df_bytes \1 bytes/p'
rm /tmp/blk
umount /mnt && mount -o compress=$1 /dev/vda /mnt || exit 1
echo 3 > /proc/sys/vm/drop_caches
t0=\$(lbio now); cat /mnt/big > /dev/null || exit 1; t1=\$(lbio now)
echo "RESULT linux_${t}_read_ms \$(ms \$t0 \$t1) ms"
SH
}

# ghee's commands for ALG: its times are the write's, the sync's and the
# read's; then Linux's image of ALG (vdc) is read for its sum.
ghee_cmds() {
	cat <<CMDS
mkfs vda
mount vda -o compress=$1
mkdir /src
mount vdb /src -o ro
time ${PROF}write-repeat /src/text /big ${COMP_MB}M
time sync
filesystem df -b /
umount /src
umount
mount vda -o compress=$1
time ${PROF}readfile /big
umount
mount vdc -o ro
sha256sum /big
umount
poweroff
CMDS
}

# ghee_rows ALG LOG: its RESULT lines from its console; exits when the
# run printed other than three times or a wrong sum of Linux's file.
ghee_rows() {
	local t=$(tag "$1")
	awk -v t="$t" -v want="$want" '
	{ sub(/\r$/, "") }
	/^time: / { ms[n++] = $2 }
	/^Data, / { sub(/.*used=/, ""); used = $0 }
	$2 == "/big" && length($1) == 64 { sum = $1 }
	END {
		if (n != 3) { print "bench/compress: ghee printed " n " times" > "/dev/stderr"; exit 1 }
		if (sum != want) { print "bench/compress: ghee read Linux'"'"'s file as " sum ", not " want > "/dev/stderr"; exit 1 }
		printf "RESULT ghee_%s_write_ms %d ms\n", t, ms[0] + ms[1]
		printf "RESULT ghee_%s_read_ms %d ms\n", t, ms[2]
		printf "RESULT ghee_%s_df_bytes %d bytes\n", t, used
	}' "$2"
}

# disk_bytes IMG: bytes on disk of the distinct regular extents the
# top-level subvolume's files point at, and how many are compressed.
disk_bytes() {
	btrfs inspect-internal dump-tree -t 5 "$1" | awk '
	/extent data disk byte/ && $5 != 0 { ext[$5] = $7; last = $5 }
	/extent compression/ && $3 != 0 && last != "" { comp[last] = 1 }
	/^\titem / { last = "" }
	END {
		for (e in ext) { b += ext[e]; n++ }
		for (e in comp) c++
		printf "%d %d %d\n", b, n, c
	}'
}

# sizes SIDE ALG IMG: the disk_bytes row of SIDE's image IMG of ALG.
sizes() {
	local b n c
	read -r b n c < <(disk_bytes "$3")
	echo "RESULT $1_$(tag "$2")_disk_bytes $b bytes"
	echo "RESULT $1_$(tag "$2")_extents $n extents ($c compressed)"
}

# table FILE: the rows of FILE's RESULT lines side by side.
table() {
	printf '\n%-12s %10s %10s %7s %14s   %s\n' row ghee linux ratio "MiB/s g / l" \
		"on disk: ghee / linux (data ratio)"
	awk -v mb="$COMP_MB" '
	{ v[$2] = $3 }
	END {
		split("zstd3 lzo", algs, " ")
		for (a = 1; a <= 2; a++) for (k = 1; k <= 2; k++) {
			row = algs[a] "_" (k == 1 ? "write" : "read")
			g = v["ghee_" row "_ms"]; l = v["linux_" row "_ms"]
			if (g == "" || l == "") continue
			r = g > 0 ? l / g : 0
			gb = v["ghee_" algs[a] "_disk_bytes"]; lb = v["linux_" algs[a] "_disk_bytes"]
			printf "%-12s %7d ms %7d ms %7.2f %6.0f / %-6.0f", row, g, l, r,
			       (g > 0 ? mb * 1000 / g : 0), (l > 0 ? mb * 1000 / l : 0)
			if (k == 1 && gb > 0 && lb > 0)
				printf "   %.1f / %.1f MiB (%.2f / %.2f)", gb / 1048576, lb / 1048576,
				       mb * 1048576 / gb, mb * 1048576 / lb
			printf "\n"
			ratios = ratios sprintf("RESULT ratio_%s %.2f x\n", row, r)
			if (k == 1 && gb > 0 && lb > 0)
				ratios = ratios sprintf("RESULT size_%s_ghee_over_linux %.3f x\n", algs[a], gb / lb)
		}
		printf "%s", ratios
	}' "$1"
}

res=$out/compress-results.txt
for r in $(seq 1 "$ROUNDS"); do
	k=0
	for kernel in $KERNELS; do
		k=$((k + 1))
		: > "$res"
		for alg in $ALGS; do
			t=$(tag "$alg")
			limg=$out/compress-linux-$t.img
			gimg=$out/compress-ghee-$t.img
			if [ "$k" = 1 ]; then
				echo "bench/compress: Linux, compress=$alg" >&2
				linux_script "$alg" > "$out/compress-linux.sh"
				snap_image compress "$limg" "$size"
				snap_linux compress "$out/compress-linux.sh" "$limg ro:$src_img" \
					"$out/compress-linux-$t.txt"
				snap_check compress "$limg" --check-data-csum
			fi
			grep '^RESULT ' "$out/compress-linux-$t.txt" >> "$res"
			echo "bench/compress: ghee ($kernel), compress=$alg" >&2
			ghee_cmds "$alg" > "$out/compress-ghee.cmds"
			snap_image compress "$gimg" "$size"
			log=$out/compress-ghee-$t.log
			[ "$KERNELS" = "${KERNELS%% *}" ] || log=$out/compress-ghee-$t-$k-$r.log
			KERNEL=$kernel snap_ghee compress "$out/compress-ghee.cmds" \
				"$gimg ro:$src_img ro:$limg" "$log"
			ghee_rows "$alg" "$log" >> "$res" || exit 1
			snap_check compress "$gimg" --check-data-csum
			sizes linux "$alg" "$limg" >> "$res"
			sizes ghee "$alg" "$gimg" >> "$res"
		done
		# Linux reads ghee's files back.
		{
			echo "for d in /dev/vda /dev/vdb; do"
			echo "	mount -o ro \$d /mnt && sha256sum /mnt/big && umount /mnt || exit 1"
			echo "done"
		} > "$out/compress-linux-read.sh"
		snap_linux compress "$out/compress-linux-read.sh" \
			"ro:$out/compress-ghee-zstd3.img ro:$out/compress-ghee-lzo.img" \
			"$out/compress-linux-read.txt"
		if [ "$(grep -c "^$want " "$out/compress-linux-read.txt")" != 2 ]; then
			echo "bench/compress: Linux read ghee's files wrong, see $out/compress-linux-read.txt" >&2
			exit 1
		fi
		cat "$res"
		echo "round $r, $kernel: btrfs check --check-data-csum clean on all four images;" \
			"each side read the other's files back (sha256 $want)"
		table "$res"
	done
done
