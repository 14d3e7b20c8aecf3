#!/usr/bin/env bash
# Dedupe of a tree with known duplicates, ghee beside Linux, each on its
# own copy of one image made with the host tool (build/ghee): /t holds
# DEDUPE_MB MiB (default 1 GiB) in files of FILE_MB MiB (default 8), half
# of them in /t/a (each of its own seed), the other half in /t/b (the same
# seeds: byte for byte copies of /t/a's), so 50% of the data is duplicate.
# - ghee: `dedupe scan -r /t` after a mount (cold), which has to find the
#   duplicates itself (by checksum, confirmed byte for byte), and a sync;
# - Linux has no scanner at hand (Debian's duperemove is not on this
#   machine, and the guest has busybox), so it does what duperemove
#   does, with the search left out: after dropping its caches it reads
#   and hashes every file (sha256sum; duperemove hashes each block of
#   every file), then FIDEDUPERANGE over the known pairs, /t/a/fN into
#   /t/b/fN (bench/fidedupe.c), where the kernel compares both ranges
#   and shares them. Both parts are timed, and their sum is Linux's.
# Prints `RESULT name value unit`: each side's time, GiB/s over the tree,
# data bytes saved (data used before minus after, from `filesystem df
# -b`), which must equal the duplicates on ghee's side; ghee's image must pass btrfs
# check and read back the same bytes in both halves.
# Settings: DEDUPE_MB (1024), FILE_MB (8), SMP (1), MEM (512M), ACCEL (tcg).
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/snap_lib.sh
DEDUPE_MB=${DEDUPE_MB:-1024}
FILE_MB=${FILE_MB:-8}
img=$out/dedupe-ghee.img
limg=$out/dedupe-linux.img
res=$out/dedupe.txt
pairs=$((DEDUPE_MB / FILE_MB / 2))
dup=$((pairs * FILE_MB << 20))
echo "bench/dedupe: $DEDUPE_MB MiB in $((2 * pairs)) files, $((dup >> 20)) MiB duplicate" \
	"(smp=$SMP mem=$MEM accel=$ACCEL)" >&2

make -s build/ghee >/dev/null || { echo "bench/dedupe: cannot build the host tool" >&2; exit 1; }
gcc -Os -static -nostdlib -fno-stack-protector -fno-pie -no-pie -Wall \
	-o "$out/fidedupe" bench/fidedupe.c && strip "$out/fidedupe" ||
	{ echo "bench/dedupe: cannot build bench/fidedupe.c" >&2; exit 1; }
rm -f "$img" && truncate -s $((DEDUPE_MB + 1024))M "$img"
printf 'mkfs vda\n' | build/ghee "$img" >/dev/null 2>&1
{
	echo "mount vda"
	echo "mkdir -p /t/a /t/b"
	for ((i = 0; i < pairs; i++)); do
		echo "write /t/a/f$i 0 ${FILE_MB}M $((i + 1))"
		echo "write /t/b/f$i 0 ${FILE_MB}M $((i + 1))"
	done
	echo "umount"
} | build/ghee "$img" > "$out/dedupe-build.txt" 2>&1
if grep -qE "^error|errno|ERROR" "$out/dedupe-build.txt"; then
	echo "bench/dedupe: making the tree failed, see $out/dedupe-build.txt" >&2
	exit 1
fi
cp --sparse=always "$img" "$limg"

