"""virtio-blk and the block layer: disk listing, data that survives a
reboot, several disks, 4096-byte sectors, read-only disks, requests past
the end, a sparse disk past 2 TiB, discard and write-zeroes, a QD-32
random write+verify stress, multiqueue, and the filesystem reading an
image that mkfs.btrfs --rootdir made."""
import hashlib
import os
import re
import shutil
import subprocess

from guest import ROOT, scratch_image

IMG_DIR = os.path.join(ROOT, "build/tests/blk")


def image(name, size):
    """A fresh sparse image file of size bytes under build/."""
    return scratch_image(os.path.join(IMG_DIR, name), size)


def disks_of(g):
    """{name: (size text, block, queues, flags)} from `blk`."""
    out = g.cmd("blk")
    found = {}
    for line in out.splitlines()[1:]:
        m = re.match(r"(vd[a-z])\s+(\d+ \S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(r[ow])(.*)", line)
        if m:
            found[m.group(1)] = (m.group(2), int(m.group(3)), int(m.group(4)),
                                 m.group(6) + m.group(7))
    return found


def ok(out, what="OK"):
    assert what in out and "error" not in out, out
    return out


def test_list(ctx):
    a, b = image("list_a.img", 1 << 30), image("list_b.img", 64 << 20)
    g = ctx.guest(disks=[a, "ro:" + b])
    g.boot()
    d = disks_of(g)
    assert d["vda"][0] == "1 GiB" and d["vda"][1] == 512, d
    assert d["vdb"][0] == "64 MiB" and d["vdb"][3].startswith("ro"), d
    assert d["vda"][3].startswith("rw") and "flush" in d["vda"][3], d


def test_data_survives_reboot(ctx):
    a = image("persist.img", 256 << 20)
    g = ctx.guest(disks=[a])
    g.boot()
    ok(g.cmd("blk write vda 1M 8M 42"), "wrote 8388608 bytes")
    ok(g.cmd("blk write vda 200M 64K 43"), "wrote")
    ok(g.cmd("blk flush vda"), "flush: done")
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    g = ctx.guest(disks=[a])
    g.boot()
    ok(g.cmd("blk verify vda 1M 8M 42"))
    ok(g.cmd("blk verify vda 200M 64K 43"))
    out = g.cmd("blk verify vda 1M 4K 41")
    assert "MISMATCH at byte 1048576" in out, out
    # The host sees the same bytes the guest wrote.
    with open(a, "rb") as f:
        f.seek(200 << 20)
        head = f.read(8)
    assert head != b"\0" * 8, head


def test_several_disks(ctx):
    imgs = [image("multi%d.img" % i, (32 + i) << 20) for i in range(4)]
    g = ctx.guest(disks=imgs)
    g.boot()
    d = disks_of(g)
    assert sorted(d) == ["vda", "vdb", "vdc", "vdd"], d
    for i, name in enumerate(sorted(d)):
        assert d[name][0] == "%d MiB" % (32 + i), d    # PCI order = DISKS order
        ok(g.cmd("blk write %s 0 1M %d" % (name, 100 + i)), "wrote")
    for i, name in enumerate(sorted(d)):
        ok(g.cmd("blk verify %s 0 1M %d" % (name, 100 + i)))
        out = g.cmd("blk verify %s 0 1M %d" % (name, 101 + i))
        assert "MISMATCH" in out, out


def test_4096_byte_sectors(ctx):
    a = image("sect4k.img", 128 << 20)
    g = ctx.guest(disks=["4k:" + a])
    g.boot()
    assert disks_of(g)["vda"][1] == 4096
    out = g.cmd("blk write vda 512 4096 1")
    assert "not aligned to the 4096-byte block size" in out, out
    out = g.cmd("blk read vda 0 512")
    assert "not aligned to the 4096-byte block size" in out, out
    ok(g.cmd("blk write vda 4096 1M 5"), "wrote")
    ok(g.cmd("blk verify vda 4096 1M 5"))
    ok(g.cmd("blk stress vda 32 2 17"), "stress: OK")


def test_read_only_disk(ctx):
    a = image("ro.img", 16 << 20)
    with open(a, "r+b") as f:
        f.write(b"ghee" * 128)
    g = ctx.guest(disks=["ro:" + a])
    g.boot()
    out = g.cmd("blk write vda 0 4096 1")
    assert "write refused: the disk is read-only" in out and "error -30" in out, out
    out = g.cmd("blk zero vda 0 4096")
    assert "read-only" in out, out
    out = g.cmd("blk read vda 0 512")
    assert "00000000: 6768 6565" in out, out
    want = hashlib.sha256(b"ghee" * 128).hexdigest()
    assert "sha256 " + want in out, out


def test_past_the_end(ctx):
    a = image("end.img", 8 << 20)
    g = ctx.guest(disks=[a])
    g.boot()
    out = g.cmd("blk read vda 8M 512")
    assert "past the end of the disk (8388608 bytes)" in out and "error -6" in out, out
    out = g.cmd("blk write vda 8388096 1024 1")
    assert "past the end" in out, out
    ok(g.cmd("blk write vda 8388096 512 1"), "wrote")     # the last block
    ok(g.cmd("blk verify vda 8388096 512 1"))
    out = g.cmd("blk bench vda rand read 16M 1 1")
    assert "BS must be" in out, out


