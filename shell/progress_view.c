/*
 * Progress display. A command counts as long once it has run for
 * SHOW_AFTER_NS; from then on a terminal shows a bar, redrawn in place
 * ("\r", the line, erase to its end) at each update, and taken off when
 * the command ends; a console that is not a terminal (a script, a log)
 * gets a plain "progress: ..." line at most every PLAIN_EVERY_NS.
 *
 * Rates and time left are averages over the current phase. Counts in
 * bytes are shown in btrfs-progs' human-readable units.
 */
#include <stdio.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/progress.h>
#include <ghee/time.h>

#include "progress_view.h"
#include "units.h"

#define SHOW_AFTER_NS (1000 * 1000000ull)
#define PLAIN_EVERY_NS (5000 * 1000000ull)
#define BAR_WIDTH 20

/* A count in the phase's unit: sizes for bytes, plain numbers else. */
static void count_text(const struct progress *p, uint64_t v, char *out,
		       size_t n)
{
	static const struct units human = { 1024, -1 };

	if (p->unit && !strcmp(p->unit, "bytes"))
		units_format(&human, v, out, n);
	else
		snprintf(out, n, "%llu", (unsigned long long)v);
}

/* The line for p, with its percentage in *pct (-1: no total). */
static void format_line(const struct progress *p, char *out, size_t n,
			int *pct)
{
	uint64_t ms = (time_ns() - p->start_ns) / 1000000, rate, left;
	const char *unit = p->unit ? p->unit : "";
	int bytes = !strcmp(unit, "bytes");
	char done[UNITS_STR_MAX], total[UNITS_STR_MAX], r[UNITS_STR_MAX];
	size_t len;

	*pct = -1;
	count_text(p, p->done, done, sizeof(done));
	if (!p->total) {
		len = snprintf(out, n, "%s: %s%s%s", p->phase, done,
			       bytes ? "" : " ", bytes ? "" : unit);
	} else {
		*pct = (int)(p->done >= p->total ? 100 :
			     p->total < UINT64_MAX / 100 ?
			     p->done * 100 / p->total :
			     p->done / (p->total / 100));
		count_text(p, p->total, total, sizeof(total));
		len = snprintf(out, n, "%s: %s/%s%s%s (%d%%)", p->phase, done,
			       total, bytes ? "" : " ", bytes ? "" : unit,
			       *pct);
	}
	if (ms < 100 || len >= n)
		return;
	rate = p->done < UINT64_MAX / 1000 ? p->done * 1000 / ms :
	       p->done / ms * 1000;
	count_text(p, rate, r, sizeof(r));
	len += snprintf(out + len, n - len, ", %s%s%s/s", r,
			bytes ? "" : " ", bytes ? "" : unit);
	if (p->total > p->done && rate && len < n) {
		left = (p->total - p->done) / rate;
		snprintf(out + len, n - len, ", %llu:%02llu left",
			 (unsigned long long)(left / 60),
			 (unsigned long long)(left % 60));
	}
}

void progress_view_line(int id, char *out, size_t n)
{
	struct progress p;
	int pct;

	out[0] = 0;
	if (progress_get(id, &p) || !p.phase)
		return;
	format_line(&p, out, n, &pct);
}

void progress_view_begin(struct progress_view *v, int id)
{
	v->id = id;
	v->terminal = con_is_terminal();
	v->drawn = 0;
	v->start_ns = v->last_ns = time_ns();
}

void progress_view_update(struct progress_view *v)
{
	char line[PROGRESS_LINE_MAX], bar[BAR_WIDTH + 1];
	uint64_t now = time_ns();
	struct progress p;
	int pct, i;

	if (now - v->start_ns < SHOW_AFTER_NS ||
	    progress_get(v->id, &p) || !p.phase)
		return;
	format_line(&p, line, sizeof(line), &pct);
	if (!v->terminal) {
		if (now - v->last_ns < PLAIN_EVERY_NS)
			return;
		v->last_ns = now;
		con_printf("progress: %s\n", line);
		return;
	}
	for (i = 0; i < BAR_WIDTH; i++)
		bar[i] = pct >= 0 && i < pct * BAR_WIDTH / 100 ? '#' : '-';
	bar[BAR_WIDTH] = 0;
	con_printf("\r[%s] %s\x1b[K", pct >= 0 ? bar : "working...", line);
	v->drawn = 1;
}

void progress_view_end(struct progress_view *v)
{
	if (v->drawn)
		con_write("\r\x1b[K", 4);
	v->drawn = 0;
}
