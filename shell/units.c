/*
 * Size units as btrfs-progs prints them. Human-readable sizes divide by
 * the base while the value is at least the base, and print two decimals
 * and the unit ("0.00B", "16.00KiB", "8.39MB"); a fixed unit (-k ...)
 * divides by that power; raw prints the bytes without a unit.
 *
 * The two decimals are rounded to nearest, ties to even, from the exact
 * quotient (btrfs-progs divides in single-precision float, which can
 * differ in the last digit for sizes past 16 MiB that are not round).
 */
#include <stdio.h>
#include <string.h>

#include "units.h"

static const char *const iec[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB",
				   "EiB" };
static const char *const si[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };

int units_parse(int argc, char **argv, struct units *u)
{
	static const char *const powers[][2] = {
		{ "-k", "--kbytes" }, { "-m", "--mbytes" },
		{ "-g", "--gbytes" }, { "-t", "--tbytes" } };
	int i, p, out = 1;

	u->base = 1024;
	u->power = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-b") || !strcmp(a, "--raw"))
			u->power = 0;
		else if (!strcmp(a, "-h") || !strcmp(a, "--human-readable"))
			u->power = -1, u->base = 1024;
		else if (!strcmp(a, "-H"))
			u->power = -1, u->base = 1000;
		else if (!strcmp(a, "--iec"))
			u->base = 1024;
		else if (!strcmp(a, "--si"))
			u->base = 1000;
		else {
			for (p = 0; p < 4; p++)
				if (!strcmp(a, powers[p][0]) ||
				    !strcmp(a, powers[p][1]))
					break;
			if (p < 4)
				u->power = p + 1;
			else
				argv[out++] = argv[i];
		}
	}
	return out;
}

void units_format(const struct units *u, uint64_t v, char *out, size_t n)
{
	uint64_t div = 1, q, r;
	int p = 0, d;

	if (u->power == 0) {
		snprintf(out, n, "%llu", (unsigned long long)v);
		return;
	}
	if (u->power > 0)
		for (; p < u->power; p++)
			div *= u->base;
	else
		for (; p < 6 && v / div >= u->base; p++)
			div *= u->base;
	/* Hundredths, a digit at a time: div is at most 1024^6 = 2^60, so
	 * r * 10 cannot overflow. Then round to nearest, ties to even. */
	q = v / div;
	r = v % div;
	for (d = 0; d < 2; d++) {
		q = q * 10 + r * 10 / div;
		r = r * 10 % div;
	}
	if (r * 2 > div || (r * 2 == div && (q & 1)))
		q++;
	snprintf(out, n, "%llu.%02u%s", (unsigned long long)(q / 100),
		 (unsigned)(q % 100), (u->base == 1000 ? si : iec)[p]);
}

/* The kernel's C library prints no floating point, so percentages are
 * formatted here, as printf's "%.2f" would: hundredths, ties to even. */
void units_percent(uint64_t part, uint64_t whole, char *out, size_t n)
{
	uint64_t q, r;

	/* keep part * 10000 in 64 bits (past 1.8 PB: a ratio of halves) */
	while (part > UINT64_MAX / 10000) {
		part >>= 1;
		whole >>= 1;
	}
	if (!whole) {
		snprintf(out, n, "0.00");
		return;
	}
	q = part * 10000 / whole;
	r = part * 10000 % whole;
	if (r > whole - r || (r == whole - r && (q & 1)))
		q++;
	snprintf(out, n, "%llu.%02u", (unsigned long long)(q / 100),
		 (unsigned)(q % 100));
}

void units_coreutils(uint64_t v, unsigned base, char *out, size_t n)
{
	static const char iec[] = "KMGTPE", si[] = "kMGTPE";
	uint64_t div = 1, amt, rest, tenths;
	int e = 0;

	if (v < base) {
		snprintf(out, n, "%llu", (unsigned long long)v);
		return;
	}
	while (v / div >= base && e < 6) {
		div *= base;
		e++;
	}
	/* div is at most 1024^6 = 2^60, so rest * 10 cannot overflow */
	amt = v / div;
	rest = v % div;
	tenths = rest * 10 / div;
	if (amt < 10) {
		/* one decimal, the rest rounding the tenths up */
		tenths += rest * 10 % div != 0;
		if (tenths == 10) {
			amt++;
			tenths = 0;
		}
		if (amt < 10) {
			snprintf(out, n, "%llu.%llu%c", (unsigned long long)amt,
				 (unsigned long long)tenths,
				 (base == 1000 ? si : iec)[e - 1]);
			return;
		}
	} else if (rest) {
		amt++;
	}
	if (amt == base && e < 6) {
		snprintf(out, n, "1.0%c", (base == 1000 ? si : iec)[e]);
		return;
	}
	snprintf(out, n, "%llu%c", (unsigned long long)amt,
		 (base == 1000 ? si : iec)[e - 1]);
}
