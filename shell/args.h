#ifndef SHELL_ARGS_H
#define SHELL_ARGS_H

/* What a word of a split line is: an argument, or an unquoted operator. */
enum args_op {
	ARGS_WORD = 0,
	ARGS_PIPE,	/* | */
	ARGS_IN,	/* < */
	ARGS_OUT,	/* > */
	ARGS_APPEND,	/* >> */
	ARGS_BG,	/* & */
};

/*
 * Split line (modified in place) into at most max arguments. With ops
 * (max entries), the unquoted operators | < > >> & are words of their own
 * even without spaces around them ("a>b" is three words), and ops[i]
 * says which each word is; their argv text is a constant string. Without
 * ops they are ordinary characters. Returns the count, or a negative errno
 * after printing what is wrong (unterminated quote, too many arguments).
 */
int args_split(char *line, char **argv, unsigned char *ops, int max);

#endif
