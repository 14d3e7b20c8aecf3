# Helpers shared by the interop scripts (sourced): KTAP lines and the
# judges. The sourcing script sets N=0, FAILED=0 and GHEE (the host
# tool's path) first.

echo "KTAP version 1"
ok() { N=$((N + 1)); echo "ok $N $1"; }
notok() { N=$((N + 1)); FAILED=$((FAILED + 1)); echo "not ok $N $1 # $2"; }
skip() { N=$((N + 1)); echo "ok $N $1 # SKIP $2"; }
finish() { echo "1..$N"; echo "$((N - FAILED)) passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }
say() { sed 's/^/# /'; }

# ghee_run OUT ARGS...: run the host tool on the images ARGS with the
# commands on stdin into OUT; fail when any command failed.
ghee_run() {
	local out=$1
	shift
	timeout 600 "$GHEE" "$@" >"$out" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] || grep -qE "^error|errno|^ERROR|^usage:|unknown command|aborted" "$out"; then
		grep -E -B1 "^error|errno|^ERROR|^usage:|unknown command|aborted" "$out" | head -n 8 | say
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
	if [ $rc -ne 0 ] || ! grep -q "no error found" <<<"$out"; then
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
	grep -q "^fsck: .*: no errors$" <<<"$out"
}

# ghee_said LOG LINE: what ghee printed for the command LINE in its
# console LOG (between that command's prompt and the next prompt).
ghee_said() {
	awk -v c="ghee> $2" '$0 == c { on = 1; next } /^ghee> / { on = 0 } on' "$1"
}
