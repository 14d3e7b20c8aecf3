#!/usr/bin/env python3
"""Turn btrfs images into seed inputs for tests/host/fuzz_mount.c.

usage: fuzz_seed.py OUTDIR IMAGE...

Each image becomes OUTDIR/<name>.seed: a record (le32 block number, 4096
bytes) for every 4 KiB block of the image that is not all zeros.
"""
import os
import struct
import sys

BLOCK = 4096


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for img in sys.argv[2:]:
        recs = []
        with open(img, "rb") as f:
            n = 0
            while True:
                b = f.read(BLOCK)
                if not b:
                    break
                if b.strip(b"\0"):
                    recs.append(struct.pack("<I", n) + b.ljust(BLOCK, b"\0"))
                n += 1
        name = os.path.splitext(os.path.basename(img))[0]
        with open(os.path.join(out, name + ".seed"), "wb") as f:
            f.write(b"".join(recs))
        print("%s: %d blocks" % (name, len(recs)))


if __name__ == "__main__":
    main()
