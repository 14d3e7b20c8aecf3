"""Compressed extents in the kernel: the codecs built for it (newlib,
freestanding) read what the host tool wrote with zlib, lzo and zstd,
and compress copies of it under each mount option in the guest; on the
host, `btrfs check --check-data-csum` passes and the host tool reads every
copy back as the original, from extents of the type asked."""
import hashlib
import os
import random
import re
import shutil
import subprocess

from guest import ROOT, btrfs_check, scratch_image

IMG_DIR = os.path.join(ROOT, "build/tests/compress")
GHEE = os.path.join(ROOT, "build/ghee")
OPTS = (("zlib", "compress=zlib:9", 1), ("lzo", "compress=lzo", 2),
        ("zstd", "compress-force=zstd:15", 3))


def text(seed, n):
    """Text-like bytes: words of a small list."""
    r = random.Random(seed)
    words = [b"alpha", b"beta", b"extent", b"btrfs", b"ghee", b"\n"]
    return b" ".join(r.choice(words) for _ in range(n // 4))[:n]


def host(img, script):
    r = subprocess.run([GHEE, img], input=script, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and "errno" not in r.stdout, r.stdout[-2000:]
    return r.stdout


def test_kernel_codecs(ctx):
    if not shutil.which("btrfs"):
        ctx.skip("btrfs-progs not installed: no btrfs check")
    os.makedirs(IMG_DIR, exist_ok=True)
    img = scratch_image(os.path.join(IMG_DIR, "codecs.img"), 256 << 20)
    data = text(1, 700000)
    src = os.path.join(IMG_DIR, "text")
    with open(src, "wb") as f:
        f.write(data)
    want = hashlib.sha256(data).hexdigest()
    script = "mkfs vda\n"
    for name, opt, _ in OPTS:
        script += "mount vda -o %s\nimport %s /%s\numount\n" % (opt, src,
                                                                name)
    host(img, script)

    g = ctx.guest(disks=[img], timeout=240)
    g.boot()
    for name, opt, _ in OPTS:
        assert "mounted vda read-write" in g.cmd("mount vda -o " + opt)
        out = g.cmd("sha256sum " + " ".join("/" + n for n, _, _ in OPTS))
        assert out.count(want) == 3, out
        out = g.cmd("cp --reflink=never /%s /copy-%s" % (name, name))
        assert "errno" not in out, out
        out = g.cmd("umount")
        assert "unmounted" in out, out
    g.send("poweroff\n")
    assert g.wait_exit() == 0

    btrfs_check(ctx, img, "--check-data-csum")
    out = host(img, "mount vda ro\n" + "".join(
        "sha256sum /copy-%s\nstat /copy-%s\n" % (n, n) for n, _, _ in OPTS))
    assert out.count(want) == 3, out
    dump = subprocess.run(["btrfs", "inspect-internal", "dump-tree", "-t",
                           "5", img], capture_output=True, text=True).stdout
    for name, _, ctype in OPTS:
        ino = re.search(r"File: /copy-%s\n.*?Inode: (\d+)" % name, out,
                        re.S).group(1)
        types = set(re.findall(r"\(%s EXTENT_DATA \d+\).*?compression (\d)"
                               % ino, dump, re.S))
        assert types == {str(ctype)}, (name, types)
