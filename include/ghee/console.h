/*
 * Console service: the byte stream the shell talks over. In the kernel it is
 * the serial port (kernel/console); on the host it is stdin/stdout.
 */
#ifndef GHEE_CONSOLE_H
#define GHEE_CONSOLE_H

#include <stdarg.h>
#include <stddef.h>

/* End of input: the host's stdin reached EOF. */
#define CON_EOF (-1)

/* Wait for and return the next input byte (0..255), or CON_EOF. */
int con_getc(void);
/* Write n bytes to the console, translating "\n" to "\r\n" where needed. */
void con_write(const char *s, size_t n);
/* Formatted output to the console (no log prefix). */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void con_vprintf(const char *fmt, va_list ap);
/* Error messages: like con_printf, but for what a command says went
 * wrong, so that it reaches the person even when the command's output is
 * redirected (as stderr does). */
void con_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * While id > 0, a Ctrl-C (byte 3) arriving on the console stops task id
 * (task_stop) instead of being read, as a terminal's interrupt key stops
 * the foreground command; 0 turns this off. Bytes around it keep their
 * order.
 */
void con_interrupt_task(int id);
/* Nonzero when a person at a terminal reads the console (progress bars
 * are redrawn in place); zero for scripts and logs. */
int con_is_terminal(void);

#endif
