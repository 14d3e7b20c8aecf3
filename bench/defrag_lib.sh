# Sourced by bench/defrag.sh and bench/defrag_qemu.sh: the reference's
# scenario of issue 16, made with the host tool (build/ghee).

# defrag_image IMG MIB SNAPS QUOTA LOG: make IMG, a btrfs holding /sv/f, a
# file of MIB MiB written as one extent (seed 1), then every other 4 KiB
# block written again (seed 2), then SNAPS read-only snapshots /s0... of
# /sv, quotas on when QUOTA is 1; the tool's output goes to LOG. Returns 1
# (with the errors on stderr) when a command failed.
defrag_image() {
	local img=$1 mib=$2 snaps=$3 quota=$4 log=$5 off i
	make -s build/ghee >/dev/null ||
		{ echo "bench: cannot build the host tool" >&2; return 1; }
	rm -f "$img" && truncate -s $((mib * 8 + snaps / 4 + 1024))M "$img"
	printf 'mkfs vda\n' | build/ghee "$img" >/dev/null 2>&1
	{
		echo "mount vda"
		[ "$quota" = 1 ] && echo "quota enable /"
		echo "subvolume create /sv"
		echo "write /sv/f 0 $((mib << 20)) 1"
		echo "sync"
		for ((off = 4096; off < mib << 20; off += 8192)); do
			echo "write /sv/f $off 4096 2"
		done
		echo "sync"
		for ((i = 0; i < snaps; i++)); do
			echo "subvolume snapshot -r /sv /s$i"
		done
		echo "sync"
		echo "umount"
	} | build/ghee "$img" >"$log" 2>&1
	if grep -qE "^error|errno|ERROR" "$log"; then
		grep -E "^error|errno|ERROR" "$log" | head -n 5 >&2
		return 1
	fi
}
