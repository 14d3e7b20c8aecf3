/* Kernel side of include/ghee/system.h. */
#ifndef KERNEL_SYSTEM_INTERNAL_H
#define KERNEL_SYSTEM_INTERNAL_H

#include "../boot/boot_info.h"

/* Remember the boot facts that `version` and `mem` report. */
void system_init(const struct boot_info *bi);
/* The value of the command line's last word KEY=VALUE (up to the next
 * space or the end), or NULL when there is none. */
const char *sys_cmdline_value(const char *key);

#endif
