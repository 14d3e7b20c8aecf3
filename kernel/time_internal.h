/* Kernel-side time setup (the time API is include/ghee/time.h). */
#ifndef KERNEL_TIME_INTERNAL_H
#define KERNEL_TIME_INTERNAL_H

#include <stdint.h>

/* Start the clock: time 0 is entry_tsc; hz is the TSC frequency. */
void time_init(uint64_t entry_tsc, uint64_t hz);
uint64_t time_tsc_to_ns(uint64_t ticks);

#endif
