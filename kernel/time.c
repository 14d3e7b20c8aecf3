/*
 * Monotonic time from the TSC, calibrated once at boot against the PIT;
 * wall time from the CMOS clock read at the same moment, plus that.
 * QEMU's TSC is constant-rate, so ticks convert to nanoseconds with one
 * multiplier; tsc_hz is written once before any reader runs.
 */
#include <stdint.h>

#include <ghee/time.h>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "time_internal.h"

static uint64_t tsc_hz;		/* [I] after time_init */
static uint64_t tsc_at_entry;	/* [I] TSC at the first boot instruction */
static uint64_t boot_epoch;	/* [I] Unix time at time 0, or 0: unknown */

void time_init(uint64_t entry_tsc, uint64_t hz)
{
	tsc_at_entry = entry_tsc;
	tsc_hz = hz;
	boot_epoch = rtc_read_epoch();
}

uint64_t time_tsc_to_ns(uint64_t ticks)
{
	/* Split to avoid overflow: ticks * 1e9 overflows after ~18 s at GHz. */
	return ticks / tsc_hz * 1000000000ull +
	       (ticks % tsc_hz) * 1000000000ull / tsc_hz;
}

uint64_t time_ns(void)
{
	return time_tsc_to_ns(rdtsc() - tsc_at_entry);
}

uint64_t time_wall_sec(void)
{
	return boot_epoch ? boot_epoch + time_ns() / 1000000000ull : 0;
}
