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
/*
 * Where a task's output goes instead of the console: the shell points a
 * command's task at its pipe or redirected file (shell/stream.c). write
 * takes every byte or keeps the error for its owner to report; it is
 * called by the task itself, with no lock of the console held.
 */
struct con_output {
	void (*write)(struct con_output *o, const char *s, size_t n);
};

/* Send the calling task's con_write and con_printf to o from now on
 * (NULL: back to the console). o must outlive its use. */
void con_set_output(struct con_output *o);
/* The calling task's output, NULL when it is the console. */
struct con_output *con_get_output(void);

/* Write n bytes of the calling task's output: to its con_output when it
 * has one, else to the console. */
void con_write(const char *s, size_t n);
/* Write n bytes to the console itself, whatever the task's output,
 * translating "\n" to "\r\n" where needed (kernel/console, host shim). */
void con_write_console(const char *s, size_t n);
/* Formatted output of the calling task (con_write; no log prefix). */
void con_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void con_vprintf(const char *fmt, va_list ap);
/* Error messages: formatted like con_printf, but always to the console,
 * so that they reach the person even when the command's output is a pipe
 * or a file (as stderr does). printk and panic write there too. */
void con_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void con_veprintf(const char *fmt, va_list ap);

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
