"""receive in ghee over virtio-blk: streams the host's btrfs send made
(tests/interop/make_streams.sh: a full one and an incremental one on top)
are read from raw disks with -e, as `btrfs receive -e -f /dev/vdb` reads
them on Linux; receive --dump reads one too; fsck in the guest; then
`btrfs check` on the host, and Linux mounts the image and finds the
received snapshots equal to its own (same_tree.py).
Needs root (loop mounts) and btrfs-progs."""
import os
import shutil
import subprocess

from guest import ROOT, scratch_image

W = os.path.join(ROOT, "build/tests/receive")


def raw(stream):
    """The stream as a disk image: padded with zeros to whole blocks."""
    path = stream[:-len(".stream")] + ".raw"
    shutil.copyfile(stream, path)
    with open(path, "r+b") as f:
        f.truncate((os.path.getsize(stream) + 4095) // 4096 * 4096)
    return path


def run(*args):
    return subprocess.run(list(args), capture_output=True, text=True)


def test_receive_raw_disks(ctx):
    if os.geteuid() != 0 or not shutil.which("btrfs"):
        ctx.skip("needs root and btrfs-progs to make the streams")
    src = os.path.join(W, "src")
    if os.path.ismount(src):
        run("umount", src)
    shutil.rmtree(W, ignore_errors=True)
    os.makedirs(W)
    try:
        r = run(os.path.join(ROOT, "tests/interop/make_streams.sh"), W)
        assert r.returncode == 0, r.stdout[-500:] + r.stderr[-500:]
        img = scratch_image(os.path.join(W, "got.img"), 512 << 20)
        s0, s1 = (raw(os.path.join(W, n + ".stream")) for n in ("s0", "s1"))
        g = ctx.guest(disks=[img, s0, s1], timeout=240)
        g.boot()
        assert "made btrfs on vda" in g.cmd("mkfs vda")
        assert "mounted vda read-write" in g.cmd("mount vda")
        for line in ("receive -e -f vdb /", "receive -e -f vdc /"):
            out = g.cmd(line)
            assert "ERROR" not in out and "errno" not in out, out
        out = g.cmd("receive --dump -f vdc")
        assert "snapshot        ./s1" in out and "ERROR" not in out, out
        out = g.cmd("umount /")
        assert "unmounted vda" in out, out
        out = g.cmd("fsck vda")
        assert "no errors" in out, out
        g.send("poweroff\n")
        assert g.wait_exit() == 0
        r = run("btrfs", "check", img)
        assert r.returncode == 0, r.stdout + r.stderr
        got = os.path.join(W, "got")
        os.makedirs(got)
        r = run("mount", "-o", "loop,ro,noatime", img, got)
        assert r.returncode == 0, r.stderr
        try:
            for s in ("s0", "s1"):
                r = run("python3", os.path.join(ROOT,
                                                "tests/interop/same_tree.py"),
                        os.path.join(src, "snaps", s), os.path.join(got, s))
                assert r.returncode == 0, r.stdout
                ctx.note(s + ": " + r.stdout.strip().splitlines()[-1])
        finally:
            run("umount", got)
    finally:
        if os.path.ismount(src):
            run("umount", src)
