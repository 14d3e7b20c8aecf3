"""Kernel core: the in-kernel self tests, the scheduler seen from the
shell (a busy background task does not starve the shell; ps, kill,
sleep)."""
import re
import time


def booted(ctx, **kw):
    g = ctx.guest(**kw)
    g.boot()
    return g


def test_selftests_pass(ctx):
    g = booted(ctx, timeout=120)
    out = g.cmd("test")
    m = re.search(r"^1\.\.(\d+)$", out, re.M)
    assert m, out
    total = int(m.group(1))
    oks = re.findall(r"^ok \d+ (\S+)$", out, re.M)
    bad = re.findall(r"^not ok \d+ .*$", out, re.M)
    assert not bad, "\n".join(bad)
    assert len(oks) == total, out
    assert re.search(r"^%d passed, 0 failed$" % total, out, re.M), out
    for suite in ("rwsem", "lock", "wakeup", "alloc", "sched", "timer"):
        assert any(name.startswith(suite + ".") for name in oks), suite
    out = g.cmd("test rwsem")
    assert re.search(r"^\d+ passed, 0 failed$", out, re.M), out
    out = g.cmd("test nosuch")
    assert "no suite 'nosuch'" in out, out


def ps_rows(out):
    rows = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0].isdigit():
            rows[int(f[0])] = f
    return rows


def test_spinner_does_not_starve_shell(ctx):
    g = booted(ctx)
    out = g.cmd("spin 30")
    m = re.match(r"spin: task (\d+)", out)
    assert m, out
    tid = int(m.group(1))
    time.sleep(0.5)             # let it burn CPU
    worst = 0
    for i in range(5):
        t0 = time.monotonic()
        assert g.cmd("echo ping %d" % i) == "ping %d\n" % i
        worst = max(worst, time.monotonic() - t0)
    assert worst < 1.0, "echo took %.2f s with a spinner" % worst
    rows = ps_rows(g.cmd("ps"))
    assert rows[tid][1] == "spin" and rows[tid][2] in "rR", rows
    assert rows[tid][3] == "backgr", rows
    assert rows[1][1] == "shell" and rows[1][2] == "R", rows
    assert g.cmd("kill %d" % tid) == ""
    deadline = time.monotonic() + 5
    while tid in ps_rows(g.cmd("ps")):
        assert time.monotonic() < deadline, "spinner still listed"
        time.sleep(0.1)
    out = g.cmd("kill %d" % tid)
    assert "no task %d" % tid in out, out


def test_ps_lists_idle_and_shell(ctx):
    g = booted(ctx)
    rows = ps_rows(g.cmd("ps"))
    assert rows[0][1] == "idle" and rows[0][3] == "idle", rows
    assert rows[1][1] == "shell" and rows[1][3] == "inter", rows


def uptime_ms(out):
    m = re.search(r"up (\d+)\.(\d{3}) s", out)
    assert m, out
    return int(m.group(1)) * 1000 + int(m.group(2))


def test_sleep_takes_its_time(ctx):
    g = booted(ctx)
    g.send("uptime\nsleep 200\nuptime\n")
    first = uptime_ms(g.expect("ghee> "))
    g.expect("ghee> ")          # after the sleep
    second = uptime_ms(g.expect("ghee> "))
    assert 200 <= second - first < 400, (first, second)
    out = g.cmd("sleep x")
    assert "malformed number" in out and "usage: sleep" in out, out
