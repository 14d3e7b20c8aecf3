"""The sampling profiler in QEMU (`profile`, kernel/profile.c): profiling a
known busy command (sha256sum of a file) names the hash's block function
as the busiest, its function rows add up to every sample (100%), a call
chain leads back through sha256sum's command, and the idle CPU shows as
the idle loop; `profile -s` at a raised rate sees a busy background task;
a command that sleeps shows where and how long among the waits; a second
profile while one runs is refused; bad arguments print the usage and
start nothing."""
import os
import re

from guest import ROOT, scratch_image

IMG_DIR = os.path.join(ROOT, "build/tests/profile")
HEADER = re.compile(r"^profile: (\d+) samples, (\d+) CPUs? at (\d+) Hz "
                    r"for \d+\.\d{3} s, (\d+) lost$", re.M)
ROW = re.compile(r"^\s*(\d+)\s+(\d+)\.(\d\d)  (\S.*)$")
WAITS = re.compile(r"^top waits \(tasks asleep, innermost first\), "
                   r"(\d+) lost:\n   slept ms     sleeps  chain$", re.M)
INCLUSIVE = re.compile(r"^top functions with their callees \(inclusive, "
                       r"\d+ frames deep\):\n   samples       %  function$",
                       re.M)
CHAINS = re.compile(r"^top call chains \(innermost first\):\n"
                    r"   samples       %  chain$", re.M)
WAIT_ROW = re.compile(r"^\s*(\d+)\.(\d{3})\s+(\d+)  (\S.*)$")


def parse_waits(out):
    """The waits section of a report in out: [[ms slept, sleeps, name,
    caller, ...]]."""
    m = WAITS.search(out)
    assert m, out
    waits = []
    for line in out[m.end():].split("\n")[1:]:
        r = WAIT_ROW.match(line)
        if r:
            waits.append([int(r.group(1)) + int(r.group(2)) / 1000,
                          int(r.group(3)), r.group(4)])
        elif line.strip().startswith("<- "):
            waits[-1].append(line.strip()[3:])
        else:
            break
    return waits


def rows(lines):
    """The function rows at the start of lines: [(samples, basis
    points, name)], up to the first blank line."""
    out = []
    for line in lines:
        if not line:
            break
        r = ROW.match(line)
        assert r, line
        out.append((int(r.group(1)), int(r.group(2)) * 100 +
                    int(r.group(3)), r.group(4)))
    return out


def parse_inclusive(out):
    """The inclusive rows of the report in out: [(samples, basis points,
    name)]."""
    m = INCLUSIVE.search(out)
    assert m, out
    return rows(out[m.end():].split("\n")[1:])


def parse(out):
    """The report in out: (header numbers, function rows [(samples,
    basis points, name)], chains [[samples, name, caller, ...]])."""
    m = HEADER.search(out)
    assert m, out
    head = [int(x) for x in m.groups()]
    w = WAITS.search(out, m.end())
    lines = out[m.end():w.start() if w else len(out)].split("\n")
    assert lines[1].split() == ["samples", "%", "function"], out
    funcs = rows(lines[2:])
    c = CHAINS.search(out, m.end())
    assert c, out
    chains = []
    for line in out[c.end():w.start() if w else len(out)].split("\n"):
        r = ROW.match(line)
        if r:
            chains.append([int(r.group(1)), r.group(4)])
        elif line.strip().startswith("<- "):
            chains[-1].append(line.strip()[3:])
    return head, funcs, chains


def check_sums(head, funcs):
    """Every sample is in one row and the shares make 100% (each share
    is rounded down to 0.01%)."""
    samples = head[0]
    assert samples > 0
    assert sum(f[0] for f in funcs) == samples, (head, funcs)
    bp = sum(f[1] for f in funcs)
    assert 10000 - len(funcs) <= bp <= 10000, (bp, funcs)


