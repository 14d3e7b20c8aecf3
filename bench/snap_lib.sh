# Sourced by bench/fs_snapshot.sh, bench/snapshot.sh, bench/qgroup.sh,
# bench/defrag*.sh and bench/dedupe.sh: what their runs of ghee and Linux
# share (the settings come from
# bench/image.sh: LB, out, SMP, MEM, ACCEL).
. bench/image.sh
# A loaded host can make Linux's boot-time check of the IO-APIC timer fail
# under TCG ("IO-APIC + timer doesn't work", a panic): skip that check.
export EXTRA_APPEND=${EXTRA_APPEND:-no_timer_check}
# ghee runs without its lock-order checker, as in the other fs benches
# (Linux's kernel has none): in a QEMU profile of a snapshot drop it took
# a quarter of the samples.
export APPEND="${APPEND:-} lockdep=off"

# The Linux script's lines that wait until every deleted subvolume of
# /mnt is dropped: `btrfs filesystem sync`, whose ioctl wakes the cleaner
# (which would otherwise wait for the next periodic commit, 30 s), then
# `subvolume list -d` polled every 10 ms until it is empty (`subvolume
# sync` waits for that commit and polls only every second).
LINUX_DROP_WAIT='btrfs -q filesystem sync /mnt || exit 1
while [ -n "$(btrfs subvolume list -d /mnt)" ]; do sleep 0.01; done'

# snap_image NAME IMG MB: a fresh preallocated image of MB MiB.
snap_image() {
	rm -f "$2"
	fallocate -l "$(($3 << 20))" "$2" ||
		{ echo "bench/$1: cannot make $2" >&2; exit 1; }
}

# snap_linux NAME SCRIPT IMG OUT: run SCRIPT in Linux on IMG (or several,
# "a.img ro:b.img": vda, vdb, ...), its output in OUT, its messages in
# OUT's .err; exits when Linux fails.
snap_linux() {
	# shellcheck disable=SC2086 # IMG is a list of images
	MACHINE=q35 TIMEOUT=${TIMEOUT:-3600} "$LB" script "$2" $3 \
		> "$4" 2> "${4%.*}.err" ||
		{ echo "bench/$1: the Linux run failed, see ${4%.*}.err" >&2; exit 1; }
}

# snap_ghee NAME CMDS IMG LOG: run ghee's shell commands CMDS on IMG (or
# several, as scripts/run.sh's DISKS) with kernel KERNEL (default
# build/kernel.elf), its console in LOG; exits when ghee or one of its
# commands fails.
snap_ghee() {
	KERNEL=${KERNEL:-build/kernel.elf} DISKS="$3" scripts/run.sh < "$2" > "$4" 2>&1 ||
		{ echo "bench/$1: the ghee run failed, see $4" >&2; exit 1; }
	if grep -qE "errno|^usage:|aborted" "$4"; then
		echo "bench/$1: a ghee command failed, see $4" >&2
		exit 1
	fi
}

# snap_check NAME IMG [OPTION...]: btrfs check (with OPTIONs) of ghee's
# image, when btrfs-progs is here; exits when it finds errors.
snap_check() {
	local name=$1 img=$2
	shift 2
	command -v btrfs >/dev/null || return 0
	btrfs check "$@" "$img" > "$out/$name-check.txt" 2>&1 ||
		{ echo "bench/$name: btrfs check found errors in $img, see $out/$name-check.txt" >&2; exit 1; }
}

# median_of NAME < `SAMPLE NAME VALUE UNIT` lines: `RESULT NAME MEDIAN
# UNIT` over the samples of NAME (the lower middle one of an even count).
median_of() {
	awk -v name="$1" '$1 == "SAMPLE" && $2 == name' | sort -g -k3,3 |
		awk '{ v[n++] = $3; u = $4; name = $2 }
		END { if (!n) exit 1; printf "RESULT %s %s %s\n", name, v[int((n - 1) / 2)], u }'
}

# snap_ratios LINUX GHEE: the RESULT lines of both files, a table of the
# rows both have (ghee, Linux, Linux / ghee: above 1 means ghee is faster)
# and a `RESULT ratio_ROW R x` line per row.
snap_ratios() {
	cat "$1" "$2"
	printf '\n%-30s %12s %12s %8s\n' row ghee linux ratio
	awk '
	FNR == NR { sub("^linux_", "", $2); linux[$2] = $3; next }
	{
		name = $2; sub("^ghee_", "", name)
		if (!(name in linux)) next
		l = linux[name]; g = $3; r = g > 0 ? l / g : 0
		printf "%-30s %9.1f ms %9.1f ms %8.2f\n", name, g, l, r
		ratios = ratios sprintf("RESULT ratio_%s %.2f x\n", name, r)
	}
	END { printf "%s", ratios }' "$1" "$2"
}

# df_used [TYPE] < `filesystem df -b` output (ghee's or btrfs-progs'):
# the used bytes of every line, or of the lines of TYPE (Data, Metadata,
# System). Declared into Linux scripts with `declare -f df_used`.
df_used() {
	awk -v type="${1:-}" '(type == "" || index($0, type) == 1) && /used=/ {
		for (i = 1; i <= NF; i++) if ($i ~ /^used=/) {
			v = $i; sub("used=", "", v); sub(",", "", v); s += v } }
	END { print s + 0 }'
}

# ghee_output LOG MARK: what the command after `echo MARK` printed in
# ghee's console LOG (carriage returns removed).
ghee_output() {
	sed 's/\r$//' "$1" | awk -v m="$2" '$0 == m { on = 1; next }
		on && /^ghee> / { if (on++ > 1) exit; next } on'
}
