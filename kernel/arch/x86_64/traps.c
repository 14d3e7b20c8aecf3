/*
 * CPU exceptions: print the vector, error code, registers, faulting address
 * and a frame-pointer backtrace, then stop through panic_stop() (which halts,
 * or exits QEMU with the failure status when the command line asks so).
 * The kernel is built with frame pointers, so each frame's saved rbp links
 * to its caller's.
 */
#include <stdint.h>

#include <ghee/console.h>

#include "../../panic.h"
#include "arch.h"
#include "cpu.h"

static const char *const exception_names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow",
	"bound range exceeded", "invalid opcode", "device not available",
	"double fault", "coprocessor segment overrun", "invalid TSS",
	"segment not present", "stack-segment fault", "general protection",
	"page fault", "reserved", "x87 FPU error", "alignment check",
	"machine check", "SIMD floating-point", "virtualization",
	"control protection", "reserved", "reserved", "reserved", "reserved",
	"reserved", "reserved", "hypervisor injection", "VMM communication",
	"security", "reserved",
};

void trap_exception(struct trap_frame *f)
{
	con_eprintf("\n*** exception %lu (%s), error code %#lx\n",
		   (unsigned long)f->vector, exception_names[f->vector & 31],
		   (unsigned long)f->error_code);
	if (f->vector == 14)
		con_eprintf("faulting address (cr2): %#018lx (%s, %s)\n",
			   (unsigned long)read_cr2(),
			   f->error_code & 1 ? "protection" : "not present",
			   f->error_code & 2 ? "write" : "read");
	con_eprintf("rip %#018lx  cs %#lx  rflags %#lx\n",
		   (unsigned long)f->rip, (unsigned long)f->cs,
		   (unsigned long)f->rflags);
	con_eprintf("rsp %#018lx  ss %#lx  cr3 %#lx\n", (unsigned long)f->rsp,
		   (unsigned long)f->ss, (unsigned long)read_cr3());
	con_eprintf("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n",
		   f->rax, f->rbx, f->rcx, f->rdx);
	con_eprintf("rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n",
		   f->rsi, f->rdi, f->rbp, f->r8);
	con_eprintf("r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n",
		   f->r9, f->r10, f->r11, f->r12);
	con_eprintf("r13 %016lx r14 %016lx r15 %016lx\n", f->r13, f->r14,
		   f->r15);
	backtrace_print(f->rip, f->rbp);
	panic_stop();
}
