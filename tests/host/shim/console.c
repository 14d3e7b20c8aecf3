/*
 * Host console: stdin and stdout, or (for unit tests) a memory buffer in and
 * a growing capture buffer out. Output is buffered by stdio and flushed
 * whenever input is awaited, so prompts appear before the shell blocks.
 * cap_lock keeps each write whole, and the capture buffer consistent, when
 * many tasks print at once.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ghee/console.h>

#include "host.h"

static const char *in_buf;	/* test input, or NULL for stdin */
static size_t in_len, in_pos;
static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static int capturing;		/* [cap_lock] */
static char *cap;		/* [cap_lock] captured output, NUL-terminated */
static size_t cap_len, cap_size;	/* [cap_lock] */

void host_console_set_input(const char *buf, size_t n)
{
	in_buf = buf;
	in_len = n;
	in_pos = 0;
}

void host_console_capture(int on)
{
	pthread_mutex_lock(&cap_lock);
	capturing = on;
	cap_len = 0;
	if (cap)
		cap[0] = 0;
	pthread_mutex_unlock(&cap_lock);
}

const char *host_console_output(void)
{
	return cap ? cap : "";
}

int con_getc(void)
{
	int c;

	if (in_buf)
		return in_pos < in_len ? (unsigned char)in_buf[in_pos++]
				       : CON_EOF;
	fflush(stdout);
	c = getchar();
	return c == EOF ? CON_EOF : c;
}

/* Append to the capture buffer; caller holds cap_lock. */
static void capture(const char *s, size_t n)
{
	if (cap_len + n + 1 > cap_size) {
		size_t size = (cap_len + n + 1) * 2;
		char *p = realloc(cap, size);

		if (!p) {
			fprintf(stderr, "console capture: out of memory\n");
			abort();
		}
		cap = p;
		cap_size = size;
	}
	memcpy(cap + cap_len, s, n);
	cap_len += n;
	cap[cap_len] = 0;
}

/* The host tool's Ctrl-C stops this task (tools/ghee.c reads it). */
static int intr_task;	/* [a] */
static void (*intr_hook)(int id);	/* [I] set before the shell runs */

void host_console_on_interrupt(void (*fn)(int id))
{
	intr_hook = fn;
}

void con_interrupt_task(int id)
{
	__atomic_store_n(&intr_task, id, __ATOMIC_RELAXED);
	if (intr_hook)
		intr_hook(id);
}

int host_console_interrupt_task(void)
{
	return __atomic_load_n(&intr_task, __ATOMIC_RELAXED);
}

int con_is_terminal(void)
{
	int cap_on;

	pthread_mutex_lock(&cap_lock);
	cap_on = capturing;
	pthread_mutex_unlock(&cap_lock);
	return !in_buf && !cap_on && isatty(STDOUT_FILENO);
}

void con_write_console(const char *s, size_t n)
{
	if (n == 0)
		return;	/* s may be NULL then; fwrite wants a buffer */
	pthread_mutex_lock(&cap_lock);
	if (capturing)
		capture(s, n);
	else
		fwrite(s, 1, n, stdout);
	pthread_mutex_unlock(&cap_lock);
}
