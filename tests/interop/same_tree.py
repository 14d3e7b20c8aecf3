#!/usr/bin/env python3
"""Compare two directory trees the way receive must reproduce one.

usage: same_tree.py WANT GOT
For every path under WANT and GOT (not crossing into WANT's or GOT's
mount-point-like nested subvolumes, which send skips): type, permission
bits, uid, gid, size (files, symlinks), device number, symlink target,
sha256 of file data, extended attributes, atime and mtime to the
nanosecond (not of the top directory's atime), and which paths are hard
links of one inode. Prints '#' lines for the first differences; exits 0
when the trees are the same, 1 if not.
"""
import hashlib
import os
import stat
import sys


def describe(top):
    """path -> its attributes; and the hard-link groups (sets of paths)."""
    res, inodes = {}, {}
    for root, dirs, files in os.walk(top):
        rel = root[len(top):]
        for n in ([""] if rel == "" else []) + dirs + files:
            p = rel + "/" + n if n else "/"
            st = os.lstat(top + p)
            kind = stat.S_IFMT(st.st_mode)
            extra, size = "", st.st_size
            if stat.S_ISDIR(st.st_mode):
                size = None
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(top + p)
            elif stat.S_ISREG(st.st_mode):
                with open(top + p, "rb") as f:
                    extra = hashlib.sha256(f.read()).hexdigest()
            else:
                extra = st.st_rdev
            xattrs = sorted((x, os.getxattr(top + p, x,
                                            follow_symlinks=False))
                            for x in os.listxattr(top + p,
                                                  follow_symlinks=False))
            atime = None if p == "/" else st.st_atime_ns
            res[p] = (kind, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                      size, extra, tuple(xattrs), atime, st.st_mtime_ns)
            if not stat.S_ISDIR(st.st_mode):
                inodes.setdefault(st.st_ino, set()).add(p)
    links = {frozenset(g) for g in inodes.values() if len(g) > 1}
    return res, links


def main():
    want, got = sys.argv[1:3]
    (a, la), (b, lb) = describe(want), describe(got)
    bad = 0
    for p in sorted(set(a) | set(b)):
        if a.get(p) != b.get(p):
            bad += 1
            if bad <= 8:
                print("# %s: want %s got %s" % (p, a.get(p), b.get(p)))
    if la != lb:
        bad += 1
        print("# hard links: want %s got %s" % (sorted(map(sorted, la)),
                                                 sorted(map(sorted, lb))))
    print("# %d paths, %d hard-link groups compared, %d differ" %
          (len(a), len(la), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
