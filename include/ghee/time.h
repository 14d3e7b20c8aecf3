/* Time service: a monotonic clock. */
#ifndef GHEE_TIME_H
#define GHEE_TIME_H

#include <stdint.h>

/* Nanoseconds since boot (kernel) or since the program started (host). */
uint64_t time_ns(void);
/* Seconds since the Unix epoch, for inode times; 0 when unknown. */
uint64_t time_wall_sec(void);

#endif
