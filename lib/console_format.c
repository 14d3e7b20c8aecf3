/*
 * con_printf/con_vprintf and printk on top of con_write, shared by the
 * kernel and the host build. Formatting uses the C library's vsnprintf
 * into a stack buffer; output longer than that goes through a heap buffer.
 */
#include <stdarg.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/log.h>

#define FORMAT_STACK_BUF 512

/* Messages above this level are dropped; written only by log_set_level. */
static enum log_level log_level = LOG_INFO;

void con_vprintf(const char *fmt, va_list ap)
{
	char buf[FORMAT_STACK_BUF];
	char *big;
	va_list again;
	int n;

	va_copy(again, ap);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	if (n < 0)
		goto out;
	if ((size_t)n < sizeof(buf)) {
		con_write(buf, n);
		goto out;
	}
	big = kmalloc(n + 1);
	if (!big) {
		/* Out of memory: the truncated text is better than none. */
		con_write(buf, sizeof(buf) - 1);
		goto out;
	}
	vsnprintf(big, n + 1, fmt, again);
	con_write(big, n);
	kfree(big);
out:
	va_end(again);
}

void con_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	con_vprintf(fmt, ap);
	va_end(ap);
}

void con_eprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	con_vprintf(fmt, ap);
	va_end(ap);
}

void log_set_level(enum log_level level)
{
	log_level = level;
}

void printk(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[LOG_ERR] = "error: ",
		[LOG_WARN] = "warning: ",
		[LOG_INFO] = "",
		[LOG_DEBUG] = "debug: ",
	};
	char buf[FORMAT_STACK_BUF];
	va_list ap;
	int n;

	if (level > log_level)
		return;
	n = snprintf(buf, sizeof(buf), "%s", prefix[level]);
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	if ((size_t)n >= sizeof(buf) - 1)
		n = sizeof(buf) - 2;
	if (n == 0 || buf[n - 1] != '\n')
		buf[n++] = '\n';
	con_write(buf, n);
}
