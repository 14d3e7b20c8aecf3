#ifndef SHELL_ARGS_H
#define SHELL_ARGS_H

/*
 * Split line (modified in place) into at most max arguments. Returns the
 * count, or a negative errno after printing what is wrong (unterminated
 * quote, too many arguments).
 */
int args_split(char *line, char **argv, int max);

#endif
