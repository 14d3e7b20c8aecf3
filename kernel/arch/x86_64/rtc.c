/*
 * The CMOS real-time clock, read once at boot to give the filesystem wall
 * time (inode times). The RTC keeps UTC under QEMU (its default -rtc
 * base=utc). Read twice until two reads agree, so an update in the middle
 * cannot tear the value.
 */
#include <stdint.h>

#include "arch.h"
#include "cpu.h"

#define CMOS_INDEX	0x70
#define CMOS_DATA	0x71
#define RTC_STATUS_A	0x0a	/* bit 7: update in progress */
#define RTC_STATUS_B	0x0b	/* bit 2: binary (not BCD), bit 1: 24-hour */

struct rtc_time {
	uint8_t sec, min, hour, day, mon, year;
};

static uint8_t cmos_read(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static void rtc_read_raw(struct rtc_time *t)
{
	while (cmos_read(RTC_STATUS_A) & 0x80)
		cpu_relax();
	t->sec = cmos_read(0x00);
	t->min = cmos_read(0x02);
	t->hour = cmos_read(0x04);
	t->day = cmos_read(0x07);
	t->mon = cmos_read(0x08);
	t->year = cmos_read(0x09);
}

static uint8_t from_bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 15);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

uint64_t rtc_read_epoch(void)
{
	struct rtc_time a, b;
	uint8_t status_b = cmos_read(RTC_STATUS_B);
	int pm;

	rtc_read_raw(&b);
	do {
		a = b;
		rtc_read_raw(&b);
	} while (a.sec != b.sec || a.min != b.min || a.hour != b.hour ||
		 a.day != b.day || a.mon != b.mon || a.year != b.year);
	pm = !(status_b & 2) && (a.hour & 0x80);
	a.hour &= 0x7f;
	if (!(status_b & 4)) {
		a.sec = from_bcd(a.sec);
		a.min = from_bcd(a.min);
		a.hour = from_bcd(a.hour);
		a.day = from_bcd(a.day);
		a.mon = from_bcd(a.mon);
		a.year = from_bcd(a.year);
	}
	if (!(status_b & 2))
		a.hour = a.hour % 12 + (pm ? 12 : 0);
	if (a.mon < 1 || a.mon > 12 || a.day < 1 || a.day > 31)
		return 0;	/* no sane clock: times stay unknown */
	return (uint64_t)(days_from_civil(2000 + a.year, a.mon, a.day) * 86400 +
			  a.hour * 3600 + a.min * 60 + a.sec);
}
