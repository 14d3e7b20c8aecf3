/*
 * System control and facts for the shell: power, version, memory figures.
 */
#ifndef GHEE_SYSTEM_H
#define GHEE_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

/* Stop the machine cleanly (QEMU exits with the "clean" status). */
__attribute__((noreturn)) void sys_poweroff(void);
/* Reset the machine. */
__attribute__((noreturn)) void sys_reboot(void);
/* Where we run, for `version`: "qemu/pvh", "host", ... */
const char *sys_platform(void);
/* The command line the machine was started with ("" when none). */
const char *sys_cmdline(void);
/* Crash on purpose, to exercise the crash path: kind is "page" (page
 * fault), "divide" (divide error) or "panic". Returns -EINVAL for another
 * kind; otherwise does not return. */
int sys_fault(const char *kind);
/* Print memory figures (totals, allocator use) to the console. */
void sys_mem_report(void);

#endif
