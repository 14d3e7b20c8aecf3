/*
 * The kernel console: con_getc/con_write over the serial port. con_lock
 * (irqsave; ranked last, nothing is taken inside it) keeps each write whole
 * when several CPUs or an interrupt handler print at once.
 */
#include <ghee/console.h>
#include <ghee/sync.h>

#include "uart.h"

static struct spinlock con_lock = SPINLOCK_INIT("console");

int con_getc(void)
{
	return uart_getc();
}

void con_write(const char *s, size_t n)
{
	unsigned long flags = spin_lock_irqsave(&con_lock);
	size_t start = 0, i;

	/* The terminal wants "\r\n" for a new line. */
	for (i = 0; i < n; i++) {
		if (s[i] != '\n')
			continue;
		uart_write(s + start, i - start);
		uart_write("\r\n", 2);
		start = i + 1;
	}
	uart_write(s + start, n - start);
	spin_unlock_irqrestore(&con_lock, flags);
}
