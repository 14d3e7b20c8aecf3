"""Send beside a running balance, in QEMU with two CPUs (issue 15 item
5), the shapes of fstests btrfs/252 and btrfs/187 at a size make test
affords (about a minute of TCG each); `make balance-send-long` runs them
at full size with a random seed.

btrfs/252 shape: a seeded random workload in one subvolume takes 12
read-only snapshots; then, with a full balance started again in the
background whenever the last one ended, each snapshot is sent (the first
whole, each later one incremental on the one before) and received on the
same filesystem through a pipe, the previous original deleted after each
step. Once the balance is cancelled, every received snapshot is compared
with what its original held (file list and SHA-256 of every file, taken
before the balance started: reads beside a running balance are the
read-beside-relocation race another branch fixes). The seed is printed.

btrfs/187 shape: many files with large xattrs (so every leaf is COWed
between the two snapshots), then rounds of a full and an incremental
send to files beside a metadata-only balance loop (make test: 400 files,
4 rounds; long: 80,000 files, rounds for BAL187_SECONDS, default 1,200,
as fstests runs it for a fixed time); no error, and fsck in the guest
and `btrfs check` on the host clean after.
"""
import os
import random
import re
import time

from guest import BALANCE_LOG, PROMPT, ROOT, btrfs_check, scratch_image

LONG = os.environ.get("BALANCE_SEND_LONG") == "1"
# The long run's image has a name of its own: a make test running
# meanwhile remakes the short one's under a guest still writing it.
IMG = os.path.join(ROOT, "build/tests/balance_send/%s.img"
                   % ("long" if LONG else "bs"))
# The long btrfs/187 shape's rounds run for BAL187_SECONDS; a round of
# 80,000 files (a full send of about 460,000 items and an incremental)
# takes minutes under TCG and the last one ends past that time.
BAL187_SECONDS = int(os.environ.get("BAL187_SECONDS", "1200"))
# A guest's whole life: making the files and xattrs, the rounds, fsck.
GUEST_SECONDS = BAL187_SECONDS + 4800 if LONG else 900


def cmd(g, line):
    """The command's output without its echo and without the log lines
    a background balance prints meanwhile."""
    g.send(line + "\n")
    out = BALANCE_LOG.sub("", g.expect(PROMPT).replace("\r\n", "\n"))
    keep = [x for x in out.split("\n")[:-1] if x != line]
    return "".join(x + "\n" for x in keep)


def ok(g, line):
    out = cmd(g, line)
    assert not re.search(r"error|ERROR|No such|not ok|failed", out), \
        "%s: %s" % (line, out)
    return out


def balance_again(g, args):
    """Start balance ARGS in the background unless one runs; 1 if it
    started."""
    if not cmd(g, "btrfs balance status /").startswith("No balance"):
        return 0
    out = cmd(g, "btrfs balance start --bg %s /" % args)
    assert out == "", out
    return 1


def balance_stop(g):
    out = cmd(g, "btrfs balance cancel /")
    assert out == "" or "Not in progress" in out, out


def fsck_and_off(g):
    out = cmd(g, "fsck")
    assert re.search(r"fsck: vda generation \d+: .*: no errors", out), out
    g.send("poweroff\n")
    assert g.wait_exit() == 0


# ------------------------------------------------------------ btrfs/252

class Workload:
    """A random workload on /sv: files written, overwritten, truncated,
    renamed, hard-linked, reflinked, removed; directories made. files is
    the model: path (under /sv) -> True."""

    def __init__(self, rng):
        self.rng = rng
        self.files = {}
        self.dirs = [""]
        self.n = 0

    def new_path(self):
        self.n += 1
        return "%s/f%d" % (self.rng.choice(self.dirs), self.n)

    def step(self, g):
        r = self.rng
        op = r.randrange(9) if self.files else 0
        files = sorted(self.files)
        f = r.choice(files) if files else None
        if op in (0, 1):
            p = self.new_path()
            ok(g, "write /sv%s 0 %d %d" % (p, r.randrange(1, 300000),
                                             r.randrange(1, 1 << 30)))
            self.files[p] = True
        elif op in (2, 3):
            ok(g, "write /sv%s %d %d %d" % (f, r.randrange(0, 200000),
                                            r.randrange(1, 70000),
                                            r.randrange(1, 1 << 30)))
        elif op == 4:
            ok(g, "truncate /sv%s %d" % (f, r.randrange(0, 150000)))
        elif op == 5:
            p = self.new_path()
            ok(g, "mv /sv%s /sv%s" % (f, p))
            del self.files[f]
            self.files[p] = True
        elif op == 6:
            p = self.new_path()
            ok(g, "cp --reflink=always /sv%s /sv%s" % (f, p))
            self.files[p] = True
        elif op == 7:
            self.n += 1
            d = "%s/d%d" % (r.choice(self.dirs), self.n)
            ok(g, "mkdir /sv%s" % d)
            self.dirs.append(d)
        else:
            ok(g, "rm /sv%s" % f)
            del self.files[f]


def snapshot_sums(g, root, files):
    """path -> SHA-256 of every file of the model under root."""
    sums = {}
    paths = sorted(files)
    for i in range(0, len(paths), 16):
        out = ok(g, "sha256sum " + " ".join(root + p
                                             for p in paths[i:i + 16]))
        for m in re.finditer(r"^([0-9a-f]{64})  %s(\S+)$" % re.escape(root),
                             out, re.M):
            sums[m.group(2)] = m.group(1)
    assert len(sums) == len(paths), (root, len(sums), len(paths))
    return sums


