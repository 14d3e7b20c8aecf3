/* Power off, reset, and the QEMU exit statuses the run script understands. */
#ifndef KERNEL_POWER_H
#define KERNEL_POWER_H

#include <stdint.h>

/*
 * Values written to QEMU's isa-debug-exit port (0xf4); QEMU then exits with
 * (value << 1) | 1: 33 for a clean stop, 35 for a failure. scripts/run.sh
 * maps them back to 0 and 1.
 */
#define QEMU_EXIT_SUCCESS 0x10
#define QEMU_EXIT_FAILURE 0x11

/* Exit QEMU with the given status; returns only without isa-debug-exit. */
void power_exit_qemu(uint32_t value);

#endif
