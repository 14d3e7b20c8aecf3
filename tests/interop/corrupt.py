#!/usr/bin/env python3
"""Helpers that damage btrfs images for the bad-input cases of run.sh.

usage:
  corrupt.py phys IMAGE LOGICAL    physical offsets of every copy, one a line
  corrupt.py flip IMAGE OFFSET...  invert one byte at each byte offset
  corrupt.py block IMAGE TREE KIND  logical address of a block of TREE
                                   (KIND: root, node = a non-root node if
                                   any, leaf = a middle leaf)
  corrupt.py data IMAGE             logical address of the first regular
                                   extent of the fs tree (disk byte)
Addresses come from btrfs-progs' dump-tree and dump-super output, so the
damage lands where btrfs-progs itself says the structure is.
"""
import re
import subprocess
import sys


def dump(image, *args):
    return subprocess.run(["btrfs", "inspect-internal"] + list(args) +
                          [image], capture_output=True, text=True,
                          errors="replace",
                          check=True).stdout


def chunks(image):
    """(logical, length, [physical...]) for every chunk."""
    out, cur = [], None
    for line in dump(image, "dump-tree", "-t", "chunk").splitlines():
        m = re.search(r"key \(FIRST_CHUNK_TREE CHUNK_ITEM (\d+)\)", line)
        if m:
            cur = [int(m.group(1)), 0, []]
            out.append(cur)
            continue
        m = re.search(r"^\s+length (\d+) owner", line)
        if m and cur:
            cur[1] = int(m.group(1))
        m = re.search(r"stripe \d+ devid \d+ offset (\d+)", line)
        if m and cur:
            cur[2].append(int(m.group(1)))
    return out


def phys(image, logical):
    for start, length, stripes in chunks(image):
        if start <= logical < start + length:
            return [p + logical - start for p in stripes]
    raise SystemExit("logical %d not mapped" % logical)


def block(image, tree, kind):
    blocks = re.findall(r"^(node|leaf) (\d+) (?:level (\d+) )?items",
                        dump(image, "dump-tree", "-t", tree), re.M)
    if kind == "root":
        return int(blocks[0][1])
    if kind == "node":
        # Prefer an interior node below the root.
        nodes = [int(b[1]) for b in blocks if b[0] == "node"]
        return nodes[1] if len(nodes) > 1 else nodes[0]
    leaves = [int(b[1]) for b in blocks if b[0] == "leaf"]
    return leaves[len(leaves) // 2] if len(leaves) > 1 else leaves[0]


def data(image):
    for m in re.finditer(r"extent data disk byte (\d+) nr",
                         dump(image, "dump-tree", "-t", "fs")):
        if int(m.group(1)):
            return int(m.group(1))
    raise SystemExit("no regular extent")


def flip(image, offsets):
    with open(image, "r+b") as f:
        for off in offsets:
            f.seek(off)
            b = f.read(1)
            f.seek(off)
            f.write(bytes([b[0] ^ 0xFF]))


def main():
    cmd, image = sys.argv[1], sys.argv[2]
    if cmd == "phys":
        print("\n".join(str(p) for p in phys(image, int(sys.argv[3]))))
    elif cmd == "flip":
        flip(image, [int(x) for x in sys.argv[3:]])
    elif cmd == "block":
        print(block(image, sys.argv[3], sys.argv[4]))
    elif cmd == "data":
        print(data(image))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
