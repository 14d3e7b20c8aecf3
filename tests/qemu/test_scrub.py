"""Scrub in the kernel over virtio-blk: `scrub start` runs as a
background job (rate-limited here so it is still running), `scrub status`
shows it running, `scrub cancel` stops it ("aborted"), `scrub resume -B`
finishes it with no errors, and a second cancel finds nothing running."""
import os
import re

from guest import ROOT, scratch_image

IMG = os.path.join(ROOT, "build/tests/scrub/scrub.img")


def test_start_status_cancel_resume(ctx):
    img = scratch_image(IMG, 256 << 20)
    g = ctx.guest(disks=[img], timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    # a path that does not exist is refused, as btrfs-progs does
    out = g.cmd("scrub start /nonexist")
    assert "/nonexist: no such file or directory" in out, out
    assert "scrub started" not in out, out
    out = g.cmd("write /a 0 4M 1")
    assert "error" not in out.lower(), out
    g.cmd("sync")
    out = g.cmd("scrub start -l 100000 /")
    assert re.search(r"^scrub started on /, fsid [0-9a-f-]{36}$", out,
                     re.M), out
    # the job may not have run yet (one CPU): its status appears once it
    # has started, and at this rate it runs for about 40 s
    for _ in range(50):
        out = g.cmd("scrub status /")
        if "Status:" in out:
            break
        g.cmd("sleep 100")
    assert "Status:           running\n" in out, out
    assert re.search(r"^Bytes scrubbed: +\S+  \(\d+\.\d\d%\)$", out,
                     re.M), out
    out = g.cmd("scrub cancel /")
    assert "scrub cancelled\n" in out, out
    g.cmd("wait")
    out = g.cmd("scrub status /")
    assert "Status:           aborted\n" in out, out
    out = g.cmd("scrub resume -B /")
    assert "Status:           finished\n" in out, out
    assert "Error summary:    no errors found\n" in out, out
    ctx.note(out.strip().replace("\n", " | ")[:200])
    out = g.cmd("scrub cancel /")
    assert "scrub cancel failed on /: not running" in out, out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