def listing(g, root):
    out = ok(g, "find " + root)
    return sorted(x[len(root):] for x in out.split("\n") if x)


def run_252(ctx, smp, seed, nsnaps, ops):
    ctx.note("btrfs/252 shape: seed %d, %d snapshots, %d ops each, -smp %d"
             % (seed, nsnaps, ops, smp))
    img = scratch_image(IMG, (1 << 30) if LONG else 256 << 20)
    g = ctx.guest(disks=[img], smp=smp, timeout=GUEST_SECONDS)
    g.boot()
    assert "made btrfs on vda" in cmd(g, "mkfs vda --nodesize 4096")
    assert "mounted vda read-write" in cmd(g, "mount vda")
    ok(g, "btrfs subvolume create /sv")
    ok(g, "mkdir /recv")
    w = Workload(random.Random(seed))
    want = []
    for i in range(1, nsnaps + 1):
        for _ in range(ops):
            w.step(g)
        ok(g, "btrfs subvolume snapshot -r /sv /s%d" % i)
        want.append((listing(g, "/s%d" % i),
                     snapshot_sums(g, "/s%d" % i, w.files)))
    balances = 0
    for i in range(1, nsnaps + 1):
        balances += balance_again(g, "--full-balance")
        parent = "-p /s%d " % (i - 1) if i > 1 else ""
        out = cmd(g, "btrfs send %s/s%d | btrfs receive /recv"
                  % (parent, i))
        assert "At subvol /s%d" % i in out and "ERROR" not in out, \
            "seed %d step %d: %s" % (seed, i, out)
        if i > 1:
            ok(g, "btrfs subvolume delete /s%d" % (i - 1))
    balance_stop(g)
    ctx.note("%d balances started beside %d sends" % (balances, nsnaps))
    for i in range(1, nsnaps + 1):
        names, sums = want[i - 1]
        root = "/recv/s%d" % i
        assert listing(g, root) == names, "seed %d: %s" % (seed, root)
        assert snapshot_sums(g, root, sums) == sums, \
            "seed %d: %s differs" % (seed, root)
    ok(g, "btrfs subvolume sync /")
    fsck_and_off(g)
    btrfs_check(ctx, img)


def seed_252():
    """The seed: BAL252_SEED, else fixed (make test) or random (long)."""
    if "BAL252_SEED" in os.environ:
        return int(os.environ["BAL252_SEED"])
    return random.randrange(1 << 31) if LONG else 252


def test_send_252_shape_smp2(ctx):
    run_252(ctx, 2, seed_252(), 24 if LONG else 12, 30 if LONG else 6)


def test_send_252_shape_smp4(ctx):
    if not LONG:
        ctx.skip("make balance-send-long runs it")
    run_252(ctx, 4, seed_252(), 24, 30)


# ------------------------------------------------------------ btrfs/187

def run_187(ctx, smp, nfiles, rounds=0, seconds=0):
    """Rounds of sends beside a metadata balance: rounds of them, or as
    many as start within seconds (at least two)."""
    ctx.note("btrfs/187 shape: %d files with 2 KiB xattrs, %s, -smp %d"
             % (nfiles, "%d rounds" % rounds if rounds
                else "rounds for %d s" % seconds, smp))
    img = scratch_image(IMG, (6 << 30) if LONG else 256 << 20)
    g = ctx.guest(disks=[img], smp=smp, timeout=GUEST_SECONDS)
    g.boot()
    assert "made btrfs on vda" in cmd(g, "mkfs vda --nodesize 4096")
    assert "mounted vda read-write" in cmd(g, "mount vda")
    ok(g, "btrfs subvolume create /sv")
    ok(g, "mkdir /streams")
    ok(g, "mkfiles /sv/m 1 %d 100 7" % nfiles)
    names = listing(g, "/sv/m")
    files = ["/sv/m" + x for x in names if x.count("/") == 2]
    assert len(files) >= nfiles, names[:4]

    def xattrs(value):
        for i in range(0, len(files), 48):
            ok(g, "setfattr -n user.big -v %s %s"
               % (value * 2000, " ".join(files[i:i + 48])))

    xattrs("a")
    ok(g, "btrfs subvolume snapshot -r /sv /s1")
    xattrs("b")
    ok(g, "btrfs subvolume snapshot -r /sv /s2")
    balances = done = 0
    start = time.monotonic()
    while (done < rounds if rounds else
           done < 2 or time.monotonic() - start < seconds):
        balances += balance_again(g, "-m")
        out = cmd(g, "btrfs send -f /streams/full /s1")
        assert "At subvol /s1" in out and "ERROR" not in out, out
        out = cmd(g, "btrfs send -p /s1 -f /streams/inc /s2")
        assert "At subvol /s2" in out and "ERROR" not in out, out
        done += 1
    balance_stop(g)
    ctx.note("%d metadata balances started beside %d rounds in %d s"
             % (balances, done, time.monotonic() - start))
    fsck_and_off(g)
    btrfs_check(ctx, img)


def test_send_187_shape_smp2(ctx):
    if LONG:
        run_187(ctx, 2, 80000, seconds=BAL187_SECONDS)
    else:
        run_187(ctx, 2, 400, rounds=4)


def test_send_187_shape_smp4(ctx):
    if not LONG:
        ctx.skip("make balance-send-long runs it")
    run_187(ctx, 4, 80000, seconds=BAL187_SECONDS)
