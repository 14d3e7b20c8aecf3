"""Scripts of any length: a 1 MB command script piped to scripts/run.sh
(the `make run` path, through scripts/serial_feed.py) and to the host tool
runs to its end, every command's output in order."""
import os
import re
import signal
import subprocess

from guest import ROOT

SCRIPT_BYTES = 1 << 20
TIMEOUT = 240


def write_script(path):
    """A script of at least SCRIPT_BYTES: numbered echo lines padded with
    spaces (the padding costs nothing to run but fills the pipes), then a
    last line. Returns how many numbered lines it has."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    n = size = 0
    with open(path, "w") as f:
        while size < SCRIPT_BYTES:
            line = "echo line%06d%s\n" % (n, " " * 1000)
            f.write(line)
            size += len(line)
            n += 1
        f.write("echo the-end\n")
    return n


def run_script(argv, script, env=None):
    """Run argv with the script as standard input; its output, status."""
    with open(script, "rb") as stdin:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdin=stdin,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            tail = out[-300:].decode(errors="replace")
            raise AssertionError("timed out after %d s; output ends %r" %
                                 (TIMEOUT, tail))
    return out.decode(errors="replace").replace("\r\n", "\n"), proc.returncode


def check_all_ran(out, n):
    # Outputs are lines of their own; the echoed commands follow a prompt.
    seen = re.findall(r"^line(\d{6})$", out, re.M)
    assert len(seen) == n, "%d of %d commands ran; output ends %r" % (
        len(seen), n, out[-300:])
    assert seen == ["%06d" % i for i in range(n)], "outputs out of order"
    assert re.search(r"^the-end$", out, re.M), out[-300:]


def test_1mb_script_in_qemu(ctx):
    script = os.path.join(ROOT, "build/tests/shell-1m-script.txt")
    n = write_script(script)
    env = dict(os.environ, KERNEL=os.path.join(ROOT, "build/kernel.elf"),
               DISKS="", SMP="1", APPEND="", BOOT="pvh")
    out, status = run_script([os.path.join(ROOT, "scripts/run.sh")], script,
                             env)
    check_all_ran(out, n)
    assert status == 0, "run.sh exited %d" % status


def test_1mb_script_in_host_tool(ctx):
    script = os.path.join(ROOT, "build/tests/shell-1m-script.txt")
    n = write_script(script)
    out, status = run_script([os.path.join(ROOT, "build/ghee")], script)
    check_all_ran(out, n)
    assert status == 0, "ghee exited %d" % status
