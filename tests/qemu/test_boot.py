"""Foundation: boot to the prompt, the shell over serial, clean and failed
exits, memory sizes and CPU counts."""
import re


def booted(ctx, **kw):
    g = ctx.guest(**kw)
    msgs = g.boot()
    m = re.search(r"booted in (\d+\.\d) ms", msgs)
    assert m, "no boot time in: %r" % msgs
    return g, msgs


def test_boot_to_prompt(ctx):
    g, msgs = booted(ctx)
    assert "pvh boot" in msgs, msgs
    out = g.cmd("version")
    assert re.match(r"ghee \S+ \(x86-64, pvh boot by QEMU direct boot\)\n"
                    r"command line: panic=exit accel=(tcg|kvm)", out), out
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_accel_reaches_the_kernel(ctx):
    # scripts/run.sh names the accelerator it gave QEMU, and passes it on
    # the kernel command line, which the kernel reports in `version`.
    g, _ = booted(ctx)
    out = g.cmd("version")
    g.close_input()
    assert g.wait_exit() == 0
    m = re.search(r"run: QEMU accel=(tcg|kvm)", g.transcript())
    assert m, g.transcript()[:500]
    assert re.search(r"^command line: .*accel=%s" % m.group(1), out,
                     re.M), out


def test_help_lists_every_command(ctx):
    g, _ = booted(ctx)
    out = g.cmd("help")
    for name in ("help", "echo", "version", "uptime", "mem", "poweroff",
                 "reboot"):
        assert re.search(r"^  %s " % name, out, re.M), out
    out = g.cmd("help uptime")
    assert out.startswith("usage: uptime\n"), out


def test_bad_commands_print_errors(ctx):
    g, _ = booted(ctx)
    out = g.cmd("nosuchcmd arg")
    assert "unknown command 'nosuchcmd'" in out, out
    out = g.cmd("uptime now")
    assert "wrong number of arguments" in out and "usage: uptime" in out, out
    out = g.cmd("echo 'unterminated")
    assert "unterminated quote" in out, out
    out = g.cmd("fault sideways")
    assert "unknown kind" in out and "usage: fault" in out, out
    assert g.cmd("echo still here") == "still here\n"


def test_quoted_arguments(ctx):
    g, _ = booted(ctx)
    assert g.cmd("echo 'a  b' \"c \\\"d\\\"\" e\\ f") == 'a  b c "d" e f\n'


def test_line_editing_over_serial(ctx):
    g, _ = booted(ctx)
    # left arrow and insert, Ctrl-A, Ctrl-E, backspace, Ctrl-U, Ctrl-C
    assert g.cmd("ech\x1b[D\x1b[D\x1b[Cx\x7f\x05o one") == "one\n"
    assert g.cmd("cho two\x01e") == "two\n"
    assert g.cmd("garbage\x15echo three") == "three\n"
    g.send("echo lost\x03")
    g.expect("^C")
    g.expect("ghee> ")
    # up arrow recalls the last command
    assert g.cmd("\x1b[A") == "three\n"
    # cursor moves are drawn with CSI n D (the C library formats %zu)
    assert "\x1b[7D" in g.transcript() and "zuD" not in g.transcript()


def test_pasted_64k_line_is_refused(ctx):
    g, _ = booted(ctx, )
    g.send("echo " + "x" * 65536 + "\n")
    out = g.expect("ghee> ")
    assert "line too long" in out, out[-200:]
    assert g.cmd("echo next") == "next\n"


def test_uptime_and_mem(ctx):
    g, _ = booted(ctx)
    out = g.cmd("uptime")
    assert re.match(r"up \d+\.\d{3} s\n", out), out
    out = g.cmd("mem")
    assert re.search(r"RAM \d+ KiB", out) and "cache" in out, out


def test_end_of_input_powers_off(ctx):
    g, _ = booted(ctx)
    g.send("echo bye")      # no newline: still runs
    g.close_input()
    assert g.wait_exit() == 0
    # The output line, not the echo "ghee> echo bye" of the input.
    assert re.search(r"^bye$", g.transcript(), re.M), g.transcript()


def test_exception_reports_and_fails(ctx):
    g, _ = booted(ctx)
    g.send("fault page\n")
    assert g.wait_exit() == 1
    t = g.transcript()
    assert "exception 14 (page fault)" in t, t
    assert "cr2): 0x0000080000000000" in t and "backtrace" in t, t


def test_panic_fails_the_run(ctx):
    g, _ = booted(ctx)
    g.send("fault panic\n")
    assert g.wait_exit() == 1
    assert "panic: fault command" in g.transcript()


def test_reboot_ends_scripted_run(ctx):
    g, _ = booted(ctx)
    g.send("reboot\n")
    assert g.wait_exit() == 2


def test_memory_sizes(ctx):
    for mem, low, high in (("64M", 50 << 10, 64 << 10),
                           ("2G", 1900 << 10, 2048 << 10)):
        g, _ = booted(ctx, mem=mem)
        out = g.cmd("mem")
        kib = int(re.search(r"RAM (\d+) KiB", out).group(1))
        assert low <= kib <= high, (mem, out)
        g.send("poweroff\n")
        assert g.wait_exit() == 0


def test_late_cpu_is_given_up_and_stays_parked(ctx):
    # smp_ap_delay_ms holds the other CPU back well past the boot CPU's wait
    # for it (as a vCPU the host did not run for a while): the boot goes on
    # with one CPU, and the CPU arriving later must halt without touching
    # the scheduler (it used to page-fault on the idle task it no longer
    # had).
    g, msgs = booted(ctx, smp=2, append="smp_ap_delay_ms=3000")
    assert re.search(r"CPU with LAPIC ID 1 did not start", msgs), msgs
    assert g.cmd("sleep 3000") == ""     # the late CPU arrives meanwhile
    out = g.cmd("cpus")
    assert g.online_cpus() == 1, out
    assert "1 CPU came up too late: halted, never used" in out, out
    assert g.cmd("echo ok") == "ok\n"
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_smp_boots(ctx):
    g, _ = booted(ctx, smp=4)
    assert g.online_cpus() == 4, g.cmd("cpus")
    assert g.cmd("echo ok") == "ok\n"
