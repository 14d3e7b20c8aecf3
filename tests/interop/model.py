#!/usr/bin/env python3
"""In-memory-model tests of ghee's write path (driven by write.sh).

The model is a real directory on the host: every operation is applied to
it with os calls and, as a shell command, to the image through build/ghee,
so that compare.py (ghee's view) and `compare` below (Linux's view) can
check the image against it.

  model.py gen SEED NOPS MODEL SCRIPT
      Make MODEL from nothing with NOPS seeded random operations (create,
      mkdir, write overwrite/append/sparse/past EOF, truncate up/down,
      unlink, rmdir, rename within/across directories replacing targets,
      hard link, symlink, chmod, chown, extended attributes set, replaced
      and removed, device nodes and FIFOs, clone of ranges with Linux's
      FICLONERANGE rules, cp --reflink, subvolume create, writable
      snapshot of a subvolume (or of the top level) holding no other
      subvolume, subvolume delete), a sync now and then, and every path's
      times set at the end; write the same as ghee commands to SCRIPT.
      Links and renames stay inside one subvolume; a subvolume's root is
      never unlinked or renamed (ghee, like Linux, refuses those).
  model.py compare MOUNT MODEL
      Compare a Linux mount with MODEL: paths, types, modes, sizes, link
      counts, symlink targets, mtimes, data, device numbers, owners and
      extended attributes.
  model.py linux-writes MOUNT MODEL SEED
      A few writes through Linux (new file, append, unlink, mkdir, rename,
      an extended attribute, a FIFO, a reflinked copy),
      done to MOUNT and MODEL alike, then times set again on both.
  model.py same A B
      Compare two trees (a subvolume and what receive made of its send
      stream) as describe() does, leaving out other subvolumes below A,
      and also times in nanoseconds, holes and hard links.
  model.py times-script MODEL OUT
      ghee utimes commands giving the image MODEL's times.

The data written by `write PATH OFF LEN SEED` is pattern(SEED, offset),
the generator of shell/cmd_fs_write.c.
"""
import base64
import errno
import fcntl
import hashlib
import os
import random
import shutil
import stat
import struct
import subprocess
import sys

M64 = (1 << 64) - 1
TIME_BASE = 1600000000


def pattern(seed, off, n):
    """n bytes of the write pattern of seed from file offset off."""
    first, last = off >> 3, (off + n - 1) >> 3
    words = []
    base = (seed * 0x9E3779B97F4A7C15) & M64
    for w in range(first, last + 1):
        x = (base + w + 1) & M64
        x ^= x >> 31
        x = (x * 0xBF58476D1CE4E5B9) & M64
        x ^= x >> 29
        words.append(x)
    buf = struct.pack("<%dQ" % len(words), *words)
    return buf[off & 7:(off & 7) + n]


