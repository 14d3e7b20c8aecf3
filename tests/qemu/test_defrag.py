"""`filesystem defragment` in ghee over virtio-blk: a fragmented file (one
write, then every other 4 KiB block again) with read-only snapshots of
its subvolume, defragmented with -v; every snapshot's bytes unchanged
(sha256sum), bad options refused, -c reported as not supported yet; on
the host `btrfs check` and its qgroup report are clean."""
import os
import re
import shutil
import subprocess

from guest import ROOT, scratch_image

IMG = os.path.join(ROOT, "build/tests/defrag/defrag.img")
SNAPS = 20


def ok(out):
    assert "error" not in out.lower() and "errno" not in out, out
    return out


def sums(g):
    paths = " ".join(["/sv/f"] + ["/s%d/f" % i for i in range(SNAPS)])
    out = ok(g.cmd("sha256sum " + paths))
    return re.findall(r"^([0-9a-f]{64}) ", out, re.M)


def test_defragment_snapshots(ctx):
    img = scratch_image(IMG, 256 << 20)
    g = ctx.guest(disks=[img], timeout=300)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    for line in ("quota enable /", "subvolume create /sv",
                 "write /sv/f 0 1048576 1", "sync"):
        ok(g.cmd(line))
    for off in range(4096, 1048576, 8192):
        ok(g.cmd("write /sv/f %d 4096 2" % off))
    for i in range(SNAPS):
        ok(g.cmd("subvolume snapshot -r /sv /s%d" % i))
    before = sums(g)
    assert len(before) == SNAPS + 1 and len(set(before)) == 1, before
    out = g.cmd("filesystem defragment -c /sv/f")
    assert "not supported yet" in out, out
    out = g.cmd("filesystem defragment -q /sv/f")
    assert "usage" in out.lower(), out
    out = ok(g.cmd("filesystem defragment -v /sv/f"))
    m = re.search(r"defragmented (\d+) ranges, (\d+) bytes; repointed "
                  r"(\d+) extent items in (\d+) trees", out)
    assert m, out
    # 256 items, repointed in the file's own tree and again in the
    # blocks the snapshots share (the file's own leaves are its alone
    # once its items are merged)
    assert int(m.group(2)) == 1048576 and int(m.group(3)) == 512, out
    assert int(m.group(4)) == SNAPS + 1, out
    assert sums(g) == before
    out = ok(g.cmd("filesystem defragment -v /sv/f"))
    assert "defragmented 0 ranges" in out, out
    ok(g.cmd("sync"))
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    if not shutil.which("btrfs"):
        ctx.skip("btrfs-progs not installed: no btrfs check")
    r = subprocess.run(["btrfs", "check", img], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "no error found" in r.stdout + r.stderr, \
        r.stdout + r.stderr
    r = subprocess.run(["btrfs", "check", "--qgroup-report", img],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "are different" not in r.stdout + r.stderr, \
        r.stdout + r.stderr
