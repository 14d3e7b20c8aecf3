/*
 * The kernel console: con_getc/con_write over the serial port. con_lock
 * (irqsave; ranked last, nothing is taken inside it) keeps each write whole
 * when several CPUs or an interrupt handler print at once.
 */
#include <string.h>

#include <ghee/console.h>
#include <ghee/sync.h>
#include <ghee/system.h>

#include "../system_internal.h"
#include "uart.h"

static struct spinlock con_lock = SPINLOCK_INIT("console");

int con_getc(void)
{
	return uart_getc();
}

void con_interrupt_task(int id)
{
	uart_interrupt_task(id);
}

/* The console is a terminal unless the command line's last tty= word says
 * tty=0 (scripts/run.sh adds it when its input is not a terminal). */
int con_is_terminal(void)
{
	const char *tty = sys_cmdline_value("tty");

	return !tty || tty[0] != '0';
}

void con_write_console(const char *s, size_t n)
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
