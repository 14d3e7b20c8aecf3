/*
 * TSC frequency, measured against PIT channel 2 (1.193182 MHz, the
 * speaker gate held high so it counts) over a window of 1 ms (the ends
 * of a window are uncertain by 0.3-0.8 us under TCG: one window is
 * usually enough).
 *
 * Under TCG on a busy host the virtual CPU can be paused for tens of
 * milliseconds at any instruction while both clocks run on with the
 * host's. A pause between the two ends of the window costs nothing; a
 * pause while one end is read does: waiting for the PIT to expire and
 * then reading the TSC once counted such a pause as TSC time and made
 * the clock run 2 to 13 times slow for the whole boot (so every rate
 * measured in the guest, `blk bench` included, came out that much too
 * high). So each end is the PIT's counter latched between two TSC reads,
 * the end's time their midpoint and its uncertainty their distance. A
 * window whose ends together are uncertain by more than 1/GOOD_ERR of
 * it is measured again, up to TRIES times, keeping the most certain.
 */
#include "arch.h"
#include "cpu.h"

#define PIT_HZ		1193182u
#define PIT_CH2_DATA	0x42
#define PIT_CMD		0x43
#define PIT_GATE	0x61	/* bit 0: channel 2 gate, bit 1: speaker */
#define PIT_CH2_MODE0	0xb0	/* channel 2, low then high byte, mode 0 */
#define PIT_CH2_LATCH	0x80	/* latch channel 2's count */
#define WINDOW_MS	1
#define CALIB_TICKS	(PIT_HZ * WINDOW_MS / 1000)
#define GOOD_ERR	1000	/* uncertainty under 0.1%: done */
#define TRIES		8

/* Channel 2's count, latched between the TSC reads *before and *after. */
static uint16_t pit_count(uint64_t *before, uint64_t *after)
{
	uint8_t lo, hi;

	*before = rdtsc();
	outb(PIT_CMD, PIT_CH2_LATCH);
	lo = inb(PIT_CH2_DATA);
	hi = inb(PIT_CH2_DATA);
	*after = rdtsc();
	return (uint16_t)(lo | hi << 8);
}

/* Measure one window: TSC ticks over PIT ticks, and the uncertainty in
 * TSC ticks (*err). */
static uint64_t calibrate_once(uint64_t *err)
{
	uint64_t a0, b0, a1, b1, tsc;
	uint16_t c0, c1;

	outb(PIT_CMD, PIT_CH2_MODE0);
	outb(PIT_CH2_DATA, 0xff);	/* count down from 0xffff: 55 ms */
	outb(PIT_CH2_DATA, 0xff);
	c0 = pit_count(&a0, &b0);
	do
		c1 = pit_count(&a1, &b1);
	while ((uint16_t)(c0 - c1) < CALIB_TICKS);
	tsc = (a1 + b1) / 2 - (a0 + b0) / 2;
	*err = (b0 - a0) + (b1 - a1);
	return tsc * PIT_HZ / (uint16_t)(c0 - c1);
}

uint64_t tsc_calibrate(void)
{
	uint64_t hz, err, best = 0, best_err = UINT64_MAX;
	uint8_t gate = inb(PIT_GATE);
	int i;

	outb(PIT_GATE, (gate & ~0x02) | 0x01);	/* gate high, speaker off */
	for (i = 0; i < TRIES; i++) {
		hz = calibrate_once(&err);
		if (err < best_err) {
			best = hz;
			best_err = err;
		}
		/* the window is best * WINDOW_MS / 1000 TSC ticks */
		if (best_err * GOOD_ERR * 1000 < best * WINDOW_MS)
			break;
	}
	outb(PIT_GATE, gate);
	return best;
}
