"""Dedupe in ghee over virtio-blk with two CPUs: one range into a
read-only snapshot, a mismatch refused, then `dedupe scan` as a
background job beside a send of that snapshot to a raw disk (vdb); on the
host `btrfs check` passes on the image and `btrfs receive --dump` parses
the stream whole."""
import os
import re
import subprocess

from guest import ROOT, btrfs_check, scratch_image

IMG = os.path.join(ROOT, "build/tests/dedupe/dedupe.img")
RAW = os.path.join(ROOT, "build/tests/dedupe/stream.raw")


def ok(out):
    assert "error" not in out.lower() and "errno" not in out, out
    return out


def test_dedupe_beside_send_smp2(ctx):
    img = scratch_image(IMG, 256 << 20)
    raw = scratch_image(RAW, 64 << 20)
    g = ctx.guest(disks=[img, raw], smp=2, timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    for line in ("subvolume create /s", "write /s/a 0 1000000 1",
                 "write /s/b 0 1000000 1", "write /s/c 0 1000000 2",
                 "write /t 0 1000000 1",
                 "subvolume snapshot -r /s /snap"):
        ok(g.cmd(line))
    out = g.cmd("dedupe /t 0 1000000 /snap/a 0 /snap/c 0")
    assert "deduped 1000000/1000000 bytes at offset 0" in out, out
    assert "dedupe: /snap/c: Extents did not match." in out, out
    ok(g.cmd("dedupe scan -r --min 4K / &"))
    out = g.cmd("send -f vdb /snap")
    assert "At subvol /snap" in out and "ERROR" not in out, out
    out = g.cmd("wait")
    m = re.search(r"deduped (\d+) ranges, (\d+) bytes", g.transcript())
    assert m and int(m.group(2)) > 0, g.transcript()[-2000:]
    ok(g.cmd("sync"))
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    btrfs_check(ctx, img)
    r = subprocess.run(["btrfs", "receive", "--dump", "-e", "-f", raw],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^subvol +\./snap ", r.stdout, re.M), r.stdout[:400]
