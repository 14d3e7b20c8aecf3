/*
 * con_printf/con_vprintf and printk on top of con_write, shared by the
 * kernel and the host build. con_write sends a task's output where the
 * task's con_output (kept as its task_local pointer) says, else to the
 * console; error messages, printk and panic always go to the console.
 * Formatting uses the C library's vsnprintf into a stack buffer; output
 * longer than that goes through a heap buffer.
 */
#include <stdarg.h>
#include <stdio.h>

#include <ghee/alloc.h>
#include <ghee/console.h>
#include <ghee/log.h>
#include <ghee/task.h>

#define FORMAT_STACK_BUF 512

/* Messages above this level are dropped; written only by log_set_level. */
static enum log_level log_level = LOG_INFO;

void con_set_output(struct con_output *o)
{
	task_set_local(o);
}

struct con_output *con_get_output(void)
{
	return task_local();
}

void con_write(const char *s, size_t n)
{
	struct con_output *o = task_local();

	if (o)
		o->write(o, s, n);
	else
		con_write_console(s, n);
}

/* Format into a stack buffer (a heap one when longer) and give it to
 * write. */
static void format(void (*write)(const char *s, size_t n), const char *fmt,
		   va_list ap)
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
		write(buf, n);
		goto out;
	}
	big = kmalloc(n + 1);
	if (!big) {
		/* Out of memory: the truncated text is better than none. */
		write(buf, sizeof(buf) - 1);
		goto out;
	}
	vsnprintf(big, n + 1, fmt, again);
	write(big, n);
	kfree(big);
out:
	va_end(again);
}

void con_vprintf(const char *fmt, va_list ap)
{
	format(con_write, fmt, ap);
}

void con_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(con_write, fmt, ap);
	va_end(ap);
}

void con_veprintf(const char *fmt, va_list ap)
{
	format(con_write_console, fmt, ap);
}

void con_eprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	format(con_write_console, fmt, ap);
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
	con_write_console(buf, n);
}
