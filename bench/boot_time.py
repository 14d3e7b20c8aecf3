#!/usr/bin/env python3
"""Boot-to-prompt wall time, for bench/boot.sh (read its header).

boot_time.py ROUNDS KIND... : each KIND is LABEL=KERNEL,SMP,DISK (DISK may
be empty: no disk, no mount; else the disk is mounted at boot, mount=vda).
The kind labelled "floor" is bench/boot_floor.S, which never powers off:
its QEMU is killed.
Every round boots every kind once, in turn, so the kinds see the same
load. A boot runs scripts/run.sh (PVH, TCG) with QEMU started through a
wrapper that stamps the time just before it becomes QEMU; the time is
from that stamp to the first prompt on the serial console, as this
process reads it. Beside it the CPU time QEMU's threads had used by then
(/proc/PID/task/*/schedstat): on a loaded host the wall time mostly
measures waiting for a CPU, the CPU time much less so. Prints per kind the
median, minimum and maximum wall ms, the median CPU ms, and the median of
the kernel's own printed boot time.
"""
import os
import re
import signal
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "build/bench")
PROMPT = b"ghee> "


def wrapper():
    """A QEMU that writes the wall time of its start and its process ID
    to $BOOT_STAMP."""
    path = os.path.join(WORK, "qemu-stamp.sh")
    with open(path, "w") as f:
        f.write('#!/bin/bash\necho "$EPOCHREALTIME $$" > "$BOOT_STAMP"\n'
                'exec qemu-system-x86_64 "$@"\n')
    os.chmod(path, 0o755)
    return path


def cpu_ms(pid):
    """CPU time used so far by the threads of process pid, in ms."""
    ns = 0
    for task in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, task)) as f:
                ns += int(f.read().split()[0])
        except FileNotFoundError:
            pass        # the thread ended meanwhile
    return ns / 1e6


def boot(qemu, kernel, smp, disk, floor):
    """One boot: ms from QEMU's start to the prompt, CPU ms of QEMU by
    then, and the printed boot ms (or None)."""
    stamp = os.path.join(WORK, "boot-stamp")
    env = dict(os.environ, KERNEL=kernel, SMP=smp, DISKS=disk, QEMU=qemu,
               BOOT="pvh", ACCEL="tcg", BOOT_STAMP=stamp,
               APPEND="mount=vda" if disk else "")
    proc = subprocess.Popen([os.path.join(ROOT, "scripts/run.sh")], cwd=ROOT,
                            env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    out = b""
    while PROMPT not in out:
        data = os.read(proc.stdout.fileno(), 65536)
        if not data:
            sys.exit("boot_time: no prompt from %s (smp %s, disk %r): %r" %
                     (kernel, smp, disk, out[-300:]))
        out += data
    seen = time.time()
    with open(stamp) as f:
        started, pid = f.read().split()
    cpu = cpu_ms(int(pid))
    if floor:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return (seen - float(started)) * 1000, cpu, None
    proc.stdin.close()      # end of input: ghee powers off
    out += proc.stdout.read()
    if proc.wait() != 0:
        sys.exit("boot_time: %s did not power off cleanly: %r" %
                 (kernel, out[-300:]))
    text = out.decode(errors="replace")
    if disk and "mounted vda" not in text:
        sys.exit("boot_time: no mount at boot: %r" % text[-300:])
    m = re.search(r"booted in (\d+\.\d) ms", text)
    return ((seen - float(started)) * 1000, cpu,
            float(m.group(1)) if m else None)


def main():
    rounds = int(sys.argv[1])
    kinds = [(k.split("=", 1)[0], k.split("=", 1)[1].split(","))
             for k in sys.argv[2:]]
    qemu = wrapper()
    wall = {label: [] for label, _ in kinds}
    cpu = {label: [] for label, _ in kinds}
    printed = {label: [] for label, _ in kinds}
    for _ in range(rounds):
        for label, (kernel, smp, disk) in kinds:
            ms, cms, kms = boot(qemu, kernel, smp, disk, label == "floor")
            wall[label].append(ms)
            cpu[label].append(cms)
            if kms is not None:
                printed[label].append(kms)
    for label, _ in kinds:
        w = wall[label]
        line = "%s %.1f %.1f %.1f %.1f" % (label, statistics.median(w),
                                           min(w), max(w),
                                           statistics.median(cpu[label]))
        if printed[label]:
            line += " %.1f" % statistics.median(printed[label])
        print(line)


main()
