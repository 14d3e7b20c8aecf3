"""Drive ghee in QEMU over its serial console, for the QEMU tests.

A Guest boots the kernel through scripts/run.sh (the same path as
`make run`), with commands written to its standard input and the console
read from its standard output. Every wait has a deadline; on a hang the
whole QEMU process group is killed. The transcript is kept so that a failed
test can leave its serial log behind.
"""
import os
import re
import select
import shutil
import signal
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMPT = b"ghee> "
# The log lines a background balance prints. They land anywhere in the
# console's text (before or after a command's echo, or inside it), so
# tests remove them whole, newline included, before reading the rest.
BALANCE_LOG = re.compile(r"new (data|metadata|system) chunk at \d+, \d+ MiB "
                         r"\([A-Za-z0-9]+\)\n|"
                         r"\w+: balance: (paused \(resume or cancel it\)|"
                         r"resuming)\n")


def scratch_image(path, size):
    """A fresh sparse image file of size bytes at path (under build/)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(size)
    return path


def btrfs_check(ctx, img, *options, qgroups=False):
    """The host's `btrfs check` (with options) finds img clean; with
    qgroups, its quota report finds no group's stored counts different.
    Returns the last output (the quota report with qgroups). A host
    without btrfs-progs skips the test."""
    if not shutil.which("btrfs"):
        ctx.skip("btrfs-progs not installed: no btrfs check")
    r = subprocess.run(["btrfs", "check", *options, img],
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    assert r.returncode == 0 and "no error found" in out, out[-4000:]
    if qgroups:
        r = subprocess.run(["btrfs", "check", "--qgroup-report", img],
                           capture_output=True, text=True)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "are different" not in out, out[-4000:]
    return out


class GuestError(Exception):
    """The guest did not do what the test expected (message says what)."""


class Guest:
    def __init__(self, disks=(), smp=1, mem="512M", accel=None, append="",
                 boot="pvh", firmware="", efi_image="", timeout=60):
        env = dict(os.environ)
        env.update(KERNEL=os.path.join(ROOT, "build/kernel.elf"),
                   DISKS=" ".join(disks), SMP=str(smp), MEM=mem,
                   ACCEL=accel or os.environ.get("ACCEL", "tcg"),
                   APPEND=append, BOOT=boot, FIRMWARE=firmware,
                   EFI_IMAGE=efi_image)
        self.deadline = time.monotonic() + timeout
        self.log = bytearray()
        self.pos = 0            # transcript bytes already matched
        self.proc = subprocess.Popen(
            [os.path.join(ROOT, "scripts/run.sh")], cwd=ROOT, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True)
        self.status = None

    def _read_some(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.kill()
            raise GuestError("timed out")
        ready, _, _ = select.select([self.proc.stdout], [], [], min(left, 1))
        if ready:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return False
            self.log += chunk
        return True

    def expect(self, pattern):
        """Wait for bytes `pattern`; return the text between the last match
        and it (so output of a command is what comes before the prompt)."""
        if isinstance(pattern, str):
            pattern = pattern.encode()
        while True:
            i = self.log.find(pattern, self.pos)
            if i >= 0:
                out = bytes(self.log[self.pos:i])
                self.pos = i + len(pattern)
                return out.decode(errors="replace")
            if not self._read_some():
                raise GuestError("console ended while waiting for %r" % pattern)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise GuestError("QEMU is gone")

    def boot(self):
        """Wait for the first prompt; return the boot messages."""
        return self.expect(PROMPT)

    def cmd(self, line):
        """Run one shell command; return its output (echo line removed)."""
        self.send(line + "\n")
        out = self.expect(PROMPT)
        first, _, rest = out.partition("\n")
        return rest.replace("\r\n", "\n")

    def online_cpus(self):
        """How many CPUs the booted kernel runs tasks on (`cpus`)."""
        return len(re.findall(r"^\s*\d+\s+\d+\s+online", self.cmd("cpus"),
                              re.M))

    def close_input(self):
        if not self.proc.stdin.closed:
            self.proc.stdin.close()

    def wait_exit(self):
        """Wait for QEMU to end; return run.sh's exit status."""
        # run.sh's input copier holds our output pipe until its input ends.
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        while self._read_some():
            pass
        left = max(self.deadline - time.monotonic(), 0.1)
        try:
            self.status = self.proc.wait(timeout=left)
        except subprocess.TimeoutExpired:
            self.kill()
            raise GuestError("QEMU did not exit")
        return self.status

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()

    def transcript(self):
        return self.log.decode(errors="replace").replace("\r\n", "\n")
