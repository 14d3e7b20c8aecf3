#!/usr/bin/env python3
"""Make a Linux tree-log into one ghee must refuse to replay.

usage: log_patch.py IMAGE

Turns the DIR_LOG_INDEX items (type 72) of the first tree-log leaf that
holds any into DIR_LOG_ITEM items (type 60), the kind older kernels wrote,
in every copy of the leaf (DUP metadata), and fixes the leaf's checksum.
The key order stays valid: no key of type 60..72 sits between them. The
leaf is found with `btrfs inspect-internal dump-tree` and mapped through
the chunk tree it prints (single and DUP profiles, one device).
Exits 0 when a leaf was patched, 1 when none holds such an item.
"""
import re
import struct
import subprocess
import sys

HEADER = 101            # struct btrfs_header
ITEM = 25               # struct btrfs_item: key (17), offset, size
DIR_LOG_ITEM, DIR_LOG_INDEX = 60, 72


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def dump(img, *args):
    return subprocess.run(["btrfs", "inspect-internal", "dump-tree", *args,
                           img], capture_output=True, text=True,
                          check=True).stdout


def log_leaf(img):
    """Bytenr of the first leaf of a subvolume log with a DIR_LOG_INDEX."""
    leaf, in_log = None, False
    for line in dump(img).splitlines():
        if line.startswith("log tree key"):
            in_log = True
        m = re.match(r"leaf (\d+) items", line)
        if m:
            leaf = int(m.group(1))
        if in_log and "DIR_LOG_INDEX" in line:
            return leaf
    return None


def physical(img, logical):
    """Every device offset holding logical (one per stripe)."""
    out, chunk = [], None
    for line in dump(img, "-t", "chunk").splitlines():
        m = re.search(r"CHUNK_ITEM (\d+)\)", line)
        if m:
            chunk = [int(m.group(1)), 0]
        m = re.search(r"^\s+length (\d+)", line)
        if m and chunk:
            chunk[1] = int(m.group(1))
        m = re.search(r"stripe \d+ devid \d+ offset (\d+)", line)
        if m and chunk and chunk[0] <= logical < chunk[0] + chunk[1]:
            out.append(int(m.group(1)) + logical - chunk[0])
    return out


def main():
    img = sys.argv[1]
    leaf = log_leaf(img)
    if leaf is None:
        return 1
    with open(img, "r+b") as f:
        for off in physical(img, leaf):
            f.seek(off)
            block = bytearray(f.read(16384))
            nodesize = len(block)
            nritems = struct.unpack_from("<I", block, 96)[0]
            for i in range(nritems):
                at = HEADER + i * ITEM + 8
                if block[at] == DIR_LOG_INDEX:
                    block[at] = DIR_LOG_ITEM
            struct.pack_into("<I", block, 0, crc32c(block[32:nodesize]))
            f.seek(off)
            f.write(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
