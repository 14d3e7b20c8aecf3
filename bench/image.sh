# Sourced by bench/send.sh and bench/balance.sh: the settings of a run
# beside Linux, and the source image both make on a loop mount.
# Sets LB (Linux in QEMU: shared/tools/linux-btrfs/run.sh), out (the
# bench's directory) and exports SMP (1), MEM (512M), ACCEL (tcg).

LB=${LB:-../shared/tools/linux-btrfs/run.sh}
[ -x "$LB" ] || LB=/work/shared/tools/linux-btrfs/run.sh
export SMP=${SMP:-1} MEM=${MEM:-512M} ACCEL=${ACCEL:-tcg}
out=build/bench
mkdir -p "$out"

# What every image's Python gets: top (the mount), args (the words after
# it), sh(*argv) (a command that must succeed, its output dropped) and
# fill(path, size, block) (a file of size bytes, block repeated).
BENCH_PY_PRELUDE='import os, random, subprocess, sys
top, args = sys.argv[1], sys.argv[2:]
def sh(*a):
    subprocess.run(a, check=True, stdout=subprocess.DEVNULL)
def fill(path, size, block):
    with open(path, "wb") as f:
        for off in range(0, size, len(block)):
            f.write(block[:min(len(block), size - off)])
'

# bench_image NAME IMG SRC MB [ARG...] < PYTHON: make IMG, a btrfs of MB
# MiB, mount it at SRC, run PYTHON (after the prelude above, with top =
# SRC and args = ARG...) in it, and unmount it. Says what failed (as
# bench/NAME) and returns 1 when a step fails; SRC is left unmounted.
bench_image() {
	local name=$1 img=$2 src=$3 mb=$4 body
	shift 4
	body=$(cat)
	mountpoint -q "$src" && umount "$src"
	mkdir -p "$src"
	rm -f "$img"
	truncate -s "${mb}M" "$img"
	mkfs.btrfs -q -f "$img" >/dev/null 2>&1 && mount -o loop "$img" "$src" ||
		{ echo "bench/$name: cannot mount a source (needs root)" >&2; return 1; }
	python3 - "$src" "$@" <<< "$BENCH_PY_PRELUDE$body" ||
		{ umount "$src"; echo "bench/$name: making the image failed" >&2; return 1; }
	sync
	umount "$src"
}
