/* Stopping the kernel on a broken invariant or an unexpected exception. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <stdint.h>

/* Print "panic: ..." and a backtrace, then stop. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt,
							   ...);
/* Print the call chain starting at rip with frame pointer rbp. */
void backtrace_print(uint64_t rip, uint64_t rbp);
/* Stop after a failure: halt forever, or with "panic=exit" on the command
 * line exit QEMU with the failure status. */
__attribute__((noreturn)) void panic_stop(void);
/* Choose panic_stop's behaviour (from the command line). */
void panic_set_exit(int exit_qemu);

#endif
