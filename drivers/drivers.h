/* Device bring-up at boot (drivers.c). */
#ifndef DRIVERS_DRIVERS_H
#define DRIVERS_DRIVERS_H

#include "../boot/boot_info.h"

/* Find the PCI devices, give them addresses and interrupts, and register
 * the disks. Called once from kmain after the scheduler is up. */
void drivers_init(const struct boot_info *bi);

#endif
