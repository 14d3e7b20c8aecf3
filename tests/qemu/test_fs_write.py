"""The filesystem's write path in ghee over virtio-blk: mkfs, mount, a mix
of writes (mkdir, seeded writes, cp, mv, rm, truncate, ln, ln -s), fsck in
the guest, sync and poweroff; then on the host `btrfs check` must be clean
and the host tool (build/ghee) must read back exactly what a model of the
same operations holds (names, sizes, link counts, sha256 of the seeded
patterns, computed by tests/interop/model.py's generator). The same run
with two CPUs and 4 KiB nodes, and a second boot that reads the image back."""
import hashlib
import os
import re
import subprocess
import sys

from guest import ROOT, btrfs_check, scratch_image

sys.path.insert(0, os.path.join(ROOT, "tests/interop"))
from model import pattern  # noqa: E402

IMG_DIR = os.path.join(ROOT, "build/tests/fs_write")
NSMALL = 150            # small files: enough for leaf and node splits


def image(name, size):
    """A fresh sparse image file of size bytes under build/."""
    return scratch_image(os.path.join(IMG_DIR, name), size)


class Model:
    """What the workload leaves: path -> bytearray (files), set (dirs),
    and symlink targets; hard links share one bytearray."""

    def __init__(self):
        self.files, self.dirs, self.links = {}, {"/"}, {}

    def write(self, path, off, n, seed):
        data = self.files.setdefault(path, bytearray())
        if len(data) < off + n:
            data.extend(bytes(off + n - len(data)))
        data[off:off + n] = pattern(seed, off, n)

    def truncate(self, path, size):
        data = self.files[path]
        if size < len(data):
            del data[size:]
        else:
            data.extend(bytes(size - len(data)))


def workload():
    """The shell commands and the model they should leave."""
    m, cmds = Model(), []

    def run(line):
        cmds.append(line)

    run("mkdir /d /d/sub /e")
    m.dirs |= {"/d", "/d/sub", "/e"}
    for path, off, n, seed in (("/d/a", 0, 300000, 1),
                               ("/d/a", 100000, 5000, 2),   # splits an extent
                               ("/d/b", 0, 3000, 3),        # inline
                               ("/d/sparse", 1 << 20, 4096, 4),
                               ("/d/a", 290000, 40000, 5)):  # append past EOF
        run("write %s %d %d %d" % (path, off, n, seed))
        m.write(path, off, n, seed)
    for i in range(NSMALL):
        path = "/e/file-with-a-long-name-%04d" % i
        n = 100 + (i * 7919) % 9000
        run("write %s 0 %d %d" % (path, n, 100 + i))
        m.write(path, 0, n, 100 + i)
    run("cp /d/a /d/c")
    m.files["/d/c"] = bytearray(m.files["/d/a"])
    run("mv /d/b /e/b2")
    m.files["/e/b2"] = m.files.pop("/d/b")
    for i in range(0, NSMALL, 3):
        path = "/e/file-with-a-long-name-%04d" % i
        run("rm " + path)
        del m.files[path]
    run("truncate /d/a 150000")
    m.truncate("/d/a", 150000)
    run("truncate /d/c 400000")
    m.truncate("/d/c", 400000)
    run("ln /d/c /d/sub/c-link")
    m.files["/d/sub/c-link"] = m.files["/d/c"]
    run("ln -s /d/a /d/sym")
    m.links["/d/sym"] = "/d/a"
    run("mv /e/file-with-a-long-name-0001 /d/sub/moved")
    m.files["/d/sub/moved"] = m.files.pop("/e/file-with-a-long-name-0001")
    run("mkdir /gone")
    run("rm -r /gone")
    return cmds, m


def ok(out):
    assert "error" not in out.lower() and "errno" not in out, out
    return out


def write_in_guest(ctx, img, smp, mkfs_opts=""):
    cmds, m = workload()
    g = ctx.guest(disks=[img], smp=smp, timeout=240)
    g.boot()
    assert g.online_cpus() == smp, g.cmd("cpus")
    assert "made btrfs on vda" in g.cmd("mkfs vda" + mkfs_opts)
    assert "mounted vda read-write" in g.cmd("mount vda")
    for line in cmds:
        ok(g.cmd(line))
    # The read-side commands take their own locks (lockdep watches).
    for line in ("df", "subvolume list /", "inspect-internal dump-super",
                 "find / -c"):
        ok(g.cmd(line))
    ok(g.cmd("sync"))
    out = g.cmd("fsck")
    assert re.search(r"fsck: vda generation \d+: .*: no errors", out), out
    ctx.note(out.strip()[:160])
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    return m


