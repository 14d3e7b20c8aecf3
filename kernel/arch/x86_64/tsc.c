/*
 * TSC frequency, measured against PIT channel 2 (1.193182 MHz) with the
 * speaker gate: the PIT counts down a known number of ticks while the TSC
 * runs. A 2 ms window (2386 PIT ticks, so about 0.05% error) costs little boot
 * time and is accurate enough for timing and timeouts; under TCG
 * both clocks follow the host's.
 */
#include "arch.h"
#include "cpu.h"

#define PIT_HZ		1193182u
#define PIT_CH2_DATA	0x42
#define PIT_CMD		0x43
#define PIT_GATE	0x61	/* bit 0: channel 2 gate, bit 5: output */
#define CALIB_MS	2

uint64_t tsc_calibrate(void)
{
	uint32_t ticks = PIT_HZ * CALIB_MS / 1000;
	uint64_t t0, t1;
	uint8_t gate;

	gate = inb(PIT_GATE);
	outb(PIT_GATE, (gate & ~0x02) & ~0x01);	/* gate low, speaker off */
	outb(PIT_CMD, 0xb0);	/* channel 2, lobyte/hibyte, mode 0 */
	outb(PIT_CH2_DATA, ticks & 0xff);
	outb(PIT_CH2_DATA, ticks >> 8);
	outb(PIT_GATE, (gate & ~0x02) | 0x01);	/* gate high: count */
	t0 = rdtsc();
	while (!(inb(PIT_GATE) & 0x20))		/* output goes high at 0 */
		cpu_relax();
	t1 = rdtsc();
	outb(PIT_GATE, gate);
	return (t1 - t0) * 1000 / CALIB_MS;
}