def test_sparse_past_2tib(ctx):
    a = image("huge.img", 3 << 40)
    g = ctx.guest(disks=[a])
    g.boot()
    assert disks_of(g)["vda"][0] == "3 TiB"
    far = (5 << 40) // 2                         # 2.5 TiB: past 32-bit sectors
    ok(g.cmd("blk write vda %d 1M 77" % far), "wrote")
    ok(g.cmd("blk verify vda %d 1M 77" % far))
    ok(g.cmd("blk write vda %d 4096 78" % ((3 << 40) - 4096)), "wrote")
    out = g.cmd("blk read vda %d 512" % (3 << 40))
    assert "past the end" in out, out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    with open(a, "rb") as f:
        f.seek(far)
        assert f.read(8) != b"\0" * 8
    assert os.stat(a).st_blocks * 512 < 64 << 20    # still sparse


def test_discard_and_write_zeroes(ctx):
    a = image("dz.img", 32 << 20)
    g = ctx.guest(disks=[a])
    g.boot()
    ok(g.cmd("blk write vda 0 1M 3"), "wrote")
    ok(g.cmd("blk zero vda 64K 64K"), "zero: done")
    out = g.cmd("blk read vda 64K 64K")
    assert "sha256 " + hashlib.sha256(bytes(65536)).hexdigest() in out, out
    ok(g.cmd("blk verify vda 0 64K 3"))
    ok(g.cmd("blk verify vda 128K 128K 3"))
    ok(g.cmd("blk discard vda 512K 512K"), "discard: done")


def test_stress_qd32_random_write_verify(ctx):
    # Kernel SMP is not up yet: QEMU gets 4 CPUs, ghee runs on the first.
    a = image("stress.img", 128 << 20)
    g = ctx.guest(disks=[a], smp=4, timeout=120)
    g.boot()
    out = ok(g.cmd("blk stress vda 32 5 1234"), "stress: OK")
    # Every write verified is the test; how many fit in 5 s is a
    # throughput figure (make bench), printed only.
    m = re.search(r"OK, (\d+) writes at QD 32", out)
    assert m and int(m.group(1)) > 0, out
    ctx.note("%s writes verified in 5 s" % m.group(1))


def test_multiqueue(ctx):
    a = image("mq.img", 64 << 20)
    os.environ["BLK_QUEUES"] = "4"
    try:
        g = ctx.guest(disks=[a])
    finally:
        del os.environ["BLK_QUEUES"]
    g.boot()
    assert disks_of(g)["vda"][2] == 4
    ok(g.cmd("blk stress vda 64 2 99"), "stress: OK")
    out = g.cmd("blk bench vda rand read 4096 32 1")
    assert re.search(r"\d+ IOPS\nlatency us: avg [\d.]+ p50 \d+", out), out


def test_bench_reports(ctx):
    a = image("bench.img", 64 << 20)
    g = ctx.guest(disks=[a])
    g.boot()
    out = g.cmd("blk bench vda seq write 1M 4 1")
    assert re.search(r"bench vda seq write bs=1048576 qd=4: \d+ IOs in \d+ ms, "
                     r"[\d.]+ MiB/s, \d+ IOPS\nlatency us: avg [\d.]+ p50 \d+ p90 \d+ "
                     r"p99 \d+ p99.9 \d+ max \d+", out), out
    out = g.cmd("blk bench vda sideways read 4096 1 1")
    assert "want seq|rand" in out, out
    out = g.cmd("blk bench vdz seq read 4096 1 1")
    assert "no disk 'vdz'" in out, out


def test_mount_mkfs_rootdir_image(ctx):
    if not shutil.which("mkfs.btrfs"):
        ctx.skip("no mkfs.btrfs")
    src = os.path.join(IMG_DIR, "rootdir")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(os.path.join(src, "sub/deeper"))
    files = {"hello.txt": b"hello, ghee\n",
             "sub/blob.bin": bytes((i * 7 + 3) & 0xff for i in range(300000)),
             "sub/deeper/empty": b""}
    for name, data in files.items():
        with open(os.path.join(src, name), "wb") as f:
            f.write(data)
    a = image("rootdir.img", 256 << 20)
    subprocess.run(["mkfs.btrfs", "-q", "-f", "--rootdir", src, a],
                   check=True, stdout=subprocess.DEVNULL)
    g = ctx.guest(disks=["ro:" + a])
    g.boot()
    out = g.cmd("mount vda")
    assert "error" not in out, out
    out = g.cmd("find /")
    for name in ("hello.txt", "sub/blob.bin", "sub/deeper/empty", "sub/deeper"):
        assert re.search(r"(^|/)%s$" % re.escape(name), out, re.M), out
    for name, data in files.items():
        out = g.cmd("sha256sum /%s" % name)
        assert hashlib.sha256(data).hexdigest() in out, out
