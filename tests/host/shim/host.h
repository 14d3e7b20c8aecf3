/* Host-only hooks of the shims, for the host tool and the unit tests. */
#ifndef HOST_SHIM_HOST_H
#define HOST_SHIM_HOST_H

#include <stddef.h>

/* Feed console input from a buffer instead of stdin (NULL: back to stdin). */
void host_console_set_input(const char *buf, size_t n);
/* Collect console output in memory; host_console_output() returns it
 * NUL-terminated until the next capture call. */
void host_console_capture(int on);
const char *host_console_output(void);
/* The task a Ctrl-C should stop now (con_interrupt_task), or 0; and a
 * function called at each change (the host tool turns the terminal's
 * interrupt key on while a command runs). */
int host_console_interrupt_task(void);
void host_console_on_interrupt(void (*fn)(int id));

/* Open an image file as the next disk (vda, vdb, ...). ro: read-only.
 * 0 or a negative errno (message printed). */
int host_disk_open(const char *path, int ro);
void host_disks_close(void);

/* Let the next n kmalloc/kzalloc calls succeed and fail every one after
 * them (-1: back to normal), for tests of -ENOMEM paths. */
void host_alloc_fail_after(long n);

#endif