{
	declare -f df_used
	echo 'base64 -d > /tmp/fidedupe <<B64'
	base64 "$out/fidedupe"
	echo 'B64'
	cat <<SH
chmod +x /tmp/fidedupe
ms() { echo \$(( (\$2 - \$1) / 1000000 )); }
mount /dev/vda /mnt || exit 1
echo "RESULT linux_data_before \$(btrfs filesystem df -b /mnt | df_used Data) bytes"
echo 3 > /proc/sys/vm/drop_caches
t0=\$(lbio now)
find /mnt/t -type f | xargs sha256sum > /dev/null || exit 1
th=\$(lbio now)
for i in \$(seq 0 $((pairs - 1))); do
	/tmp/fidedupe /mnt/t/a/f\$i /mnt/t/b/f\$i $((FILE_MB << 20)) ||
		{ echo "fidedupe failed on f\$i" >&2; exit 1; }
done
btrfs -q filesystem sync /mnt || exit 1
t1=\$(lbio now)
echo "RESULT linux_hash_ms \$(ms \$t0 \$th) ms"
echo "RESULT linux_ioctl_ms \$(ms \$th \$t1) ms"
echo "RESULT linux_dedupe_ms \$(ms \$t0 \$t1) ms"
echo "RESULT linux_data_after \$(btrfs filesystem df -b /mnt | df_used Data) bytes"
umount /mnt
SH
} > "$out/dedupe-linux.sh"
echo "bench/dedupe: Linux in QEMU" >&2
snap_linux dedupe "$out/dedupe-linux.sh" "$limg" "$out/dedupe-linux.txt"
grep '^RESULT ' "$out/dedupe-linux.txt" > "$res"

sums="sha256sum"
for ((i = 0; i < pairs && i < 8; i++)); do sums+=" /t/a/f$i /t/b/f$i"; done
cat > "$out/dedupe-ghee.cmds" <<EOF2
mount vda
echo df-before
filesystem df -b /
time dedupe scan -r /t
time sync
echo df-after
filesystem df -b /
umount
mount vda
$sums
umount
poweroff
EOF2
echo "bench/dedupe: ghee in QEMU" >&2
log=$out/dedupe-ghee.log
snap_ghee dedupe "$out/dedupe-ghee.cmds" "$img" "$log"
sed -i 's/\r$//' "$log"
ms=$(awk '/^time: / { n++; s += $2 } END { if (n == 2) print int(s) }' "$log")
scan=$(grep '^scanned ' "$log")
{
	echo "RESULT ghee_data_before $(ghee_output "$log" df-before | df_used Data) bytes"
	echo "RESULT ghee_dedupe_ms $ms ms"
	echo "RESULT ghee_data_after $(ghee_output "$log" df-after | df_used Data) bytes"
} >> "$res"
echo "ghee: $scan" >&2
fail=0
# Every file of /t/b reads back its /t/a twin's bytes, and the twins differ
# from one another (the tree's duplicates are the pairs only).
sed -nE 's/^([0-9a-f]{64})  \/t\/.*/\1/p' "$log" | awk '
	NR % 2 { a = $1; seen[a]++; next } $1 != a { bad = 1 }
	END { for (s in seen) if (seen[s] != 1) bad = 1; exit bad }' ||
	{ echo "bench/dedupe: ghee reads back wrong bytes, see $log" >&2; fail=1; }
if [ -z "$ms" ] || [ -z "$scan" ]; then
	echo "bench/dedupe: ghee printed too little, see $log" >&2
	exit 1
fi
snap_check dedupe "$img"

cat "$res"
awk -v dup="$dup" -v mb="$DEDUPE_MB" '
{ v[$2] = $3 }
function side(s,   saved, ms) {
	saved = v[s "_data_before"] - v[s "_data_after"]; ms = v[s "_dedupe_ms"]
	printf "RESULT %s_saved %d bytes\n", s, saved
	printf "RESULT %s_gib_per_s %.3f GiB/s\n", s, (ms > 0 ? mb / 1024 * 1000 / ms : 0)
	if (s == "ghee" && saved != dup) { printf "bench/dedupe: %s saved %d bytes, not the %d duplicate\n", s, saved, dup > "/dev/stderr"; bad = 1 }
}
END {
	side("ghee"); side("linux")
	printf "RESULT ratio_dedupe %.2f x\n", (v["ghee_dedupe_ms"] > 0 ? v["linux_dedupe_ms"] / v["ghee_dedupe_ms"] : 0)
	exit bad
}' "$res" || fail=1
exit "$fail"
