#!/usr/bin/env bash
# Run every test suite and print one closing line for all of them:
# "N passed, N failed[, N skipped]". Each suite prints KTAP lines; its own
# summary line is kept as a comment. A suite that crashes without reporting
# counts as one failure.
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
	 "write:tests/interop/write.sh"
	 "fuzz:tests/host/fuzz.sh 30")

passed=0 failed=0 skipped=0
for entry in "${suites[@]}"; do
	name=${entry%%:*}
	cmd=${entry#*:}
	echo "# suite $name"
	seen=0
	while IFS= read -r line; do
		case $line in
		"not ok "*) failed=$((failed + 1)); seen=1 ;;
		"ok "*"# SKIP"*) skipped=$((skipped + 1)); seen=1 ;;
		"ok "*) passed=$((passed + 1)); seen=1 ;;
		*" passed, "*" failed"*) line="# $name: $line" ;;
		esac
		echo "$line"
	done < <($cmd 2>&1; echo "# exit status $?")
	if [ $seen = 0 ]; then
		echo "not ok $name # the suite reported no tests"
		failed=$((failed + 1))
	fi
done

summary="$passed passed, $failed failed"
[ $skipped -gt 0 ] && summary+=", $skipped skipped"
echo "$summary"
[ $failed -eq 0 ]
