"""The concurrent filesystem workload (`fsstress`, shell/fs_stress.c) in
ghee on several CPUs: writers, namers and readers at once with a sync
task (commits, snapshots) and a sharer (dedupe scans, defrags), each
checking what it sees; at the end the workload verifies every file and
name and runs ghee's fsck. Then sync, umount and poweroff, and on the host
`btrfs check` must find the image clean (quota counts included) and the
host tool's fsck agree. Two CPUs with 6 tasks, and four CPUs with 8 tasks
and quotas on, on 4 KiB nodes (deep trees). FSSTRESS_SEED=N reruns with
another seed."""
import os
import re
import subprocess

from guest import ROOT, btrfs_check, scratch_image

IMG_DIR = os.path.join(ROOT, "build/tests/fs_stress")
SEED = int(os.environ.get("FSSTRESS_SEED", "1"))


def failures(out):
    """The lines of a failed run worth showing first."""
    lines = [l for l in out.splitlines() if "FAILED" in l or "errno" in l]
    return "\n".join(lines[:5]) or out[-800:]


def host_check(ctx, img):
    """btrfs check and the host tool's fsck of img."""
    btrfs_check(ctx, img)
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), img],
                       input="fsck vda\n", capture_output=True, text=True,
                       timeout=120)
    assert re.search(r"fsck: vda generation \d+: .*: no errors", r.stdout), \
        r.stdout[-2000:]


def stress(ctx, smp, tasks, ops, quota=False):
    img = scratch_image(os.path.join(IMG_DIR, "smp%d.img" % smp), 256 << 20)
    g = ctx.guest(disks=[img], smp=smp, timeout=600)
    g.boot()
    assert g.online_cpus() == smp, g.cmd("cpus")
    assert "made btrfs on vda" in g.cmd("mkfs vda --nodesize 4096")
    assert "mounted vda read-write" in g.cmd("mount vda")
    if quota:
        out = g.cmd("quota enable /")
        assert "errno" not in out and "usage" not in out, out
    out = g.cmd("fsstress -t %d -n %d -s %d" % (tasks, ops, SEED))
    assert "fsstress: passed" in out and "FAILED" not in out, failures(out)
    assert re.search(r"fsck generation \d+: .*, 0 errors", out), out[-800:]
    times = re.search(r"workload [\d.]+ s", out).group(0)
    shared = re.search(r"dedupe-scan \d+, deduped-bytes \d+, defrag \d+",
                       out).group(0)
    ctx.note("%d tasks, %d ops, seed %d, quotas %s, %s, %s"
             % (tasks, ops, SEED, "on" if quota else "off", shared, times))
    out = g.cmd("sync")
    assert "errno" not in out, out
    assert "unmounted vda" in g.cmd("umount")
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    host_check(ctx, img)


def test_smp2(ctx):
    stress(ctx, 2, 6, 400)


def test_smp4(ctx):
    stress(ctx, 4, 8, 100, quota=True)
