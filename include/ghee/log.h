/*
 * Kernel log: printk with levels. Messages at or below the console level go
 * to the console with a prefix naming the level ("error: ", "warning: ").
 */
#ifndef GHEE_LOG_H
#define GHEE_LOG_H

enum log_level {
	LOG_ERR = 0,	/* something failed; the message says what and where */
	LOG_WARN = 1,	/* recovered, but the user should know (bad copy used) */
	LOG_INFO = 2,	/* normal progress (mounted, booted) */
	LOG_DEBUG = 3,	/* detail for developers; off by default */
};

void printk(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Messages above this level are dropped (default LOG_INFO). */
void log_set_level(enum log_level level);

#define pr_err(...) printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) printk(LOG_WARN, __VA_ARGS__)
#define pr_info(...) printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

#endif
