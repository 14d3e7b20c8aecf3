/*
 * panic() and the failure stop. A panic prints its message and the call
 * chain of the caller, then halts the CPU, or, when the command line says
 * panic=exit (scripted runs and tests), leaves QEMU with the failure status
 * so that the run is reported as failed.
 */
#include <stdarg.h>
#include <stdint.h>

#include <ghee/console.h>

#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "ksym.h"
#include "panic.h"
#include "power.h"

static int panic_exit_qemu;
static int panicking;

void panic_set_exit(int exit_qemu)
{
	panic_exit_qemu = exit_qemu;
}

/* A frame pointer is trusted only inside the identity map and 8-byte
 * aligned; the chain ends at 0 (set at the boot entry). */
static int frame_ok(uint64_t rbp)
{
	uint64_t top = paging_mapped_top();

	return rbp && !(rbp & 7) && rbp < (top ? top : 4ull << 30) - 16;
}

int backtrace_save(uint64_t *pcs, int max)
{
	uint64_t rbp = (uintptr_t)__builtin_frame_address(0);
	int n = 0;

	while (n < max && frame_ok(rbp)) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;

		if (!frame[1])
			break;
		pcs[n++] = frame[1];
		rbp = frame[0];
	}
	return n;
}

/* One line of a backtrace: the address and the function it is in. */
static void print_pc(uint64_t pc)
{
	uint32_t sym = ksym_find(pc);

	if (sym == KSYM_NONE)
		con_eprintf("  %#018lx\n", (unsigned long)pc);
	else
		con_eprintf("  %#018lx %s+%#lx\n", (unsigned long)pc,
			    ksym_name(sym), (unsigned long)(pc - ksym_addr(sym)));
}

void backtrace_print_saved(const uint64_t *pcs, int n)
{
	int i;

	con_eprintf("backtrace (addr2line -e build/kernel.elf ADDR):\n");
	for (i = 0; i < n; i++)
		print_pc(pcs[i]);
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	int depth;

	con_eprintf("backtrace (addr2line -e build/kernel.elf ADDR):\n");
	print_pc(rip);
	for (depth = 0; depth < 32 && frame_ok(rbp); depth++) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;

		if (!frame[1])
			break;
		print_pc(frame[1]);
		rbp = frame[0];
	}
}

void panic_stop(void)
{
	if (panic_exit_qemu)
		power_exit_qemu(QEMU_EXIT_FAILURE);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void panic(const char *fmt, ...)
{
	va_list ap;

	irq_save();
	if (panicking++)
		panic_stop();
	con_eprintf("\npanic: ");
	va_start(ap, fmt);
	con_veprintf(fmt, ap);
	va_end(ap);
	con_eprintf("\n");
	/* Start at our caller: its return address and its saved rbp. */
	backtrace_print((uintptr_t)__builtin_return_address(0),
			*(uint64_t *)__builtin_frame_address(0));
	panic_stop();
}
