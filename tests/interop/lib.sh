# Helpers of the interop scripts, sourced by them (write.sh, compress.sh).
# They need GHEE, the host tool's path.

say() { sed 's/^/# /'; }

# ghee IMG SCRIPT OUT: run the host tool; fail when any command failed.
ghee_run() {
	"$GHEE" "$1" <"$2" >"$3" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || grep -qE "^error|errno|^usage:|unknown command|aborted" "$3"; then
		grep -E -B1 "^error|errno|^usage:|unknown command|aborted" "$3" | head -n 8 | say
		return 1
	fi
	return 0
}

# btrfs_check IMG [OPTION...]: btrfs check (with the options, e.g.
# --check-data-csum) must pass and say so.
btrfs_check() {
	local out img=$1
	shift
	out=$(btrfs check "$@" "$img" 2>&1)
	local rc=$?
	if [ $rc -ne 0 ] || ! echo "$out" | grep -q "no error found"; then
		echo "# btrfs check exit status $rc"
		echo "$out" | grep -vE "^\[|^Opening|^Checking|^UUID" | head -n 12 | say
		return 1
	fi
	echo "$out" | grep -E "found .* bytes used|total tree bytes" | say
	return 0
}

# fsck_clean IMG: ghee's fsck of the unmounted image finds nothing.
fsck_clean() {
	local out
	out=$(printf 'fsck vda\n' | "$GHEE" "ro:$1" 2>&1)
	echo "$out" | grep "^fsck:\|^error" | head -n 6 | say
	echo "$out" | grep -q "^fsck: .*: no errors$"
}
