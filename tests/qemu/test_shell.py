"""The shell in QEMU: btrfs-progs command groups, background jobs with
wait and kill, and a terminal session (progress bar redrawn in place,
Ctrl-C cancelling the foreground command)."""
import os
import re
import subprocess
import time

from guest import ROOT, scratch_image


def test_groups_prefixes_and_help(ctx):
    g = ctx.guest()
    g.boot()
    out = g.cmd("btrfs bal start -dusage=50 /")
    assert out == "balance start: /: no filesystem mounted there " \
        "(use: mount DISK [DIR])\n", out
    out = g.cmd("btrfs ins min /")
    assert out == "inspect-internal min-dev-size: not implemented " \
        "yet\n", out
    out = g.cmd("btrfs sub snap -r /a /b")
    assert out == "subvolume snapshot: /a: no filesystem mounted there " \
        "(use: mount DISK [DIR])\n", out
    out = g.cmd("btrfs fi df /")
    assert out == "df: /: no filesystem mounted there (use: mount DISK " \
        "[DIR])\n", out
    out = g.cmd("help inspect")
    assert "inspect-internal dump-tree -t TREE" in out, out
    out = g.cmd("btrfs s list")
    assert "ambiguous command 's'" in out, out


def test_background_jobs_wait_and_kill(ctx):
    g = ctx.guest()
    g.boot()
    out = g.cmd("sleep 100000 &")
    m = re.match(r"\[(\d+)\] sleep 100000\n", out)
    assert m, out
    long_id = m.group(1)
    out = g.cmd("sleep 300 &")
    m = re.match(r"\[(\d+)\] sleep 300\n", out)
    assert m, out
    short_id = m.group(1)
    out = g.cmd("jobs")
    assert re.search(r"^\[%s\] Running  sleep 100000  sleeping: \d+/100000 "
                     r"ms \(\d+%%\)" % long_id, out, re.M), out
    out = g.cmd("wait %s" % short_id)
    assert "[%s] Done  sleep 300" % short_id in out, out
    # the job may say it was cancelled before or after the next prompt
    g.send("kill %s\nwait %s\n" % (long_id, long_id))
    out = g.expect("[%s] Cancelled  sleep 100000" % long_id)
    g.expect("ghee> ")
    assert re.search(r"sleep: cancelled after about \d+ of 100000 ms", out), out
    out = g.cmd("wait %s" % long_id)
    assert "no background job %s" % long_id in out, out
    assert g.cmd("jobs") == ""


def test_terminal_progress_bar_and_ctrl_c(ctx):
    g = ctx.guest(append="tty=1")
    g.boot()
    # Tab completes a group, then its command; the line runs as typed
    g.send("btrfs fi\t")
    g.expect("btrfs filesystem ")
    g.send("d\t")
    g.expect("\r\ndf  du  defragment  \r\nghee> btrfs filesystem d")
    g.send("f\n")
    out = g.expect("ghee> ")
    assert "df: /: no filesystem mounted there" in out, out
    # the line editor: left arrow and insert
    assert g.cmd("ech\x1b[D\x1b[D\x1b[Cx\x7f\x05o one") == "one\n"
    g.send("sleep 100000\n")
    # the bar appears after a second and is redrawn in place
    first = g.expect(" ms/s, ")
    g.expect("\r[")
    g.expect(" ms/s, ")
    assert "\r[" in first and "] sleeping: " in first, first
    g.send("\x03")
    out = g.expect("ghee> ")
    assert re.search(r"sleep: cancelled after about \d+ of 100000 ms", out), \
        out
    assert g.cmd("echo after") == "after\n"


def test_plain_progress_lines_in_a_script(ctx):
    g = ctx.guest()
    g.boot()
    t0 = time.monotonic()
    out = g.cmd("sleep 6500")
    assert time.monotonic() - t0 >= 6, "sleep ended early"
    lines = re.findall(r"^progress: sleeping: \d+/6500 ms.*$", out, re.M)
    assert len(lines) == 1, out
    assert "\r[" not in out and "\x1b[K" not in out, repr(out)


TWO_FS_SCRIPT = [
    "mkfs vda", "mkfs vdb", "mount vda", "mkdir /backup",
    "mount vdb /backup", "mount", "write /a 0 300000 5", "cp /a /backup/a",
    "sync", "df -h", "filesystem usage /backup", "ls -a /backup",
    "du -ach /a /backup", "sha256sum /a /backup/a", "mv /a /backup/b", "ln /a /backup/c",
    "umount /", "umount /backup", "ls /backup", "mount vdb /backup -o ro",
    "ls /backup", "touch /backup/z", "fsck vdb", "umount vdb", "umount",
]


def check_two_fs(out):
    """out: the transcript of TWO_FS_SCRIPT (prompts and echoes in it)."""
    assert "vda on / type btrfs (rw)\nvdb on /backup type btrfs (rw)\n" \
        in out, out
    # coreutils' df: a row per mount; usage's percentages (the kernel's C
    # library prints no floating point: "(f%)" before)
    assert re.search(r"^Filesystem      Size  Used Avail Use% Mounted on\n"
                     r"vda  +256M  +\d\d\dK  +\d+M  +\d+% /\n"
                     r"vdb  +256M  +\d\d\dK  +\d+M  +\d+% /backup\n",
                     out, re.M), out
    pcts = re.findall(r"^(Data|Metadata|System),\w+: Size:\S+, Used:\S+ "
                      r"\((\d+\.\d\d)%\)$", out, re.M)
    assert [p[0] for p in pcts] == ["Data", "Metadata", "System"], out
    assert 0 < float(pcts[0][1]) < 100, pcts
    assert "ghee> ls -a /backup\n.\n..\na\nghee> " in out, out
    # 300,000 bytes take 296K, a new filesystem's top directory 16K (its
    # inode's nbytes, as mkfs.btrfs writes it); then the total
    assert "ghee> du -ach /a /backup\n296K\t/a\n296K\t/backup/a\n" \
        "312K\t/backup\n608K\ttotal\n" in out, out
    sums = re.findall(r"^([0-9a-f]{64})  (/a|/backup/a)$", out, re.M)
    assert len(sums) == 2 and sums[0][0] == sums[1][0], sums
    assert "mv: /a and /backup/b are on different filesystems (errno 18)" \
        in out, out
    assert "ln: /a and /backup/c are on different filesystems (errno 18)" \
        in out, out
    assert "umount: /: busy (a filesystem is mounted inside it)" in out, out
    assert "ghee> ls /backup\nghee> mount vdb /backup -o ro\n" \
        "mounted vdb read-only on /backup\nghee> ls /backup\na\n" in out, out
    assert "touch: /backup/z: read-only filesystem (errno 30)" in out, out
    assert re.search(r"^fsck: vdb generation \d+: .*: no errors$", out, re.M)
    assert out.count("unmounted ") == 3, out


def test_two_mounted_filesystems(ctx):
    imgs = [scratch_image(os.path.join(ROOT, "build/tests/two-fs-%d.img" % i),
                          256 << 20) for i in range(2)]
    g = ctx.guest(disks=imgs)
    g.boot()
    for line in TWO_FS_SCRIPT:
        g.cmd(line)
    check_two_fs(g.transcript())
    # the host tool runs the same script on the same kind of images
    for img in imgs:
        scratch_image(img, 256 << 20)
    r = subprocess.run([os.path.join(ROOT, "build/ghee")] + imgs,
                       input="\n".join(TWO_FS_SCRIPT) + "\n",
                       capture_output=True, text=True, timeout=60)
    check_two_fs(r.stdout)
