"""Quota group limits in ghee over virtio-blk: with a 1 MiB limit on a
subvolume, a 2 MiB write stops where Linux's does (the limit less the
subvolume's leaf less one block) with "disk quota exceeded", a copy into
it fails the same way (its new name needs room for 5 nodes, as on
Linux, so it is not made), deleting at the limit works and lifts it, and
`qgroup limit none` removes it; `quota status` says quotas are off, then
on with two level-0 groups; then `btrfs check --qgroup-report` on the
host finds the counts exact."""
import os
import re

from guest import ROOT, btrfs_check, scratch_image

IMG = os.path.join(ROOT, "build/tests/qgroup/qgroup.img")


def ok(out):
    assert "error" not in out.lower() and "errno" not in out, out
    return out


def size(g, path):
    out = ok(g.cmd("stat " + path))
    m = re.search(r"Size: (\d+)", out)
    assert m, out
    return int(m.group(1))


def test_limits(ctx):
    img = scratch_image(IMG, 512 << 20)
    g = ctx.guest(disks=[img], timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    out = g.cmd("quota status /")
    assert re.search(r"Quotas on /:\r?\n  Enabled: no", out), out
    for line in ("quota enable /", "subvolume create /a",
                 "qgroup limit 1M /a", "write /big 0 2097152 5", "sync"):
        ok(g.cmd(line))
    out = ok(g.cmd("quota status /"))
    assert re.search(r"Enabled: +yes\r?\n  Mode: +qgroup \(full accounting\)"
                     r"\r?\n  Inconsistent: +no\r?\n.*Total count: +2\r?\n"
                     r"  Level 0: +2", out, re.S), out
    out = g.cmd("write /a/f 0 2097152 1")
    assert "write: /a/f: disk quota exceeded" in out, out
    assert size(g, "/a/f") == 1015808
    # A new name needs room for 5 nodes, as on Linux: /a/c is not made.
    out = g.cmd("cp /big /a/c")
    assert "disk quota exceeded" in out, out
    out = g.cmd("stat /a/c")
    assert "no such file" in out, out
    out = g.cmd("write /a/g 0 4096 2")
    assert "disk quota exceeded" in out, out
    for line in ("rm /a/f", "write /a/g 0 4096 2", "sync"):
        ok(g.cmd(line))
    out = ok(g.cmd("qgroup show -re --raw /"))
    assert re.search(r"^0/256 +\d+ +\d+ +1048576 +none", out, re.M), out
    ok(g.cmd("qgroup limit none /a"))
    ok(g.cmd("write /a/g 0 2097152 3"))
    assert size(g, "/a/g") == 2097152
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    report = btrfs_check(ctx, img, qgroups=True)
    assert "Counts for qgroup id" in report, report
