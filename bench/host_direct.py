#!/usr/bin/env python3
"""The host's own raw ceiling for bench/blk.sh's sequential rows.

host_direct.py FILE SECONDS: O_DIRECT 1 MiB writes, then reads, one at a
time (QD 1) over the first GiB of FILE, wrapping, for SECONDS each, the
same shape as ghee's `blk bench vda seq write|read 1M 1`; prints
`RESULT host_direct_write_1M N MiB/s` and the read's line.

The buffer lies in a transparent huge page, as a QEMU guest's RAM does:
the host pins a 4 KiB-page buffer page by page for every O_DIRECT call,
which made the old ceiling (dd's malloc'd buffer) read at 1.6-1.9 GB/s
where QEMU, reading into the guest's huge pages with the same one pread
of 1 MiB per request (strace), reached 2.4 GB/s.
"""
import mmap
import os
import sys
import time

MIB = 1 << 20
SPAN = 1 << 30


def rate(fd, op, buf, seconds):
    n = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        op(fd, [buf], (n * MIB) % SPAN)
        n += 1
    if op is os.pwritev:
        os.fsync(fd)    # ghee's write row ends with a flush, too
    return n / (time.monotonic() - t0)


def main():
    path, seconds = sys.argv[1], float(sys.argv[2])
    area = mmap.mmap(-1, 4 * MIB)
    area.madvise(mmap.MADV_HUGEPAGE)
    area.write(b"\x5a" * (4 * MIB))
    buf = memoryview(area)[2 * MIB:3 * MIB]  # inside one 2 MiB page
    fd = os.open(path, os.O_RDWR | os.O_DIRECT)
    try:
        for name, op in (("write", os.pwritev), ("read", os.preadv)):
            print("RESULT host_direct_%s_1M %.2f MiB/s"
                  % (name, rate(fd, op, buf, seconds)))
    finally:
        os.close(fd)


if __name__ == "__main__":
    main()