def host_read(ctx, img, m):
    """Check the image with btrfs check and the host tool against m."""
    btrfs_check(ctx, img)
    paths = sorted(m.files)
    script = "mount vda ro\nfind /\n" + "".join(
        "sha256sum %s\n" % " ".join(paths[i:i + 20])
        for i in range(0, len(paths), 20))
    script += "".join("stat %s\n" % p for p in paths)
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), img], input=script,
                       capture_output=True, text=True, timeout=120)
    out = r.stdout
    found = set(re.findall(r"^(/\S*)$", out, re.M))
    want = set(m.files) | m.dirs | set(m.links)
    assert found == want, "names differ: extra %s, missing %s" % (
        sorted(found - want)[:5], sorted(want - found)[:5])
    sums = dict((p, h) for h, p in re.findall(r"^([0-9a-f]{64})  (\S+)$",
                                               out, re.M))
    for p in paths:
        assert sums.get(p) == hashlib.sha256(m.files[p]).hexdigest(), p
    stats = re.findall(r"File: (\S+)\n\s+Size: (\d+)\s.*\n.*Links: (\d+)",
                       out)
    assert len(stats) == len(paths), out[-500:]
    for p, size, links in stats:
        nlink = sum(1 for q in m.files if m.files[q] is m.files[p])
        assert (int(size), int(links)) == (len(m.files[p]), nlink), (
            p, size, links)
    return sums


def test_write_mix_host_reads_back(ctx):
    img = image("mix.img", 512 << 20)
    m = write_in_guest(ctx, img, 1)
    sums = host_read(ctx, img, m)
    # A second boot reads the same bytes through ghee's own driver.
    g = ctx.guest(disks=["ro:" + img], timeout=120)
    g.boot()
    ok(g.cmd("mount vda ro"))
    for p in ("/d/a", "/d/c", "/d/sub/c-link", "/e/b2", "/d/sparse"):
        out = g.cmd("sha256sum " + p)
        assert sums[p] in out, (p, out)
    assert "sym -> /d/a" in g.cmd("ls -l /d")
    out = g.cmd("fsck")
    assert "no errors" in out, out


def test_write_mix_4k_nodes_on_smp2(ctx):
    # The same commands one at a time (concurrency is test_fs_stress's), on
    # a kernel with two CPUs (its sync task may run beside the shell), and
    # 4 KiB nodes: the trees grow to several levels.
    img = image("mix-smp2.img", 512 << 20)
    m = write_in_guest(ctx, img, 2, " --nodesize 4096")
    host_read(ctx, img, m)


def test_reflink_xattr_inode_kinds(ctx):
    """Reflinks (clone into another file, into the same file past its
    end, cp --reflink), extended attributes on a file and a symlink,
    chown, a device node and a FIFO, made in the guest; fsck there, then
    on the host btrfs check and the host tool read back the shared bytes,
    the attributes, owners and kinds."""
    img = image("inode-kinds.img", 256 << 20)
    a = pattern(21, 0, 3000000)
    want = {"/a": a + bytes(2368) + a, "/b": a[1 << 20:2 << 20], "/c": a}
    g = ctx.guest(disks=[img], timeout=240)
    g.boot()
    assert "made btrfs on vda" in g.cmd("mkfs vda")
    assert "mounted vda read-write" in g.cmd("mount vda")
    for line in ("write /a 0 3000000 21", "cp --reflink /a /c",
                 "clone /a 1048576 1048576 /b 0",
                 "clone /a 0 0 /a 3002368", "ln -s /a /lnk",
                 "setfattr -n user.kind -v shared-data /a",
                 "setfattr -h -n trusted.t -v 0x0102 /lnk",
                 "chown 1000:100 /b", "mknod /dev0 c 1 3", "mkfifo /fifo"):
        ok(g.cmd(line))
    assert 'user.kind="shared-data"' in g.cmd("getfattr -d /a")
    ok(g.cmd("sync"))
    out = g.cmd("fsck")
    assert re.search(r"fsck: vda generation \d+: .*: no errors", out), out
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    btrfs_check(ctx, img)
    script = ("mount vda ro\nsha256sum /a /b /c\n"
              "getfattr -h -d -m - -e hex --absolute-names /a /lnk\n"
              "ls -l /\n")
    r = subprocess.run([os.path.join(ROOT, "build/ghee"), img], input=script,
                       capture_output=True, text=True, timeout=120)
    out = r.stdout
    for p, data in want.items():
        assert "%s  %s" % (hashlib.sha256(data).hexdigest(), p) in out, p
    for line in ("user.kind=0x7368617265642d64617461", "trusted.t=0x0102",
                 "-rw-r--r-- 1 1000 100 1048576 ", "crw-r--r-- 1 0 0 1, 3 ",
                 "prw-r--r-- 1 0 0 0 "):
        assert line in out, (line, out[-800:])
    ctx.note("%d files shared, xattrs, device, FIFO" % len(want))
