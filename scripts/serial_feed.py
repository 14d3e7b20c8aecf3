#!/usr/bin/env python3
"""Run QEMU with a scripted serial console: serial_feed.py QEMU [ARGS...]

QEMU's output is copied to our standard output as it comes. Our standard
input is held back until ghee prints its first prompt, so that firmware and
boot loaders (SeaBIOS, OVMF, GRUB), which may read or reset the serial port
while they run, cannot eat the script. Then the script is copied to QEMU,
and at its end an end-of-input byte (Ctrl-D) tells the shell to power off.
Exits with QEMU's status.

Nothing here blocks on a write to QEMU: QEMU takes input only as fast as
the guest reads its serial port, and the guest stops reading while its
output waits to be read by us. So input goes to QEMU through a
non-blocking pipe from a small pending buffer, output is always drained
first, and more of our input is read only when the buffer has room. A
script of any length then runs to its end.
"""
import os
import select
import subprocess
import sys

PROMPT = b"ghee> "
EOF_BYTES = b"\n\x04"
PENDING_MAX = 65536     # input read ahead of what QEMU took


def main():
    qemu = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)
    out_fd, in_fd = qemu.stdout.fileno(), sys.stdin.fileno()
    to_qemu = qemu.stdin.fileno()
    os.set_blocking(to_qemu, False)
    seen = b""          # output tail, to spot the first prompt
    feeding = False     # the prompt came: copy our input to QEMU
    pending = b""       # input read, not yet taken by QEMU
    while True:
        rfds = [out_fd]
        if feeding and in_fd >= 0 and len(pending) < PENDING_MAX:
            rfds.append(in_fd)
        wfds = [to_qemu] if pending and to_qemu >= 0 else []
        ready, writable, _ = select.select(rfds, wfds, [])
        if out_fd in ready:
            data = os.read(out_fd, 65536)
            if not data:
                break
            os.write(sys.stdout.fileno(), data)
            if not feeding:
                seen = (seen + data)[-len(PROMPT) * 4:]
                feeding = PROMPT in seen
        if in_fd in ready:
            data = os.read(in_fd, 65536)
            pending += data if data else EOF_BYTES
            if not data:
                in_fd = -1
        if writable:
            try:
                pending = pending[os.write(to_qemu, pending):]
            except BlockingIOError:
                pass
            except BrokenPipeError:
                pending, to_qemu = b"", -1
    return qemu.wait()


if __name__ == "__main__":
    sys.exit(main())
