"""Pipes and redirections, in QEMU and in the host tool (the same script):
`> >> <` into files of several mounted filesystems and their failures
(missing directory, directory, read-only mount, full disk), error
messages that stay on the console while the output goes to a file, a
binary pipe of 16 MiB checked by SHA-256 (the writer far ahead of its
bounded pipe), a pipe between two filesystems, a reader that never
reads, a failure on either side, and pipelines stopped by kill (in the
background) and by Ctrl-C (in the foreground)."""
import os
import re
import subprocess
import time

from guest import ROOT, scratch_image

BIG = 16 << 20

PIPE_SCRIPT = [
    "mkfs vda", "mkfs vdb", "mkfs vdc", "mount vda", "mkdir /backup /small",
    # mount points in any spelling: //backup/./ is /backup
    "mount vdb //backup/./", "mount vdc /small/", "mount",
    # every kind of redirection
    "echo hello > /a", "cat < /a", "echo more >> /a", "cat /a",
    "echo new > /a", "cat - < /a", ">/b echo first word", "cat /b",
    # the error reaches the console, the file gets the output only
    "ls /missing > /c", "cat /c", "ls /backup > /c", "cat /c",
    # redirections that fail, before the command runs
    "mkdir /made > /nodir/x", "ls /made", "cat < /missing",
    "echo x > /backup", "echo x >", "cat /a > /b > /c", "cat /a | < /b cat",
    "cat",
    # binary data through pipes; a pipe between two filesystems
    "write /big 0 %d 7" % BIG, "sha256sum /big", "cat /big | sha256sum",
    "cat /big | cat | cat | sha256sum", "cat /big | cat > /backup/big",
    "cp /big /backup/big2", "sha256sum /backup/./big //backup/big2",
    # both sides on one filesystem, the reader writing (and committing)
    "cat /big /big /big /big | cat > /big4", "sync",
    "cat /big /big /big /big | sha256sum", "sha256sum /big4",
    # a reader that never reads; a failure on either side
    "cat /big /big /big | echo early", "cat /missing | sha256sum",
    "cat /big | cat /missing",
    # a read-only mount and a full disk
    "umount /backup/", "mount vdb /backup -o ro", "echo x > /backup/new",
    "echo x >> /backup/big", "cat /big /big > /small/x", "sync",
    "fsck vdc", "echo after",
]


def outputs(transcript):
    """{command line: its output} from a transcript of PIPE_SCRIPT (each
    command is run once)."""
    res = {}
    for part in transcript.split("ghee> ")[1:]:
        line, _, out = part.partition("\n")
        res[line] = out
    return res


def check_pipes(transcript):
    o = outputs(transcript)

    def eq(cmd, want):
        assert o.get(cmd) == want, "%s: got %r, want %r" % (cmd, o.get(cmd),
                                                            want)
    eq("mount", "vda on / type btrfs (rw)\nvdb on /backup type btrfs (rw)\n"
       "vdc on /small type btrfs (rw)\n")
    eq("umount /backup/", "unmounted vdb\n")
    eq("echo hello > /a", "")
    eq("cat < /a", "hello\n")
    eq("cat /a", "hello\nmore\n")
    eq("cat - < /a", "new\n")
    eq("cat /b", "first word\n")
    eq("ls /missing > /c", "ls: /missing: no such file or directory "
       "(errno 2)\n")
    eq("cat /c", "")
    eq("mkdir /made > /nodir/x", "ghee: /nodir/x: no such file or "
       "directory\n")
    eq("ls /made", "ls: /made: no such file or directory (errno 2)\n")
    eq("cat < /missing", "ghee: /missing: no such file or directory\n")
    eq("echo x > /backup", "ghee: /backup: is a directory\n")
    eq("echo x >", "error: no file name after '>'\n")
    eq("cat /a > /b > /c", "error: a second output redirection '>'\n")
    assert "cannot also read a file" in o["cat /a | < /b cat"], o
    assert "cat: stdin: not a pipe or a file" in o["cat"], o
    # `ls /backup > /c` wrote the listing (empty: the backup is new)
    assert o["ls /backup > /c"] == "", o
    sums = re.findall(r"^([0-9a-f]{64})  (\S+)$", transcript, re.M)
    names = [n for _, n in sums]
    assert names == ["/big", "-", "-", "/backup/./big", "//backup/big2", "-",
                     "/big4"], sums
    assert len(set(h for h, _ in sums[:5])) == 1, sums
    assert sums[5][0] == sums[6][0] != sums[0][0], sums
    eq("cat /big /big /big | echo early", "early\n")
    out = o["cat /missing | sha256sum"]
    assert "cat: /missing: no such file or directory" in out, out
    assert "ghee: pipeline stopped: 'cat /missing' failed: no such file " \
        "or directory\n" in out, out
    assert not re.search(r"^[0-9a-f]{64}", out, re.M), out
    out = o["cat /big | cat /missing"]
    assert "ghee: pipeline stopped: 'cat /missing' failed" in out, out
    eq("echo x > /backup/new", "ghee: /backup/new: read-only filesystem\n")
    eq("echo x >> /backup/big", "ghee: /backup/big: read-only filesystem\n")
    assert "ghee: /small/x: no space left on device\n" in \
        o["cat /big /big > /small/x"], o["cat /big /big > /small/x"]
    assert re.search(r"^fsck: vdc generation \d+: .*: no errors$",
                     o["fsck vdc"], re.M), o["fsck vdc"]
    eq("echo after", "after\n")


def images():
    sizes = (256 << 20, 256 << 20, 40 << 20)
    return [scratch_image(os.path.join(ROOT, "build/tests/pipes-%d.img" % i),
                          size) for i, size in enumerate(sizes)]


def test_pipes_and_redirections(ctx):
    g = ctx.guest(disks=images(), timeout=240)
    g.boot()
    for line in PIPE_SCRIPT:
        g.cmd(line)
    check_pipes(g.transcript())
    # a background pipeline, killed as a whole
    out = g.cmd("cat /big /big /big /big /big /big /big /big | sha256sum &")
    m = re.match(r"\[(\d+)\] cat /big", out)
    assert m, out
    g.cmd("kill %s" % m.group(1))
    out = g.cmd("wait %s" % m.group(1))
    assert "Cancelled  cat /big" in out, out
    assert not re.search(r"^[0-9a-f]{64}", out, re.M), out
    assert g.cmd("jobs") == ""
    # Ctrl-C stops a foreground pipeline, every command of it
    g.send("cat /big /big /big /big /big /big /big /big | sha256sum\n")
    g.expect("| sha256sum\r\n")
    time.sleep(0.5)
    g.send("\x03")
    out = g.expect("ghee> ")
    assert not re.search(r"^[0-9a-f]{64}", out, re.M), out
    out = g.cmd("ps")
    assert not re.search(r"^\s*\d+ (cat|sha256sum)\s", out, re.M), out
    assert g.cmd("echo after") == "after\n"


def test_pipes_and_redirections_in_host_tool(ctx):
    r = subprocess.run([os.path.join(ROOT, "build/ghee")] + images(),
                       input="\n".join(PIPE_SCRIPT) + "\n",
                       capture_output=True, text=True, timeout=120)
    check_pipes(r.stdout)
