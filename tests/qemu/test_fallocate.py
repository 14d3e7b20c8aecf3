"""The shell's fallocate in the guest: each mode on a seeded file, the
figures Linux 6.18's btrfs gives for the same commands (size, allocated
bytes), util-linux's messages for what btrfs refuses; fsck there, then on
the host btrfs check and the host tool read the same bytes back."""
import hashlib
import os
import re
import subprocess
import sys

from guest import ROOT, btrfs_check, scratch_image

sys.path.insert(0, os.path.join(ROOT, "tests/interop"))
from model import pattern  # noqa: E402


def stat_of(g, path):
    """(size, nbytes) of path as the guest's stat shows them."""
    out = g.cmd("stat " + path)
    m = re.search(r"Size: (\d+)\s+Bytes: (\d+)\s", out)
    assert m, out
    return int(m.group(1)), int(m.group(2))


def test_fallocate_modes(ctx):
    img = scratch_image(os.path.join(ROOT, "build/tests/fallocate.img"),
                        256 << 20)
    g = ctx.guest(disks=[img], timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    data = bytearray(pattern(7, 0, 262144))
    g.cmd("write /b 0 262144 7")
    # (command, size and allocated bytes after it, on Linux)
    for line, path, want in (
            ("fallocate -l 1M /a", "/a", (1 << 20, 1 << 20)),
            ("fallocate -n -o 1M -l 1M /a", "/a", (1 << 20, 2 << 20)),
            ("fallocate -p -o 4096 -l 8192 /b", "/b", (262144, 253952)),
            ("fallocate -z -o 100 -l 10000 /b", "/b", (262144, 262144)),
            ("fallocate -z -o 250K -l 16K /b", "/b", (272384, 274432))):
        out = g.cmd(line)
        assert "fallocate" not in out.replace(line, ""), out
        assert stat_of(g, path) == want, (line, g.cmd("stat " + path))
    data[4096:12288] = bytes(8192)
    data[100:10100] = bytes(10000)
    data[256000:] = bytes(len(data) - 256000)
    data.extend(bytes(272384 - len(data)))
    for line, msg in (
            ("fallocate -c -l 4096 /b",
             "fallocate: fallocate failed: Operation not supported"),
            ("fallocate -i -n -l 4096 /b",
             "fallocate: fallocate failed: keep size mode is unsupported"),
            ("fallocate -n -l 1 /none",
             "fallocate: cannot open /none: No such file or directory"),
            ("fallocate -l 1.5 /b",
             "fallocate: invalid length value specified")):
        assert msg in g.cmd(line), line
    assert stat_of(g, "/b")[0] == len(data)
    g.cmd("sync")
    out = g.cmd("fsck")
    assert re.search(r"fsck: vda generation \d+: .*: no errors", out), out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    btrfs_check(ctx, img)
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), img],
                       input="mount vda ro\nsha256sum /a /b\n",
                       capture_output=True, text=True, timeout=120)
    for p, want in (("/a", bytes(1 << 20)), ("/b", bytes(data))):
        assert "%s  %s" % (hashlib.sha256(want).hexdigest(), p) in r.stdout, (
            p, r.stdout[-500:])
    ctx.note("5 modes, 4 refusals; btrfs check clean")
