#!/usr/bin/env python3
"""Turn btrfs images into seed inputs for the fuzz targets.

usage: fuzz_seed.py OUTDIR IMAGE...
       fuzz_seed.py --blocks OUTDIR IMAGE...
       fuzz_seed.py --lines OUTDIR DICT FILE...

Images: each image becomes OUTDIR/<name>.seed, a record (le32 block
number, 4096 bytes) for every 4 KiB block of the image that is not all
zeros and lies in the fuzzed device (tests/host/fuzz_image.h); images
with too many such blocks (MAX_RECORDS) are left out. Holes are skipped
with SEEK_DATA, so huge sparse images are quick.

--blocks: tree blocks cut out of each image for
tests/host/fuzz_tree_check.c: every nodesize-aligned block that carries
the superblock's fsid, as a shape byte (node size, checksum type) and the
block; at most MAX_BLOCKS per image, spread over the kinds of tree.

--lines: shell lines for tests/host/fuzz_shell.c: every double-quoted
string of FILEs whose first word is a word of the dictionary DICT (as
written by fuzz_shell with FUZZ_DICT), one seed each.
"""
import os
import re
import struct
import sys

BLOCK = 4096
DEVICE_BLOCKS = (300 << 20) // BLOCK   # FUZZ_IMAGE_SIZE
MAX_RECORDS = 480                      # the fuzzers' -max_len of 2 MB
MAX_BLOCKS = 12
SUPER = 65536
CSUM_TYPES = {0: 0, 1: 1, 2: 2, 3: 3}


def data_blocks(path, limit):
    """(block number, bytes) of every nonzero 4 KiB block below limit."""
    with open(path, "rb") as f:
        fd = f.fileno()
        end = os.fstat(fd).st_size
        off = 0
        while off < end and off // BLOCK < limit:
            try:
                start = os.lseek(fd, off, os.SEEK_DATA)
            except OSError:
                return
            stop = os.lseek(fd, start, os.SEEK_HOLE)
            start -= start % BLOCK
            f.seek(start)
            for b in range(start // BLOCK, min(-(-stop // BLOCK), limit)):
                data = f.read(BLOCK)
                if data.strip(b"\0"):
                    yield b, data.ljust(BLOCK, b"\0")
            off = max(stop, start + BLOCK)


def name_of(path):
    return os.path.basename(path).split(".img")[0]


def images(out, paths):
    for img in paths:
        recs = [struct.pack("<I", b) + d
                for b, d in data_blocks(img, DEVICE_BLOCKS)]
        if not recs or len(recs) > MAX_RECORDS:
            print("%s: %d blocks, left out" % (name_of(img), len(recs)))
            continue
        with open(os.path.join(out, name_of(img) + ".seed"), "wb") as f:
            f.write(b"".join(recs))
        print("%s: %d blocks" % (name_of(img), len(recs)))


def blocks(out, paths):
    for img in paths:
        with open(img, "rb") as f:
            f.seek(SUPER)
            sb = f.read(BLOCK)
        if len(sb) < BLOCK or sb[64:72] != b"_BHRfS_M":
            continue
        fsid = sb[32:48]
        nodesize = struct.unpack_from("<I", sb, 0x94)[0]
        csum = struct.unpack_from("<H", sb, 0xc4)[0]
        if nodesize not in (4096, 16384) or csum not in CSUM_TYPES:
            continue
        shape = bytes([(nodesize == 16384) | CSUM_TYPES[csum] << 1])
        seen = {}
        with open(img, "rb") as f:
            for b, d in data_blocks(img, 1 << 40):
                off = b * BLOCK
                if off % nodesize or d[32:48] != fsid:
                    continue
                f.seek(off)
                node = f.read(nodesize)
                owner, level = struct.unpack_from("<QB", node, 88)
                kind = (owner, level)
                if seen.get(kind, 0) >= 2 or sum(seen.values()) >= MAX_BLOCKS:
                    continue
                seen[kind] = seen.get(kind, 0) + 1
                name = "%s-%d.blk" % (name_of(img), off)
                with open(os.path.join(out, name), "wb") as o:
                    o.write(shape + node)
        print("%s: %d tree blocks" % (name_of(img), sum(seen.values())))


def lines(out, dict_path, paths):
    words = set()
    with open(dict_path) as f:
        for w in f:
            w = w.strip().strip('"').strip()
            if w and w[0].isalpha():
                words.add(w)
    found = set()
    for p in paths:
        with open(p, errors="replace") as f:
            for m in re.finditer(r'"((?:[^"\\\n]|\\.)*)"', f.read()):
                line = m.group(1).replace("\\n", "\n")
                first = line.split(" ", 1)[0]
                if first in words and "%" not in line:
                    found.add(line)
    for i, line in enumerate(sorted(found)):
        with open(os.path.join(out, "line-%d" % i), "w") as f:
            f.write(line)
    print("%d lines" % len(found))


def main():
    args = sys.argv[1:]
    mode = args.pop(0) if args and args[0].startswith("--") else None
    out = args.pop(0)
    os.makedirs(out, exist_ok=True)
    if mode == "--blocks":
        blocks(out, args)
    elif mode == "--lines":
        lines(out, args[0], args[1:])
    else:
        images(out, args)


if __name__ == "__main__":
    main()
