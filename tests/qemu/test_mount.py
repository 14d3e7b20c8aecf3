"""mount -o subvol=PATH and subvolid=ID, in QEMU and in the host tool (the
same script): a subvolume of the second disk mounted on its own, and the
options' bad input."""
import os
import re
import subprocess

from guest import ROOT, scratch_image

SUBVOL_SCRIPT = [
    "mkfs vda", "mkfs vdb", "mount vda", "mkdir /backup",
    "mount vdb /backup", "subvolume create /backup/s2",
    "echo two > /backup/s2/g", "echo top > /backup/t", "sync",
    "umount /backup", "mount vdb /backup -o subvol=s2", "cat /backup/g",
    "mount", "umount /backup", "mount vdb /backup -o ro,subvolid=256",
    "ls /backup", "umount /backup", "mount vdb /backup -o subvol=/s2/g",
    "mount vdb /backup -o subvol=nope", "mount vdb /backup -o subvolid=9",
    "mount vdb /backup -o subvolid=0", "mount vdb /backup -o subvolid=x",
    "mount vdb /backup", "cat /backup/t", "fsck vdb",
]


def check_subvol(transcript):
    o = {}
    for part in transcript.split("ghee> ")[1:]:
        line, _, out = part.partition("\n")
        o[line] = out

    def eq(cmd, want):
        assert o.get(cmd) == want, "%s: got %r, want %r" % (cmd, o.get(cmd),
                                                            want)
    eq("mount vdb /backup -o subvol=s2", "mounted vdb read-write on "
       "/backup\n")
    eq("cat /backup/g", "two\n")
    eq("mount", "vda on / type btrfs (rw)\nvdb on /backup type btrfs "
       "(rw,subvol=s2)\n")
    eq("ls /backup", "g\n")
    eq("mount vdb /backup -o subvol=/s2/g", "mount: vdb: subvol=/s2/g: not "
       "a subvolume (errno 22)\n")
    eq("mount vdb /backup -o subvol=nope", "mount: vdb: subvol=nope: no "
       "such file or directory (errno 2)\n")
    assert "mount: vdb: subvolid=9: no such file or directory (errno 2)\n" \
        in o["mount vdb /backup -o subvolid=9"], o
    assert o["mount vdb /backup -o subvolid=0"].startswith(
        "mount: subvolid=0: no subvolume has id 0\nusage: mount"), o
    assert o["mount vdb /backup -o subvolid=x"].startswith(
        "error: malformed number 'x' for subvolid\nusage: mount"), o
    eq("cat /backup/t", "top\n")
    assert re.search(r"^fsck: vdb generation \d+: .*: no errors$",
                     o["fsck vdb"], re.M), o["fsck vdb"]


def images():
    return [scratch_image(os.path.join(ROOT, "build/tests/mount-%d.img" % i),
                          256 << 20) for i in range(2)]


def test_mount_subvolumes(ctx):
    g = ctx.guest(disks=images())
    g.boot()
    for line in SUBVOL_SCRIPT:
        g.cmd(line)
    check_subvol(g.transcript())


def test_mount_subvolumes_in_host_tool(ctx):
    r = subprocess.run([os.path.join(ROOT, "build/ghee")] + images(),
                       input="\n".join(SUBVOL_SCRIPT) + "\n",
                       capture_output=True, text=True, timeout=60)
    check_subvol(r.stdout)


def test_mount_at_boot(ctx):
    # mount=DISK on the command line (`make run` gives mount=vda) mounts
    # the disk at / before the first prompt; the last mount= counts and
    # mount=none turns it off.
    img = images()[0]
    g = ctx.guest(disks=[img])
    g.boot()
    for line in ("mkfs vda", "mount vda", "echo hello > /greeting",
                 "umount"):
        g.cmd(line)
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    g = ctx.guest(disks=[img], append="mount=none mount=vda")
    msgs = g.boot()
    assert "mounted vda read-write on /" in msgs, msgs
    assert g.cmd("cat /greeting") == "hello\n"
    assert re.search(r"^Metadata, \w+: total=", g.cmd("filesystem df"), re.M)
    g.send("poweroff\n")
    assert g.wait_exit() == 0
    g = ctx.guest(disks=[img], append="mount=vda mount=none")
    assert "mounted" not in g.boot()
    assert g.cmd("mount") == ""
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_umount_refuses_a_mount_in_use(ctx):
    # Commands hold no reference on a mount, so umount runs alone: not
    # beside other commands of a pipeline, not as a background job, and
    # not while a redirection has a file of the mount open (the fuzzer's
    # `umount | cat > /f` freed the filesystem under cat's redirection).
    # The second mount at /backup is free to go while / is held.
    busy = "umount: /: busy (umount runs alone in the foreground, not " \
        "with & or in a pipeline)"
    held = "umount: /: busy (a redirection is open on a file in it)"
    script = ["mkfs vda", "mkfs vdb", "mount vda", "umount | cat > /f",
              "umount > /f", "cat < /f | umount", "umount &", "wait",
              "mkdir /backup", "mount vdb /backup", "umount /backup > /f",
              "cat /f", "echo kept > /g", "umount", "mount", "mount vda",
              "cat /g", "ls /"]
    r = subprocess.run([os.path.join(ROOT, "build/ghee")] + images(),
                       input="\n".join(script) + "\n",
                       capture_output=True, text=True, timeout=60)
    out = r.stdout
    assert r.returncode == 0, out
    assert out.count(busy) == 3, out
    assert out.count(held) == 1, out
    assert re.search(r"^ghee> cat /f\nunmounted vdb\n", out, re.M), out
    assert re.search(r"^ghee> umount\nunmounted vda\nghee> mount\n"
                     r"ghee> mount vda\n", out, re.M), out
    m = re.search(r"^ghee> cat /g\nkept\nghee> ls /\n((?:\w+\n)*)ghee> ",
                  out, re.M)
    assert m and sorted(m.group(1).split()) == ["backup", "f", "g"], out


def test_mount_and_mkfs_claim_their_disk(ctx):
    # mount and mkfs work on a disk unlocked for a while; in one pipeline
    # both of a pair used to pass the "not mounted" check and mount one
    # disk twice (or make a filesystem under a mount). Now each claims the
    # disk, as Linux's exclusive open: the one that comes second says the
    # disk is busy (or, when the first had already finished, is mounted).
    # Two disks onto one directory: the second finds it a mount point when
    # it enters the table.
    script = ["mkfs vda", "mkfs vdb", "mount vda | mount vda /", "mount",
              "umount", "mkfs vda | mount vda", "mount", "umount",
              "mount vda | mount vdb", "mount"]
    r = subprocess.run([os.path.join(ROOT, "build/ghee")] + images(),
                       input="\n".join(script) + "\n",
                       capture_output=True, text=True, timeout=60)
    out = r.stdout
    lists = re.findall(r"^ghee> mount\n((?:vd\w+ on .*\n)*)", out, re.M)
    assert len(lists) == 3, out
    assert lists[0] == "vda on / type btrfs (rw)\n", out
    assert lists[1] in ("", "vda on / type btrfs (rw)\n"), out
    assert re.fullmatch(r"vd[ab] on / type btrfs \(rw\)\n", lists[2]), out
    assert re.search(r"mount: vda is (busy \(a mount, mkfs or fsck works "
                     r"on it\)|mounted; umount it first)", out), out
