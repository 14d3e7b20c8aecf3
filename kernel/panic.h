/* Stopping the kernel on a broken invariant or an unexpected exception. */
#ifndef KERNEL_PANIC_H
#define KERNEL_PANIC_H

#include <stdint.h>

/* Print "panic: ..." and a backtrace, then stop. */
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt,
							   ...);
/* Print the call chain starting at rip with frame pointer rbp. */
void backtrace_print(uint64_t rip, uint64_t rbp);
/* Save the call chain (return addresses, innermost first: the first is
 * in the caller), up to max; returns how many. */
int backtrace_save(uint64_t *pcs, int max);
/* Print a chain backtrace_save saved, in backtrace_print's format. */
void backtrace_print_saved(const uint64_t *pcs, int n);
/* Stop after a failure: halt forever, or with "panic=exit" on the command
 * line exit QEMU with the failure status. */
__attribute__((noreturn)) void panic_stop(void);
/* Choose panic_stop's behaviour (from the command line). */
void panic_set_exit(int exit_qemu);

#endif