def test_busy_command(ctx):
    img = scratch_image(os.path.join(IMG_DIR, "a.img"), 256 << 20)
    g = ctx.guest(disks=[img], smp=2, timeout=240)
    g.boot()
    for line in ("mkfs vda", "mount vda", "write /f 0 16777216 7"):
        out = g.cmd(line)
        assert "error" not in out.lower(), (line, out)
    out = g.cmd("profile sha256sum /f")
    assert re.search(r"^[0-9a-f]{64}  /f$", out, re.M), out
    head, funcs, chains = parse(out)
    check_sums(head, funcs)
    assert head[1] == 2 and head[2] == 1000 and head[3] == 0, head
    names = [f[2] for f in funcs]
    busy = [n for n in names if n != "sched_idle"]
    assert busy[0] == "SHA256Transform", funcs
    # the second CPU had nothing to do
    assert "sched_idle" in names, funcs
    assert any(c[1] == "SHA256Transform" and "cmd_sha256sum" in c[2:]
               for c in chains), chains
    # inclusive: the command holds at least its hash's own samples, the
    # busiest first, none above the whole
    incl = parse_inclusive(out)
    by_name = {f[2]: f[0] for f in incl}
    assert by_name.get("cmd_sha256sum", 0) >= funcs[names.index(
        "SHA256Transform")][0], (incl, funcs)
    assert incl == sorted(incl, key=lambda f: -f[0]), incl
    assert all(f[0] <= head[0] for f in incl), incl
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_background_task_at_raised_rate(ctx):
    g = ctx.guest()
    g.boot()
    assert g.cmd("spin 3").startswith("spin: task")
    out = g.cmd("profile -f 5000 -s 1")
    head, funcs, chains = parse(out)
    check_sums(head, funcs)
    assert head[1] == 1 and head[2] == 5000, head
    # the spinner's loop and what it calls, seen from its task's entry
    assert "spin_fn" in [f[2] for f in funcs[:3]], funcs
    assert all(c[-1] == "task_entry" for c in chains
               if c[1] != "sched_idle"), chains
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_sleep_is_a_wait(ctx):
    g = ctx.guest()
    g.boot()
    out = g.cmd("profile sleep 300")
    head, funcs, chains = parse(out)
    check_sums(head, funcs)
    # the CPU was idle (but for a tick or two of the shell's own); the
    # wait says what the command waited for
    assert funcs[0][2] == "sched_idle" and funcs[0][1] >= 9000, funcs
    waits = parse_waits(out)
    slept = [w for w in waits if w[2:4] == ["task_sleep_ns", "cmd_sleep"]]
    assert len(slept) == 1, waits
    assert 300 <= slept[0][0] < 2000, slept
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_one_profile_at_a_time(ctx):
    g = ctx.guest()
    g.boot()
    assert re.match(r"\[\d+\] profile -s 3", g.cmd("profile -s 3 &"))
    # the shell's sleep lets the job run and claim the profiler (on one
    # CPU the next command could otherwise run before the job started)
    g.cmd("sleep 1000")
    out = g.cmd("profile echo hi")
    assert "profile: another profile is running\n" in out, out
    assert "hi\n" not in out, out
    g.cmd("wait")
    # the first one reported; then the next may start
    parse(g.transcript())
    assert g.cmd("profile echo hi").startswith("hi\nprofile: ")
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_bad_arguments(ctx):
    g = ctx.guest()
    g.boot()
    usage = "usage: profile [-f HZ] CMD [ARG...] | [-f HZ] -s SECONDS\n"
    for line, why in (
            ("profile", "wrong number of arguments"),
            ("profile -s 0", "give a command to run, or -s SECONDS"),
            ("profile -s 1 echo a", "give a command to run, or -s SECONDS"),
            ("profile -s", "-s: want -s SECONDS or -f HZ"),
            ("profile -q echo a", "-q: want -s SECONDS or -f HZ"),
            ("profile -s x", "SECONDS"),
            ("profile -f 1500 echo a", "HZ must be a multiple of 1000 up "
             "to 10000"),
            ("profile -f 20000 -s 1", "HZ must be a multiple of 1000 up "
             "to 10000")):
        out = g.cmd(line)
        assert why in out and out.endswith(usage), (line, out)
        assert "samples" not in out and "\na\n" not in out, (line, out)
    # nothing was left running: a good profile starts
    out = g.cmd("profile echo ok")
    assert out.startswith("ok\nprofile: "), out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
