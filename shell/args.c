/*
 * Split a command line into arguments, in place. Words are separated by
 * spaces or tabs. 'single quotes' keep everything literally; "double
 * quotes" keep spaces and allow \", \\ and \xHH (any byte, so names with
 * control bytes can be typed and scripted); outside quotes a backslash
 * makes the next character literal. Quotes join adjacent text: a'b c'd is
 * one argument "ab cd". The shell's operators (| < > >> &) are words of
 * their own when asked for (args_split's ops), unless quoted or escaped.
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

static const char *const op_text[] = { "", "|", "<", ">", ">>", "&" };

/* The operator at s (when operators count), or ARGS_WORD. */
static int op_at(const char *s, int ops)
{
	if (!ops)
		return ARGS_WORD;
	switch (*s) {
	case '|': return ARGS_PIPE;
	case '<': return ARGS_IN;
	case '>': return s[1] == '>' ? ARGS_APPEND : ARGS_OUT;
	case '&': return ARGS_BG;
	default: return ARGS_WORD;
	}
}

/* Copy one word starting at *src into dst (dst <= src, same buffer);
 * with ops, an unquoted operator ends it. Returns 0, or -EINVAL for an
 * unterminated quote. */
static int take_word(char **src, char **dst, int ops)
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
		} else if (*s == ' ' || *s == '\t' || op_at(s, ops)) {
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

/* Make room for one more word; print the error when there is none. */
static int room(int argc, int max)
{
	if (argc < max)
		return 0;
	con_eprintf("error: too many arguments (at most %d)\n", max - 1);
	return -E2BIG;
}

int args_split(char *line, char **argv, unsigned char *ops, int max)
{
	char *s = line, *d = line;
	int argc = 0, op;

	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		op = op_at(s, ops != NULL);
		if (!op) {
			if (room(argc, max))
				return -E2BIG;
			if (ops)
				ops[argc] = ARGS_WORD;
			argv[argc++] = d;
			if (take_word(&s, &d, ops != NULL)) {
				con_eprintf("error: unterminated quote\n");
				return -EINVAL;
			}
			/* The word's end may overwrite the byte we stopped
			 * at: read it first, and step past a separator. */
			op = op_at(s, ops != NULL);
			if (!op && *s)
				s++;
			*d++ = 0;
			if (!op)
				continue;
		}
		/* An operator's text is a constant: copied into line it
		 * could overrun bytes not read yet ("a|b"). */
		if (room(argc, max))
			return -E2BIG;
		argv[argc] = (char *)op_text[op];
		ops[argc++] = (unsigned char)op;
		s += op == ARGS_APPEND ? 2 : 1;
	}
	return argc;
}
