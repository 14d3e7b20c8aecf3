"""The shell in QEMU: btrfs-progs command groups, background jobs with
wait and kill, and a terminal session (progress bar redrawn in place,
Ctrl-C cancelling the foreground command)."""
import re
import time


def test_groups_prefixes_and_help(ctx):
    g = ctx.guest()
    g.boot()
    out = g.cmd("btrfs sub snap -r /a /b")
    assert out == "subvolume snapshot: not implemented yet\n", out
    out = g.cmd("btrfs fi df /")
    assert out.startswith("filesystem df: no filesystem mounted") or \
        "no filesystem mounted" in out, out
    out = g.cmd("help inspect")
    assert "inspect-internal dump-tree -t TREE" in out, out
    out = g.cmd("btrfs s list")
    assert "ambiguous command 's'" in out, out


def test_background_jobs_wait_and_kill(ctx):
    g = ctx.guest()
    g.boot()
    out = g.cmd("sleep 100000 &")
    m = re.match(r"\[(\d+)\] sleep 100000\n", out)
    assert m, out
    long_id = m.group(1)
    out = g.cmd("sleep 300 &")
    m = re.match(r"\[(\d+)\] sleep 300\n", out)
    assert m, out
    short_id = m.group(1)
    out = g.cmd("jobs")
    assert re.search(r"^\[%s\] Running  sleep 100000  sleeping: \d+/100000 "
                     r"ms \(\d+%%\)" % long_id, out, re.M), out
    out = g.cmd("wait %s" % short_id)
    assert "[%s] Done  sleep 300" % short_id in out, out
    # the job may say it was cancelled before or after the next prompt
    g.send("kill %s\nwait %s\n" % (long_id, long_id))
    out = g.expect("[%s] Cancelled  sleep 100000" % long_id)
    g.expect("ghee> ")
    assert re.search(r"sleep: cancelled after about \d+ of 100000 ms", out), out
    out = g.cmd("wait %s" % long_id)
    assert "no background job %s" % long_id in out, out
    assert g.cmd("jobs") == ""


def test_terminal_progress_bar_and_ctrl_c(ctx):
    g = ctx.guest(append="tty=1")
    g.boot()
    g.send("sleep 100000\n")
    # the bar appears after a second and is redrawn in place
    first = g.expect(" ms/s, ")
    g.expect("\r[")
    g.expect(" ms/s, ")
    assert "\r[" in first and "] sleeping: " in first, first
    g.send("\x03")
    out = g.expect("ghee> ")
    assert re.search(r"sleep: cancelled after about \d+ of 100000 ms", out), \
        out
    assert g.cmd("echo after") == "after\n"


def test_plain_progress_lines_in_a_script(ctx):
    g = ctx.guest()
    g.boot()
    t0 = time.monotonic()
    out = g.cmd("sleep 6500")
    assert time.monotonic() - t0 >= 6, "sleep ended early"
    lines = re.findall(r"^progress: sleeping: \d+/6500 ms.*$", out, re.M)
    assert len(lines) == 1, out
    assert "\r[" not in out and "\x1b[K" not in out, repr(out)