class Gen:
    """Random operations on the model directory, echoed as ghee commands."""

    def __init__(self, seed, model, out):
        self.r = random.Random(seed)
        self.seed = seed
        self.model = model
        self.out = out
        self.wseed = 0
        self.nlinks = {}
        self.subvols = set()    # model paths that are subvolumes

    def subvol_of(self, p):
        """The subvolume holding path p ("/" for the top level)."""
        best = "/"
        for s in self.subvols:
            if (p == s or p.startswith(s + "/")) and len(s) > len(best):
                best = s
        return best

    def holds_subvol(self, p):
        return any(s.startswith(p.rstrip("/") + "/") for s in self.subvols)

    def host(self, p):
        return self.model + p

    def cmd(self, line):
        self.out.write(line + "\n")

    def walk(self):
        """(path, lstat) of everything below / (not / itself)."""
        res = []
        for root, dirs, files in os.walk(self.model):
            rel = root[len(self.model):] or "/"
            for n in dirs + files:
                p = rel.rstrip("/") + "/" + n
                res.append((p, os.lstat(self.model + p)))
        res.sort()
        return res

    def name(self):
        r = self.r
        if r.random() < 0.08:
            n = r.randint(60, 200)
        else:
            n = r.randint(1, 12)
        alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
        s = "".join(r.choice(alpha) for _ in range(n))
        return "n" + s if s in (".", "..") or s[0] == "-" else s

    def kind(self, p):
        """S_IFMT of p now (entries may be a few operations old), or 0."""
        try:
            return stat.S_IFMT(os.lstat(self.host(p)).st_mode)
        except FileNotFoundError:
            return 0

    def pick(self, kinds, entries):
        c = [p for p, st in entries if stat.S_IFMT(st.st_mode) in kinds]
        p = self.r.choice(c) if c else None
        return p if p and self.kind(p) in kinds else None

    def dirs(self, entries):
        return ["/"] + [p for p, st in entries if stat.S_ISDIR(st.st_mode)]

    def new_path(self, entries):
        d = self.r.choice(self.dirs(entries))
        if self.kind(d) != stat.S_IFDIR:
            return None
        for _ in range(5):
            p = d.rstrip("/") + "/" + self.name()
            if not os.path.lexists(self.host(p)):
                return p
        return None

    # --- operations; each returns True when it did something -----------
    def op_create(self, e):
        p = self.new_path(e)
        if not p:
            return False
        open(self.host(p), "wb").close()
        os.chmod(self.host(p), 0o644)
        self.cmd("touch %s" % p)
        return True

    def op_bulk_create(self, e):
        d = self.r.choice(self.dirs(e))
        if self.kind(d) != stat.S_IFDIR:
            return False
        names = set(self.name() for _ in range(self.r.randint(5, 30)))
        paths = [d.rstrip("/") + "/" + n for n in sorted(names)]
        paths = [p for p in paths if not os.path.lexists(self.host(p))]
        if not paths:
            return False
        for p in paths:
            open(self.host(p), "wb").close()
            os.chmod(self.host(p), 0o644)
        line = "touch"
        for p in paths:
            if len(line) + len(p) > 3000:
                self.cmd(line)
                line = "touch"
            line += " " + p
        self.cmd(line)
        return True

    def op_mkdir(self, e):
        p = self.new_path(e)
        if not p:
            return False
        os.mkdir(self.host(p), 0o755)
        os.chmod(self.host(p), 0o755)
        self.cmd("mkdir %s" % p)
        return True

    def op_write(self, e):
        p = self.pick((stat.S_IFREG,), e)
        if not p:
            return self.op_create(e)
        size = os.lstat(self.host(p)).st_size
        r = self.r
        kind = r.choice(["over", "append", "sparse", "small", "small",
                         "big"])
        n = r.choice([r.randint(1, 4000), r.randint(1, 40000),
                      r.randint(4096, 100000)])
        if kind == "over":
            off = r.randint(0, size) if size else 0
        elif kind == "append":
            off = size
        elif kind == "sparse":
            off = size + r.randint(1, 3 << 20)
        elif kind == "small":
            off, n = r.randint(0, 3000), r.randint(1, 1000)
        else:
            off, n = r.randint(0, 1 << 20), r.randint(1 << 17, 3 << 17)
        self.wseed += 1
        seed = self.seed * 100000 + self.wseed
        with open(self.host(p), "r+b") as f:
            f.seek(off)
            f.write(pattern(seed, off, n))
        self.cmd("write %s %d %d %d" % (p, off, n, seed))
        return True

    def op_truncate(self, e):
        p = self.pick((stat.S_IFREG,), e)
        if not p:
            return False
        size = os.lstat(self.host(p)).st_size
        r = self.r
        new = r.choice([0, r.randint(0, size), size + r.randint(1, 1 << 20),
                        max(0, size - r.randint(1, 5000))])
        os.truncate(self.host(p), new)
        self.cmd("truncate %s %d" % (p, new))
        return True

    def op_unlink(self, e):
        p = self.pick((stat.S_IFREG, stat.S_IFLNK, stat.S_IFIFO,
                       stat.S_IFCHR, stat.S_IFBLK), e)
        if not p:
            return False
        os.unlink(self.host(p))
        self.cmd("rm %s" % p)
        return True

    def op_rmdir(self, e):
        c = [p for p, st in e if self.kind(p) == stat.S_IFDIR and
             p not in self.subvols and not os.listdir(self.host(p))]
        if not c:
            return False
        p = self.r.choice(c)
        os.rmdir(self.host(p))
        self.cmd("rm -r %s" % p)
        return True

    def op_rename(self, e):
        if not e:
            return False
        src, _ = self.r.choice(e)
        if not self.kind(src) or src in self.subvols or \
                self.holds_subvol(src):
            return False
        st = os.lstat(self.host(src))
        isdir = stat.S_ISDIR(st.st_mode)
        dst = None
        if self.r.random() < 0.4:
            # replace a target of a compatible type
            for p, _ in self.r.sample(e, min(len(e), 20)):
                if p == src or p.startswith(src + "/") or \
                        src.startswith(p + "/") or not self.kind(p) or \
                        p in self.subvols or \
                        self.subvol_of(p) != self.subvol_of(src):
                    continue
                t = os.lstat(self.host(p))
                if isdir and stat.S_ISDIR(t.st_mode) and \
                        not os.listdir(self.host(p)):
                    dst = p
                elif not isdir and not stat.S_ISDIR(t.st_mode) and \
                        t.st_ino != st.st_ino:
                    dst = p
                if dst:
                    break
        if not dst:
            dst = self.new_path(e)
            if not dst or (isdir and (dst + "/").startswith(src + "/")):
                return False
        if self.subvol_of(dst) != self.subvol_of(src):
            return False
        os.rename(self.host(src), self.host(dst))
        self.cmd("mv %s %s" % (src, dst))
        return True

    def op_link(self, e):
        p = self.pick((stat.S_IFREG,), e)
        if not p or os.lstat(self.host(p)).st_nlink >= 12:
            return False
        q = self.new_path(e)
        if not q or self.subvol_of(q) != self.subvol_of(p):
            return False
        os.link(self.host(p), self.host(q))
        self.cmd("ln %s %s" % (p, q))
        return True

    def op_symlink(self, e):
        q = self.new_path(e)
        if not q:
            return False
        t = self.r.choice([p for p, _ in e] + ["nowhere", "../x/y"]) \
            if e else "nowhere"
        os.symlink(t, self.host(q))
        self.cmd("ln -s %s %s" % (t, q))
        return True

    def op_chmod(self, e):
        p = self.pick((stat.S_IFREG, stat.S_IFDIR), e)
        if not p:
            return False
        mode = self.r.choice([0o600, 0o644, 0o755, 0o700, 0o640, 0o4755,
                              0o1777, 0o444])
        if stat.S_ISDIR(os.lstat(self.host(p)).st_mode):
            mode |= 0o700
        os.chmod(self.host(p), mode)
        self.cmd("chmod %o %s" % (mode, p))
        return True

    def op_subvol_create(self, e):
        p = self.new_path(e)
        if not p:
            return False
        os.mkdir(self.host(p), 0o755)
        os.chmod(self.host(p), 0o755)
        self.subvols.add(p)
        self.cmd("subvolume create %s" % p)
        return True

    def op_snapshot(self, e):
        src = self.r.choice(["/"] + sorted(self.subvols))
        dst = self.new_path(e)
        if not dst or self.holds_subvol(src) or \
                dst.startswith(src.rstrip("/") + "/"):
            return False
        # cp -a keeps the hard links inside the copy, as a snapshot does.
        subprocess.run(["cp", "-a", self.host(src), self.host(dst)],
                       check=True)
        self.subvols.add(dst)
        self.cmd("subvolume snapshot %s %s" % (src, dst))
        return True

    def op_subvol_delete(self, e):
        c = [s for s in sorted(self.subvols) if not self.holds_subvol(s)]
        if not c:
            return False
        p = self.r.choice(c)
        shutil.rmtree(self.host(p))
        self.subvols.remove(p)
        self.cmd("subvolume delete %s" % p)
        return True

    XATTR_NAMES = ["user.a", "user.bb", "user.mime_type", "user." + "x" * 200,
                   "trusted.t", "security.s"]

    def op_setfattr(self, e):
        """Set or replace an extended attribute ("user." only on files and
        directories, as Linux allows), or remove one."""
        p = self.pick((stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK,
                       stat.S_IFIFO, stat.S_IFCHR), e)
        if not p:
            return False
        r, h = self.r, self.host(p)
        names = self.XATTR_NAMES
        if not stat.S_ISREG(os.lstat(h).st_mode) and \
                not stat.S_ISDIR(os.lstat(h).st_mode):
            names = [n for n in names if not n.startswith("user.")]
        have = os.listxattr(h, follow_symlinks=False)
        if have and r.random() < 0.25:
            n = r.choice(have)
            os.removexattr(h, n, follow_symlinks=False)
            self.cmd("setfattr -h -x %s %s" % (n, p))
            return True
        n = r.choice(names)
        size = r.choice([0, r.randint(1, 60), r.randint(1, 400),
                         r.randint(1000, 1500)])
        v = bytes(r.getrandbits(8) for _ in range(size))
        try:
            os.setxattr(h, n, v, follow_symlinks=False)
        except OSError as ex:
            # the model's ext4 holds one block of xattrs per inode
            if ex.errno != errno.ENOSPC:
                raise
            return False
        arg = " -v 0s" + base64.b64encode(v).decode() if v else ""
        self.cmd("setfattr -h -n %s%s %s" % (n, arg, p))
        return True

    def op_chown(self, e):
        if not e:
            return False
        p, _ = self.r.choice(e)
        if not self.kind(p):
            return False
        uid, gid = self.r.choice([0, 1000, 65534, 123456]), \
            self.r.choice([0, 100, 65534, 7])
        os.chown(self.host(p), uid, gid, follow_symlinks=False)
        self.cmd("chown -h %d:%d %s" % (uid, gid, p))
        return True

    def op_mknod(self, e):
        p = self.new_path(e)
        if not p:
            return False
        kind = self.r.choice("pcb")
        if kind == "p":
            os.mkfifo(self.host(p), 0o644)
            self.cmd("mkfifo %s" % p)
            return True
        major, minor = self.r.randint(0, 4095), self.r.randint(0, 1048575)
        os.mknod(self.host(p), (stat.S_IFCHR if kind == "c" else
                                stat.S_IFBLK) | 0o644,
                 os.makedev(major, minor))
        self.cmd("mknod %s %s %d %d" % (p, kind, major, minor))
        return True

    def clone_args(self, e):
        """A (src, src_off, len, dst, dst_off) that Linux's FICLONERANGE
        takes, or None."""
        r, bs = self.r, 4096
        src = None
        for _ in range(10):     # many files are empty: find one that is not
            src = self.pick((stat.S_IFREG,), e)
            if src and os.lstat(self.host(src)).st_size:
                break
        dst = self.pick((stat.S_IFREG,), e)
        if not src or not dst:
            return None
        ss, ds = os.lstat(self.host(src)).st_size, \
            os.lstat(self.host(dst)).st_size
        if ss == 0:
            return None
        soff = r.randint(0, (ss - 1) // bs) * bs
        if r.random() < 0.5:
            n = 0                                  # to the end of src
        else:
            n = r.randint(1, max(1, (ss - soff) // bs)) * bs
            if soff + n > ss:
                n = 0
        blen = (ss - soff + bs - 1) // bs * bs if n == 0 else n
        top = max(ds, ss) + (1 << 20)
        doff = r.randint(0, top // bs) * bs
        if n == 0 and ss % bs and doff + (ss - soff) < ds:
            doff = (ds + bs - 1) // bs * bs        # EOF block: only at EOF
        same = os.lstat(self.host(src)).st_ino == \
            os.lstat(self.host(dst)).st_ino
        if same and doff < soff + blen and soff < doff + blen:
            return None
        return src, soff, n, dst, doff

    def op_clone(self, e):
        a = self.clone_args(e)
        if not a:
            return False
        src, soff, n, dst, doff = a
        with open(self.host(src), "rb") as f:
            f.seek(soff)
            data = f.read(n) if n else f.read()
        with open(self.host(dst), "r+b") as f:
            f.seek(doff)
            f.write(data)
        self.cmd("clone %s %d %d %s %d" % (src, soff, n, dst, doff))
        return True

    def op_cp_reflink(self, e):
        src = self.pick((stat.S_IFREG,), e)
        dst = self.new_path(e)
        if not src or not dst:
            return False
        with open(self.host(src), "rb") as f:
            data = f.read()
        with open(self.host(dst), "wb") as f:
            f.write(data)
        os.chmod(self.host(dst), 0o644)
        self.cmd("cp --reflink=%s %s %s" % (self.r.choice(
            ["always", "auto"]), src, dst))
        return True

    def run(self, nops):
        ops = [(self.op_create, 10), (self.op_bulk_create, 4),
               (self.op_mkdir, 6), (self.op_write, 22),
               (self.op_truncate, 6), (self.op_unlink, 6),
               (self.op_rmdir, 2), (self.op_rename, 10), (self.op_link, 6),
               (self.op_symlink, 4), (self.op_chmod, 4),
               (self.op_setfattr, 6), (self.op_chown, 3),
               (self.op_mknod, 2), (self.op_clone, 6),
               (self.op_cp_reflink, 2),
               (self.op_subvol_create, 1), (self.op_snapshot, 1),
               (self.op_subvol_delete, 1)]
        fns = [f for f, w in ops for _ in range(w)]
        done = 0
        entries = self.walk()
        while done < nops:
            if self.r.choice(fns)(entries):
                done += 1
                if done % 10 == 0:
                    entries = self.walk()
                if done % 300 == 0:
                    self.cmd("sync")


def set_times(model):
    """Give every path of model its deterministic times, in sorted path
    order (hard links share an inode: the last path sets it); return
    them."""
    paths = ["/"]
    for root, dirs, files in os.walk(model):
        rel = root[len(model):] or "/"
        paths += [rel.rstrip("/") + "/" + n for n in dirs + files]
    times = []
    for p in sorted(paths):
        t = TIME_BASE + int(hashlib.sha256(p.encode()).hexdigest()[:6], 16)
        os.utime(model + p, (t, t), follow_symlinks=False)
        times.append((p, t))
    return times


def times_script(model, out):
    with open(out, "w") as f:
        for p, t in set_times(model):
            f.write("utimes %s %d %d\n" % (p, t, t))


def other_subvol(path):
    """Whether directory path is the root of another subvolume (256) or
    the empty stand-in a snapshot shows for one (2): a send leaves both
    out."""
    return os.lstat(path).st_ino in (2, 256)


def describe(top, prune=False):
    """path -> (type, mode, size, nlink, mtime, target, sha256 or device
    number, uid, gid, extended attributes). prune: leave out subvolumes
    below top."""
    res = {}
    for root, dirs, files in os.walk(top):
        if prune:
            dirs[:] = [d for d in dirs
                       if not other_subvol(os.path.join(root, d))]
        rel = root[len(top):] or "/"
        for n in [None] + dirs + files:
            if n is None and rel != "/":
                continue
            p = rel if n is None else rel.rstrip("/") + "/" + n
            st = os.lstat(top + p)
            fmt = stat.S_IFMT(st.st_mode)
            if stat.S_ISDIR(st.st_mode):
                extra, size, nlink = "", 0, 0
            elif stat.S_ISLNK(st.st_mode):
                extra, size, nlink = os.readlink(top + p), st.st_size, 1
            elif not stat.S_ISREG(st.st_mode):
                extra, size, nlink = st.st_rdev, 0, st.st_nlink
            else:
                with open(top + p, "rb") as f:
                    extra = hashlib.sha256(f.read()).hexdigest()
                size, nlink = st.st_size, st.st_nlink
            xattrs = sorted((n, os.getxattr(top + p, n,
                                            follow_symlinks=False))
                            for n in os.listxattr(top + p,
                                                  follow_symlinks=False))
            res[p] = (fmt, stat.S_IMODE(st.st_mode), size, nlink,
                      int(st.st_mtime), extra, st.st_uid, st.st_gid,
                      tuple(xattrs))
    return res


def compare(mount, model):
    a, b = describe(mount), describe(model)
    bad = 0
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            bad += 1
            if bad <= 10:
                print("# linux differs at %s: linux %s model %s" %
                      (p, a.get(p), b.get(p)))
    print("# linux view: %d paths compared, %d differ" % (len(b), bad))
    return 1 if bad else 0


def data_map(path):
    """The 4 KiB blocks of file path that hold data, as SEEK_DATA and
    SEEK_HOLE show them, leaving out blocks of zeros (a filesystem may
    allocate the zeroed tail of a file's old last block when it grows),
    as merged ranges."""
    ranges, off = [], 0
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        while off < size:
            try:
                start = os.lseek(f.fileno(), off, os.SEEK_DATA)
            except OSError:
                break
            off = os.lseek(f.fileno(), start, os.SEEK_HOLE)
            f.seek(start)
            for b in range(start, off, 4096):
                if f.read(min(4096, off - b)).strip(b"\0"):
                    if ranges and ranges[-1][1] == b:
                        ranges[-1] = (ranges[-1][0], min(b + 4096, off))
                    else:
                        ranges.append((b, min(b + 4096, off)))
    return tuple(ranges)


def deep_describe(top):
    """describe(top, prune=True) plus what a send must also carry: times
    in nanoseconds (atime, mtime), the data/hole layout of files, and
    which paths are one inode (hard links)."""
    res = describe(top, prune=True)
    inodes = {}
    for p in res:
        st = os.lstat(top + p)
        extra = ()
        if stat.S_ISREG(st.st_mode):
            extra = data_map(top + p)
            inodes.setdefault(st.st_ino, []).append(p)
        res[p] = res[p] + (st.st_atime_ns, st.st_mtime_ns, extra)
    res["hard links"] = sorted(tuple(sorted(v)) for v in inodes.values()
                               if len(v) > 1)
    return res


def same(a, b):
    """Compare trees a and b (a sent and a received subvolume) with
    deep_describe."""
    da, db = deep_describe(a), deep_describe(b)
    bad = 0
    for p in sorted(set(da) | set(db)):
        if da.get(p) != db.get(p):
            bad += 1
            if bad <= 10:
                print("# differs at %s: %s %s / %s %s" %
                      (p, a, da.get(p), b, db.get(p)))
    print("# %d paths compared, %d differ" % (len(da), bad))
    return 1 if bad or len(da) < 2 else 0


def reflink(src, dst, share):
    """Copy src to dst: sharing its extents (FICLONE) when share, which
    must then work, else byte by byte (the model's filesystem)."""
    with open(src, "rb") as f, open(dst, "wb") as g:
        if share:
            fcntl.ioctl(g.fileno(), 0x40049409, f.fileno())    # FICLONE
        else:
            g.write(f.read())
    os.chmod(dst, 0o644)


def linux_writes(mount, model, seed):
    r = random.Random(seed)
    for top in (mount, model):
        rr = random.Random(seed)
        os.mkdir(top + "/linux_dir")
        with open(top + "/linux_dir/new", "wb") as f:
            f.write(pattern(seed, 0, rr.randint(1, 200000)))
        files = sorted(p for p, v in describe(top).items()
                       if v[0] == stat.S_IFREG and not p.startswith(
                           "/linux_dir"))
        if files:
            with open(top + rr.choice(files), "ab") as f:
                f.write(pattern(seed + 1, 0, rr.randint(1, 50000)))
            victim = rr.choice(files)
            if os.path.lexists(top + victim):
                os.unlink(top + victim)
        os.rename(top + "/linux_dir/new", top + "/linux_dir/renamed")
        os.setxattr(top + "/linux_dir/renamed", "user.linux", b"wrote-this")
        os.mkfifo(top + "/linux_dir/fifo", 0o600)
        if files and os.path.lexists(top + files[0]):
            reflink(top + files[0], top + "/linux_dir/reflinked",
                    top == mount)
    del r
    set_times(mount)
    set_times(model)
    return 0


def main():
    a = sys.argv[1:]
    if a[0] == "gen":
        seed, nops, model, script = int(a[1]), int(a[2]), a[3], a[4]
        os.makedirs(model)
        os.chmod(model, 0o755)
        with open(script, "w") as out:
            Gen(seed, model, out).run(nops)
        return 0
    if a[0] == "times-script":
        times_script(a[1], a[2])
        return 0
    if a[0] == "compare":
        return compare(a[1], a[2])
    if a[0] == "same":
        return same(a[1], a[2])
    if a[0] == "linux-writes":
        return linux_writes(a[1], a[2], int(a[3]))
    print("usage: see the top of model.py", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
