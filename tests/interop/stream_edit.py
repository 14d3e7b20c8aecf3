#!/usr/bin/env python3
"""Make damaged copies of a btrfs send stream, for receive's error tests.

usage: stream_edit.py IN OUT EDIT
EDIT is one of:
  badcrc           flip a byte of the first write command's data (its
                   crc32c no longer matches)
  truncate         cut the stream in the middle of its third command
  badmagic         change the first byte of the header
  unknown          make the second command number 99 (crc recomputed)
  rename-to=OLD:NEW  the rename whose destination is OLD goes to NEW
                   instead (crc recomputed): "../x", "/x", "sym/x"
  mkfile-at=NEW    the first mkfile command makes NEW instead
Prints the byte offset of the damaged command (what receive must name).
Reads version 1 streams (what `btrfs send` writes by default).
"""
import struct
import sys

PATH, PATH_TO = 15, 16
C_MKFILE, C_RENAME, C_WRITE = 3, 9, 15
HEADER = 17


def crc32c(data):
    """CRC-32C with seed 0 and no final inversion, as send computes it."""
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc


def commands(buf):
    """(offset, cmd, [(type, value)]) of each command."""
    pos, out = HEADER, []
    while pos + 10 <= len(buf):
        ln, cmd, _ = struct.unpack_from("<IHI", buf, pos)
        attrs, p = [], pos + 10
        while p < pos + 10 + ln:
            t, n = struct.unpack_from("<HH", buf, p)
            attrs.append((t, bytes(buf[p + 4:p + 4 + n])))
            p += 4 + n
        out.append((pos, cmd, attrs))
        pos += 10 + ln
    return out


def encode(cmd, attrs):
    body = b"".join(struct.pack("<HH", t, len(v)) + v for t, v in attrs)
    raw = struct.pack("<IHI", len(body), cmd, 0) + body
    return raw[:6] + struct.pack("<I", crc32c(raw)) + raw[10:]


def replace(buf, at, old_len, new):
    return buf[:at] + new + buf[at + old_len:]


def main():
    src, dst, edit = sys.argv[1:4]
    buf = bytearray(open(src, "rb").read())
    cmds = commands(buf)
    sizes = {c[0]: 10 + struct.unpack_from("<I", buf, c[0])[0] for c in cmds}
    if edit == "badcrc":
        at = next(c[0] for c in cmds if c[1] == C_WRITE)
        buf[at + sizes[at] - 1] ^= 0xFF
    elif edit == "truncate":
        at = cmds[2][0]
        buf = buf[:at + sizes[at] // 2]
    elif edit == "badmagic":
        at = 0
        buf[0] ^= 0x20
    elif edit == "unknown":
        at, _, attrs = cmds[1]
        buf = replace(buf, at, sizes[at], encode(99, attrs))
    elif edit.startswith("rename-to="):
        old, new = edit[len("rename-to="):].split(":")
        at, _, attrs = next(c for c in cmds if c[1] == C_RENAME and
                            (PATH_TO, old.encode()) in c[2])
        attrs = [(t, new.encode() if t == PATH_TO else v) for t, v in attrs]
        buf = replace(buf, at, sizes[at], encode(C_RENAME, attrs))
    elif edit.startswith("mkfile-at="):
        new = edit[len("mkfile-at="):].encode()
        at, _, attrs = next(c for c in cmds if c[1] == C_MKFILE)
        attrs = [(t, new if t == PATH else v) for t, v in attrs]
        buf = replace(buf, at, sizes[at], encode(C_MKFILE, attrs))
    else:
        sys.exit("unknown edit " + edit)
    open(dst, "wb").write(buf)
    print(at)


if __name__ == "__main__":
    main()
