#!/usr/bin/env python3
"""Run QEMU with a scripted serial console: serial_feed.py QEMU [ARGS...]

QEMU's output is copied to our standard output as it comes. Our standard
input is held back until ghee prints its first prompt, so that firmware and
boot loaders (SeaBIOS, OVMF, GRUB), which may read or reset the serial port
while they run, cannot eat the script. Then the script is copied to QEMU,
and at its end an end-of-input byte (Ctrl-D) tells the shell to power off.
Exits with QEMU's status.
"""
import os
import select
import subprocess
import sys

PROMPT = b"ghee> "
EOF_BYTES = b"\n\x04"


def main():
    qemu = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    out_fd, in_fd = qemu.stdout.fileno(), sys.stdin.fileno()
    seen = b""          # output tail, to spot the first prompt
    feeding = False     # the prompt came: copy our input to QEMU
    while True:
        fds = [out_fd] + ([in_fd] if feeding and in_fd >= 0 else [])
        ready, _, _ = select.select(fds, [], [])
        if out_fd in ready:
            data = os.read(out_fd, 65536)
            if not data:
                break
            os.write(sys.stdout.fileno(), data)
            if not feeding:
                seen = (seen + data)[-len(PROMPT) * 4:]
                feeding = PROMPT in seen
        if feeding and in_fd >= 0 and in_fd in ready:
            data = os.read(in_fd, 65536)
            try:
                qemu.stdin.write(data if data else EOF_BYTES)
                qemu.stdin.flush()
            except BrokenPipeError:
                pass
            if not data:
                in_fd = -1
    return qemu.wait()


if __name__ == "__main__":
    sys.exit(main())
