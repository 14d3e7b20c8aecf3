"""Boot paths: GRUB (Multiboot2) under SeaBIOS and OVMF, ghee's UEFI loader
under OVMF; the memory map, the command line and the kernel's symbol
table (kernel/ksym.c) must arrive, and the loader
must refuse a missing or corrupt kernel instead of jumping into it."""
import os
import re
import subprocess
import tempfile

from guest import ROOT

KERNEL = os.path.join(ROOT, "build/kernel.elf")
LOADER = os.path.join(ROOT, "build/efi/BOOTX64.EFI")


def check_boot(ctx, version_re, **kw):
    g = ctx.guest(append="token=boot-path-42", mem="256M", **kw)
    g.boot()
    out = g.cmd("version")
    assert re.search(version_re, out), out
    assert "token=boot-path-42" in out, out
    out = g.cmd("mem")
    kib = int(re.search(r"RAM (\d+) KiB", out).group(1))
    assert 200 << 10 <= kib <= 256 << 10, out
    # the profiler's symbol table came along in the image
    out = g.cmd("test ksym")
    assert "2 passed, 0 failed" in out, out
    g.send("poweroff\n")
    assert g.wait_exit() == 0


def test_grub_bios(ctx):
    check_boot(ctx, r"multiboot2 boot by GRUB \S+ on BIOS", boot="iso")


def test_grub_uefi(ctx):
    check_boot(ctx, r"multiboot2 boot by GRUB \S+ on UEFI", boot="iso",
               firmware="uefi")


def test_ghee_efi_loader(ctx):
    check_boot(ctx, r"uefi boot by ghee-efi on UEFI: EDK II", boot="efi")


def efi_image(kernel_bytes):
    """An ESP image whose \\ghee\\kernel.elf holds kernel_bytes (None: no
    kernel file at all)."""
    d = tempfile.mkdtemp(dir=os.path.join(ROOT, "build"))
    kernel = os.path.join(d, "kernel.elf")
    with open(kernel, "wb") as f:
        f.write(kernel_bytes or b"")
    img = os.path.join(d, "esp.img")
    subprocess.run([os.path.join(ROOT, "image/mkefi.sh"), LOADER, kernel,
                    img, "panic=exit"], check=True)
    if kernel_bytes is None:
        subprocess.run(["mdel", "-i", img + "@@1M", "::/ghee/kernel.elf"],
                       check=True)
    return img


def refused(ctx, kernel_bytes, message):
    g = ctx.guest(boot="efi", efi_image=efi_image(kernel_bytes))
    out = g.expect(message)
    assert "ghee>" not in out
    g.kill()


def test_efi_missing_kernel(ctx):
    refused(ctx, None, "cannot read \\ghee\\kernel.elf: Not Found")


def test_efi_not_elf(ctx):
    refused(ctx, os.urandom(8192), "is not an ELF file")


def test_efi_truncated_kernel(ctx):
    with open(KERNEL, "rb") as f:
        head = f.read(4096)
    refused(ctx, head, "corrupt or out of range")


def test_efi_wrong_elf(ctx):
    with open(LOADER.replace("BOOTX64.EFI", "loader.so"), "rb") as f:
        refused(ctx, f.read(), "is not an x86-64 executable")
