"""Balance as a task in ghee over virtio-blk with two CPUs: progs'
messages when none runs, `balance start --bg` returning at once, pause
keeping it (status and status -v as progs prints them for a paused
balance), resume finishing it, a second one cancelled, a balance left
paused at poweroff resumed by the next boot's mount, all with quotas
on; then fsck in the guest and `btrfs check --qgroup-report` on the
host (the counts exact)."""
import os
import re

from guest import BALANCE_LOG, PROMPT, ROOT, btrfs_check, scratch_image

IMG = os.path.join(ROOT, "build/tests/balance/balance.img")


def cmd(g, line):
    """The command's output without its echo and without the log lines
    a background balance prints meanwhile."""
    g.send(line + "\n")
    out = BALANCE_LOG.sub("", g.expect(PROMPT).replace("\r\n", "\n"))
    keep = [x for x in out.split("\n")[:-1] if x != line]
    return "".join(x + "\n" for x in keep)


def test_bg_status_pause_resume_cancel(ctx):
    img = scratch_image(IMG, 256 << 20)
    g = ctx.guest(disks=[img], smp=2, timeout=300)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda --nodesize 4096")
    assert "mounted vda read-write" in g.cmd("mount vda")
    assert cmd(g, "btrfs quota enable /") == ""
    for i in range(6):
        g.cmd("write /f%d 0 8000000 %d" % (i, i + 1))
    g.cmd("sync")
    assert cmd(g, "btrfs balance status /") == "No balance found on '/'\n"
    out = cmd(g, "btrfs balance pause /")
    assert out == "ERROR: balance pause on '/' failed: Not running\n", out
    out = cmd(g, "btrfs balance resume /")
    assert out == "ERROR: balance resume on '/' failed: Not in progress\n", \
        out
    out = cmd(g, "btrfs balance cancel /")
    assert out == "ERROR: balance cancel on '/' failed: Not in progress\n", \
        out
    assert cmd(g, "btrfs balance start --bg --full-balance /") == ""
    assert cmd(g, "btrfs balance pause /") == ""
    out = cmd(g, "btrfs balance status -v /")
    assert re.match(r"Balance on '/' is paused\n"
                    r"\d+ out of about \d+ chunks balanced "
                    r"\(\d+ considered\), +\d+% left\n"
                    r"Dumping filters: flags 0x7, state 0x0, force is off\n"
                    r"  DATA \(flags 0x0\): balancing\n"
                    r"  METADATA \(flags 0x0\): balancing\n"
                    r"  SYSTEM \(flags 0x0\): balancing\n$", out), out
    out = cmd(g, "btrfs balance start -dusage=50 /")
    assert out == "ERROR: error during balancing '/': Operation now in " \
        "progress\n", out
    out = cmd(g, "btrfs balance resume /")
    assert re.match(r"Done, had to relocate [1-9]\d* out of \d+ chunks\n$",
                    out), out
    assert cmd(g, "btrfs balance status /") == "No balance found on '/'\n"
    assert cmd(g, "btrfs balance start --bg -dusage=100 /") == ""
    assert cmd(g, "btrfs balance cancel /") == ""
    assert cmd(g, "btrfs balance status /") == "No balance found on '/'\n"
    # Left paused at poweroff: the next boot's mount resumes it.
    assert cmd(g, "btrfs balance start --bg --full-balance /") == ""
    assert cmd(g, "btrfs balance pause /") == ""
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    g = ctx.guest(disks=[img], smp=2, timeout=300)
    g.boot()
    out = g.cmd("mount vda / -o skip_balance")
    assert "mounted vda read-write" in out, out
    out = cmd(g, "btrfs balance status /")
    assert out.startswith("Balance on '/' is paused\n"), out
    g.cmd("umount /")
    assert "mounted vda read-write" in g.cmd("mount vda")
    g.cmd("wait")
    for _ in range(600):
        out = cmd(g, "btrfs balance status /")
        if out.startswith("No balance"):
            break
    assert out == "No balance found on '/'\n", out
    out = g.cmd("fsck")
    assert re.search(r"fsck: vda generation \d+: .*: no errors", out), out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    report = btrfs_check(ctx, img, qgroups=True)
    assert "Counts for qgroup id" in report, report
