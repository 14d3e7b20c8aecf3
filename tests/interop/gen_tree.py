#!/usr/bin/env python3
"""Generate a source tree for tests/interop/run.sh.

usage: gen_tree.py DEST full|small

"small": files of many sizes, sparse and empty files, symlinks, hard links,
an 8-level-deep directory and names with spaces, UTF-8 and odd bytes.
"full": all of that plus a 20,000-entry directory and a 48 MiB file.
Contents are pseudo-random from a fixed seed, so runs are repeatable.
"""
import os
import random
import sys


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def sparse(path, size, chunks):
    """A file of `size` bytes with data only at (offset, bytes) chunks."""
    with open(path, "wb") as f:
        f.truncate(size)
        for off, data in chunks:
            f.seek(off)
            f.write(data)


def main():
    dest, kind = os.fsencode(sys.argv[1]), sys.argv[2]
    rnd = random.Random(5)
    os.makedirs(dest, exist_ok=True)
    os.chdir(dest)

    os.mkdir(b"sizes")
    for n in (0, 1, 100, 2047, 2048, 4095, 4096, 4097, 8191, 65536,
              100000, 131073, 1048576 + 17):
        write(b"sizes/f%d" % n, rnd.randbytes(n))
    write(b"text.txt", b"hello, ghee\n" * 1000)

    sparse(b"hole_start", 1 << 20, [((1 << 20) - 4096, rnd.randbytes(4096))])
    sparse(b"hole_middle", 3 << 20, [(0, rnd.randbytes(8192)),
                                    ((2 << 20) + 100, rnd.randbytes(5000))])
    sparse(b"hole_end", 2 << 20, [(0, rnd.randbytes(4096))])
    sparse(b"all_hole", 5 << 20, [])
    sparse(b"unaligned_sparse", 70000, [(12345, b"x" * 333)])

    write(b"empty", b"")
    os.mkdir(b"emptydir")
    os.mkdir(b"d")
    write(b"d/empty2", b"")

    os.symlink(b"sizes/f100", b"link_rel")
    os.symlink(b"/sizes/f4096", b"link_abs")
    os.symlink(b"does/not/exist", b"link_dangling")
    os.symlink(b"sizes", b"link_dir")
    os.symlink(b"link_rel", b"link_chain")
    os.symlink(b"../text.txt", b"d/link_up")

    write(b"hard1", rnd.randbytes(10000))
    os.link(b"hard1", b"d/hard2")

    deep = b"/".join(b"level%d" % i for i in range(1, 9))
    os.makedirs(deep)
    write(deep + b"/bottom", b"eight levels down\n")

    os.mkdir(b"names")
    for name in (b"name with spaces", b"  leading and trailing  ",
                 "ünïcödé_名前_✓".encode(), b"odd\x01\x7f\xfe\xffbytes",
                 b"quote\"and'back\\slash", b"tab\tname", b"-dash",
                 b"#hash", b"x" * 255):
        write(b"names/" + name, name * 3)

    if kind == "full":
        write(b"large.bin", rnd.randbytes(48 << 20))
        os.mkdir(b"many")
        for i in range(20000):
            write(b"many/entry_%05d" % i, b"%d\n" % i)


if __name__ == "__main__":
    main()
