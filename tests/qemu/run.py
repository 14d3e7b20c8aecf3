#!/usr/bin/env python3
"""Run the QEMU tests: every test_* function in tests/qemu/test_*.py.

Each test gets a context whose guest(...) boots ghee (see guest.py). The
output is KTAP ("ok N suite.name", "not ok N ... # why", "# SKIP why"),
ending with the plan "1..N" and "N passed, N failed[, N skipped]". A test
may report cases of its own with ctx.case(...) (the in-kernel self tests
do, one per KTAP line of the kernel): each is numbered, printed and
counted like a test, before the line of the test that reported it. A
failed test's serial log is kept in build/tests/qemu-logs/<suite>.<name>.log. Arguments select
tests by "suite" or "suite.name".
"""
import glob
import importlib.util
import os
import re
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from guest import ROOT, Guest, GuestError  # noqa: E402

LOG_DIR = os.path.join(ROOT, "build/tests/qemu-logs")
# A whole test (all its guests) gets this long; each guest has its own
# deadline too (guest.py). QEMU_TEST_TIMEOUT overrides it.
TEST_TIMEOUT = int(os.environ.get("QEMU_TEST_TIMEOUT", "300"))


class Skip(Exception):
    pass


class Context:
    def __init__(self):
        self.guests = []
        self.cases = []         # (name, ok, why) reported by the test
        self.notes = []         # "# " lines printed before its result
        self.lockdep_expected = False

    def expect_lockdep_reports(self):
        """The test provokes lock-order reports on purpose."""
        self.lockdep_expected = True

    def check_lockdep(self):
        """Fail a test whose kernel reported a lock-order problem."""
        if self.lockdep_expected:
            return
        for g in self.guests:
            m = re.search(r"^lockdep: .*$", g.transcript(), re.M)
            assert not m, "the kernel reported: " + m.group(0)

    def case(self, name, ok, why=""):
        """Report one more case, counted on its own (a sub-result); an ok
        case whose why starts with "SKIP" is counted as skipped."""
        self.cases.append((name, ok, why))

    def note(self, text):
        """Print a diagnostic line (a measurement) with the result."""
        self.notes.append(text)

    def guest(self, **kw):
        g = Guest(**kw)
        self.guests.append(g)
        return g

    def skip(self, reason):
        raise Skip(reason)

    def cleanup(self):
        for g in self.guests:
            g.kill()

    def transcript(self):
        return "\n".join("=== guest %d ===\n%s" % (i, g.transcript())
                         for i, g in enumerate(self.guests))


def collect(selectors):
    tests = []
    for path in sorted(glob.glob(os.path.join(ROOT, "tests/qemu/test_*.py"))):
        suite = os.path.basename(path)[5:-3]
        spec = importlib.util.spec_from_file_location("qemu_" + suite, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name, fn in vars(mod).items():
            if not name.startswith("test_") or not callable(fn):
                continue
            full = "%s.%s" % (suite, name[5:])
            if not selectors or suite in selectors or full in selectors:
                tests.append((full, fn))
    return tests


def on_alarm(signum, frame):
    raise GuestError("test timed out after %d s" % TEST_TIMEOUT)


def main():
    signal.signal(signal.SIGALRM, on_alarm)
    tests = collect(sys.argv[1:])
    accel = os.environ.get("ACCEL", "tcg")
    print("KTAP version 1")
    print("# QEMU tests run with accel=%s" % accel)
    passed = failed = skipped = 0
    i = 0
    os.makedirs(LOG_DIR, exist_ok=True)
    for name, fn in tests:
        ctx = Context()
        trace = ""
        signal.alarm(TEST_TIMEOUT)
        try:
            fn(ctx)
            ctx.check_lockdep()
            status, note = "ok", ""
            passed += 1
        except Skip as e:
            status, note = "ok", " # SKIP %s" % e
            skipped += 1
        except (AssertionError, GuestError) as e:
            trace = traceback.format_exc()
            why = str(e).splitlines()[0] if str(e) else "assertion failed"
            where = traceback.extract_tb(e.__traceback__)[-1]
            status, note = "not ok", " # %s:%d %s" % (
                os.path.basename(where.filename), where.lineno, why)
            failed += 1
        except Exception:
            trace = traceback.format_exc()
            status, note = "not ok", " # error: %s" % trace.splitlines()[-1]
            failed += 1
        signal.alarm(0)
        ctx.cleanup()
        for text in ctx.notes:
            print("# %s: %s" % (name, text))
        for sub, ok, why in ctx.cases:
            i += 1
            print("%s %d %s.%s%s" % ("ok" if ok else "not ok", i, name, sub,
                                     " # " + why if why else ""))
            skip = ok and why.startswith("SKIP")
            passed += ok and not skip
            skipped += skip
            failed += not ok
        i += 1
        result = "%s %d %s%s" % (status, i, name, note)
        if status == "not ok":
            log = os.path.join(LOG_DIR, name + ".log")
            with open(log, "w") as f:
                f.write(trace + "\n" + ctx.transcript())
            result += " (log: %s)" % os.path.relpath(log, ROOT)
        print(result, flush=True)
    print("1..%d" % i)
    tail = "%d passed, %d failed" % (passed, failed)
    if skipped:
        tail += ", %d skipped" % skipped
    print(tail)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
