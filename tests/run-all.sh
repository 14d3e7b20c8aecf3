#!/usr/bin/env bash
# Run every test suite and print one closing line for all of them:
# "N passed, N failed, N skipped". Each suite prints KTAP lines; its own
# summary line is kept as a comment.
#
# A suite is trusted only as far as it ran to its end: besides its own
# "not ok" lines, the runner fails it (one more "not ok SUITE # why" line,
# naming it) when its exit status is not 0 (1 is accepted only from a
# suite that reported a failure): a sanitizer abort, LeakSanitizer's 23,
# ThreadSanitizer's 66, a signal, a `set -u` abort; when it prints no plan
# "1..N" or more than one; or when the number of results it printed
# differs from its plan (a suite that died between two cases). Any suite
# added to the list below gets these checks.
set -uo pipefail
cd "$(dirname "$0")/.."

suites=(
	"host:build/tests/host_tests"
	"tsan:build/tests/host_tests_tsan"
	"qemu:tests/qemu/run.py"
)
suites+=("interop:tests/interop/run.sh"
	 "interop-linux:tests/interop/linux_made.sh"
	 "interop-shared:tests/interop/linux_shared.sh"
	 "tree-log:tests/interop/tree_log.sh"
	 "write:tests/interop/write.sh"
	 "csum:tests/interop/csum.sh"
	 "compress:tests/interop/compress.sh"
	 "snapshot:tests/interop/snapshot.sh"
	 "progs-images:tests/interop/progs_images.sh"
	 "progs-rw:tests/interop/progs_rw.sh"
	 "tuned:tests/interop/tuned.sh"
	 "backref:tests/interop/backref.sh"
	 "send:tests/interop/send.sh"
	 "prealloc:tests/interop/prealloc.sh"
	 "receive:tests/interop/receive.sh"
	 "reports:tests/interop/reports.sh"
	 "du:tests/interop/du.sh"
	 "coreutils:tests/interop/coreutils.sh"
	 "property:tests/interop/property.sh"
	 "resize:tests/interop/resize.sh"
	 "qgroup:tests/interop/qgroup.sh"
	 "balance:tests/interop/balance.sh"
	 "balance-v1:tests/interop/balance_v1.sh"
	 "scrub:tests/interop/scrub.sh"
	 "dedupe:tests/interop/dedupe.sh"
	 "dedupe-send:tests/interop/dedupe_send.sh"
	 "defrag:tests/interop/defrag.sh"
	 "fuzz:env FUZZ_SEED=1 tests/host/fuzz.sh 60")

passed=0 failed=0 skipped=0

# suite_fail NAME WHY: the runner's own failure of a whole suite.
suite_fail() {
	echo "not ok $1 # suite $1: $2"
	failed=$((failed + 1))
}

# run_suite NAME CMD...: run one suite, count its results, check its
# exit status and its plan.
run_suite() {
	local name=$1 line results=0 nfail=0 plans=0 plan=none status=
	shift
	echo "# suite $name"
	while IFS= read -r line; do
		case $line in
		"not ok "*) failed=$((failed + 1)); nfail=$((nfail + 1))
			    results=$((results + 1)) ;;
		"ok "*"# SKIP"*) skipped=$((skipped + 1)); results=$((results + 1)) ;;
		"ok "*) passed=$((passed + 1)); results=$((results + 1)) ;;
		1..[0-9]*) plans=$((plans + 1)); plan=${line%% *} ;;
		"# run-all: exit status "*) status=${line##* }; continue ;;
		*" passed, "*" failed"*) line="# $name: $line" ;;
		esac
		echo "$line"
	done < <("$@" 2>&1; echo "# run-all: exit status $?")
	echo "# $name: exit status $status, $results results, plan $plan"
	if [ "$status" != 0 ] && { [ "$status" != 1 ] || [ $nfail -eq 0 ]; }; then
		suite_fail "$name" "exited with status $status"
	fi
	if [ $plans -eq 0 ]; then
		suite_fail "$name" "printed no plan (1..N) after $results results"
	elif [ $plans -gt 1 ]; then
		suite_fail "$name" "printed $plans plans"
	elif [ "${plan#1..}" != "$results" ]; then
		suite_fail "$name" "planned $plan, printed $results results"
	elif [ $results -eq 0 ]; then
		suite_fail "$name" "reported no tests"
	fi
}

for entry in "${suites[@]}"; do
	# shellcheck disable=SC2086 # a suite's arguments are words
	run_suite "${entry%%:*}" ${entry#*:}
done

echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
