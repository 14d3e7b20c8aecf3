/*
 * Split a command line into arguments, in place. Words are separated by
 * spaces or tabs. 'single quotes' keep everything literally; "double
 * quotes" keep spaces and allow \", \\ and \xHH (any byte, so names with
 * control bytes can be typed and scripted); outside quotes a backslash
 * makes the next character literal. Quotes join adjacent text: a'b c'd is
 * one argument "ab cd".
 */
#include <errno.h>

#include <ghee/console.h>

#include "args.h"

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copy one word starting at *src into dst (dst <= src, same buffer).
 * Returns 0, or -EINVAL for an unterminated quote. */
static int take_word(char **src, char **dst)
{
	char *s = *src, *d = *dst;
	char quote = 0;

	for (; *s; s++) {
		if (quote) {
			if (*s == quote)
				quote = 0;
			else if (quote == '"' && *s == '\\' &&
				 (s[1] == '"' || s[1] == '\\'))
				*d++ = *++s;
			else if (quote == '"' && *s == '\\' && s[1] == 'x' &&
				 hex_digit(s[2]) >= 0 && hex_digit(s[3]) >= 0) {
				*d++ = (char)(hex_digit(s[2]) * 16 +
					      hex_digit(s[3]));
				s += 3;
			}
			else
				*d++ = *s;
		} else if (*s == ' ' || *s == '\t') {
			break;
		} else if (*s == '\'' || *s == '"') {
			quote = *s;
		} else if (*s == '\\' && s[1]) {
			*d++ = *++s;
		} else {
			*d++ = *s;
		}
	}
	if (quote)
		return -EINVAL;
	*src = s;
	*dst = d;
	return 0;
}

int args_split(char *line, char **argv, int max)
{
	char *s = line, *d = line;
	int argc = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (argc == max) {
			con_printf("error: too many arguments (at most %d)\n",
				   max - 1);
			return -E2BIG;
		}
		argv[argc++] = d;
		if (take_word(&s, &d)) {
			con_printf("error: unterminated quote\n");
			return -EINVAL;
		}
		/* The word's end may overwrite the separator we stopped at,
		 * so step past it before terminating the copy. */
		if (*s)
			s++;
		*d++ = 0;
	}
	return argc;
}
