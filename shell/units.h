/*
 * Size units as btrfs-progs prints them (shell/units.c): the options
 * every space-reporting command takes, and the formatting they select.
 */
#ifndef SHELL_UNITS_H
#define SHELL_UNITS_H

#include <stddef.h>
#include <stdint.h>

struct units {
	unsigned base;	/* 1024 (KiB, MiB, ...) or 1000 (kB, MB, ...) */
	int power;	/* -1: human-readable, 0: raw bytes, 1..4: K..T */
};

/* Longest text units_format writes, NUL included. */
#define UNITS_STR_MAX 32

/*
 * Take btrfs-progs' unit options out of argv[1..argc-1]: -b|--raw,
 * -h|--human-readable, -H, --iec, --si, -k|--kbytes, -m|--mbytes,
 * -g|--gbytes, -t|--tbytes. The other arguments keep their order. Sets
 * *u (human-readable, base 1024 unless an option says otherwise) and
 * returns the new argc.
 */
int units_parse(int argc, char **argv, struct units *u);
/* v in u's units: "1.50GiB", "8388608", "16.38kB", "8192.00KiB". */
void units_format(const struct units *u, uint64_t v, char *out, size_t n);
/* 100 * part / whole with two decimals ("11.96"; "0.00" when whole is 0),
 * as printf's "%.2f" prints it. */
void units_percent(uint64_t part, uint64_t whole, char *out, size_t n);
/* v bytes as coreutils' -h (base 1024) or -H (base 1000) print them,
 * rounded up: "0", "512", "6.9M", "204M", "1.0G" (K for 1024, k for
 * 1000). */
void units_coreutils(uint64_t v, unsigned base, char *out, size_t n);

#endif
