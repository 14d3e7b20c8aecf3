"""Subvolumes and snapshots in ghee over virtio-blk, with two CPUs and
4 KiB nodes (trees of several levels, so snapshots share nodes and
leaves): subvolume create, writable and read-only snapshots, changes on
both sides, a refused change in the read-only one, delete and the
cleaner task dropping the trees (subvolume sync), fsck in the guest; then
`btrfs check` on the host and the host tool reading the same bytes."""
import os
import re
import subprocess

from guest import ROOT, btrfs_check, scratch_image

IMG = os.path.join(ROOT, "build/tests/subvol/subvol.img")


def ok(out):
    assert "error" not in out.lower() and "errno" not in out, out
    return out


def test_snapshot_delete_smp2(ctx):
    img = scratch_image(IMG, 512 << 20)
    g = ctx.guest(disks=[img], smp=2, timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda --nodesize 4096")
    assert "mounted vda read-write" in g.cmd("mount vda")
    for line in ("subvolume create /sv", "mkfiles /sv/m 8 250 2000 3",
                 "write /sv/a 0 300000 1",
                 "subvolume snapshot /sv /snap",
                 "subvolume snapshot -r /sv /ro",
                 "write /sv/a 0 4096 2", "write /snap/a 8192 4096 3",
                 "rm -r /snap/m/d00001", "subvolume snapshot /snap /snap2"):
        ok(g.cmd(line))
    out = g.cmd("write /ro/a 0 10 4")
    assert "read-only filesystem (errno 30)" in out, out
    out = ok(g.cmd("subvolume list -r /"))
    assert re.search(r"^ID \d+ gen \d+ top level 5 path ro$", out, re.M), out
    ok(g.cmd("subvolume delete /snap"))
    ok(g.cmd("subvolume delete /sv"))
    ok(g.cmd("subvolume sync"))
    out = ok(g.cmd("subvolume list /"))
    assert "path sv" not in out and "path snap\n" not in out, out
    out = g.cmd("fsck")
    assert re.search(r"fsck: vda generation \d+: .*: no errors", out), out
    ctx.note(out.strip()[:160])
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    btrfs_check(ctx, img)
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), "ro:" + img],
                       input="mount vda ro\nsha256sum /ro/a /snap2/a\n"
                             "find -c /ro\nfind -c /snap2\n",
                       capture_output=True, text=True, timeout=120)
    sums = re.findall(r"^([0-9a-f]{64})  (\S+)$", r.stdout, re.M)
    assert len(sums) == 2 and sums[0][0] != sums[1][0], r.stdout
    counts = re.findall(r"^(\d+) entries$", r.stdout, re.M)
    assert counts and int(counts[0]) > int(counts[1]), r.stdout
