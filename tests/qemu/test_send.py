"""Send in ghee over virtio-blk with two CPUs: a read-only snapshot sent
whole to a raw disk (vdb, written from byte 0; the stream, with a 9 MB
file, is longer than the writer's ring of buffers) and incrementally to a
file, a writable subvolume and the console refused; then on the host
`btrfs receive --dump` parses the raw disk's stream, and (as root) `btrfs
receive -e` applies it on a loop mount and the file read back equals
what the host tool reads in ghee's image."""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

from guest import ROOT, btrfs_check, scratch_image

IMG = os.path.join(ROOT, "build/tests/send/send.img")
RAW = os.path.join(ROOT, "build/tests/send/stream.raw")
RECV = os.path.join(ROOT, "build/tests/send/recv.img")


def ok(out):
    assert "error" not in out.lower() and "errno" not in out, out
    return out


def test_send_raw_disk_smp2(ctx):
    img = scratch_image(IMG, 256 << 20)
    raw = scratch_image(RAW, 64 << 20)
    g = ctx.guest(disks=[img, raw], smp=2, timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    for line in ("subvolume create /s", "mkfiles /s/m 4 50 2000 3",
                 "write /s/a 0 300000 1", "ln /s/a /s/hard",
                 "write /s/big 0 9000000 5",
                 "subvolume snapshot -r /s /snap", "mv /s/a /s/m/a",
                 "write /s/m/a 100000 10 2",
                 "subvolume snapshot -r /s /snap2"):
        ok(g.cmd(line))
    out = g.cmd("send -f vdb /snap")
    assert "At subvol /snap" in out and "ERROR" not in out, out
    out = g.cmd("send -p /snap -f /s/inc.stream /snap2")
    assert "At subvol /snap2" in out and "ERROR" not in out, out
    out = g.cmd("stat /s/inc.stream")
    assert re.search(r"Size: [1-9]", out), out
    out = g.cmd("send -f /s/x /s")
    assert "ERROR: subvolume /s is not read-only" in out, out
    out = g.cmd("send /snap")
    assert "not dumping send stream into a terminal" in out, out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    if not shutil.which("btrfs"):
        ctx.skip("btrfs-progs not installed: no btrfs receive")
    r = subprocess.run(["btrfs", "receive", "--dump", "-e", "-f", raw],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^subvol +\./snap ", r.stdout, re.M), r.stdout[:400]
    assert re.search(r"^link +\./snap/", r.stdout, re.M), r.stdout[:400]
    if os.geteuid() != 0:
        ctx.skip("not root: no loop mount to receive into")
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), "ro:" + img],
                       input="mount vda ro\nsha256sum /snap/a /snap/big\n",
                       capture_output=True, text=True, timeout=120)
    want = re.findall(r"^([0-9a-f]{64})  /snap/(a|big)$", r.stdout, re.M)
    assert len(want) == 2, r.stdout
    scratch_image(RECV, 256 << 20)
    subprocess.run(["mkfs.btrfs", "-q", "-f", RECV], check=True,
                   capture_output=True)
    mnt = tempfile.mkdtemp(dir=os.path.dirname(RECV))
    subprocess.run(["mount", "-o", "loop", RECV, mnt], check=True)
    try:
        r = subprocess.run(["btrfs", "receive", "-e", "-f", raw, mnt],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        for sha, name in want:
            with open(os.path.join(mnt, "snap", name), "rb") as f:
                got = hashlib.sha256(f.read()).hexdigest()
            assert got == sha, (name, got, sha)
        assert os.stat(os.path.join(mnt, "snap/hard")).st_nlink == 2
    finally:
        subprocess.run(["umount", mnt], check=True)
        os.rmdir(mnt)


COMP = os.path.join(ROOT, "build/tests/send/compressed.img")


def test_send_compressed_data_pipe_smp2(ctx):
    """send --compressed-data piped into receive on the same filesystem
    in ghee: the received file reads the same, and its extents are stored
    compressed as they were sent (the dump of every tree holds the zstd
    extents three times: the top level, its snapshot, the received
    copy); `btrfs check --check-data-csum` passes."""
    if not shutil.which("btrfs"):
        ctx.skip("btrfs-progs not installed: no btrfs check")
    img = scratch_image(COMP, 256 << 20)
    src = os.path.join(os.path.dirname(COMP), "text")
    words = [b"alpha", b"beta", b"extent", b"btrfs", b"ghee", b"\n"]
    with open(src, "wb") as f:
        f.write(b" ".join(words[(i * 7 + i // 5) % 6]
                          for i in range(150000))[:600000])
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), img],
                       input="mkfs vda\nmount vda -o compress=zstd\n"
                       "import %s /t\nsubvolume snapshot -r / /snap\n"
                       "umount\n" % src, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "errno" not in r.stdout, r.stdout[-2000:]
    g = ctx.guest(disks=[img], smp=2, timeout=240)
    g.boot()
    assert "mounted vda read-write" in g.cmd("mount vda")
    ok(g.cmd("mkdir /r"))
    out = g.cmd("send -q --compressed-data /snap | receive /r")
    assert "ERROR" not in out, out
    out = g.cmd("sha256sum /snap/t /r/snap/t")
    sums = re.findall(r"^([0-9a-f]{64}) ", out, re.M)
    assert len(sums) == 2 and sums[0] == sums[1], out
    out = g.cmd("send --proto 1 --compressed-data -f /x /snap")
    assert "requires protocol version >= 2" in out, out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    btrfs_check(ctx, img, "--check-data-csum")
    top = subprocess.run(["btrfs", "inspect-internal", "dump-tree", "-t",
                          "5", img], capture_output=True, text=True).stdout
    every = subprocess.run(["btrfs", "inspect-internal", "dump-tree", img],
                           capture_output=True, text=True).stdout
    n = len(re.findall(r"compression 3", top))
    assert n > 0 and len(re.findall(r"compression 3", every)) == 3 * n, n
