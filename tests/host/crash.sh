#!/bin/sh
# make crash: every crash workload (host_tests suites crash, crash_inode,
# crash_subvol, crash_ops, crash_defrag) cut at every write, several
# seeds each where the workload is seeded, and a balance (balance_crash),
# a quota-accounted subvolume drop (qgroup_crash) and a shrink
# (resize_crash) cut at many sampled writes, every survivor through btrfs check (GHEE_CRASH_ALL=1).
# Two jobs, one per core; prints each case's line, the totals and the
# time. Exit status: nonzero when any case failed.
# Usage: tests/host/crash.sh [HOST_TESTS]
T=${1:-build/tests/host_tests}
L=build/crash
mkdir -p $L
start=$(date +%s)
GHEE_CRASH_ALL=1 $T crash crash_inode crash_ops crash_defrag >$L/job1.log 2>&1 &
job1=$!
GHEE_CRASH_ALL=1 $T crash_subvol balance_crash qgroup_crash resize_crash \
	>$L/job2.log 2>&1
r2=$?
wait $job1
r1=$?
grep -hE '^(ok|not ok|# crash |# finding|# the failing)' $L/job1.log \
	$L/job2.log
awk '/^# crash / {
	for (i = 2; i <= NF; i++) {
		if ($i == "cuts,") c += $(i - 1)
		if ($i == "btrfs") k += $(i - 1)
		if ($i == "findings") f += $(i - 1)
	}
}
END { printf "crash total: %d cuts, %d btrfs checks, %d findings\n",
	c, k, f }' $L/job1.log $L/job2.log
echo "crash time: $(($(date +%s) - start)) s (logs: $L/job1.log, $L/job2.log)"
[ $r1 -eq 0 ] && [ $r2 -eq 0 ]
