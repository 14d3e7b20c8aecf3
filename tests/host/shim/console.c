/*
 * Host console: stdin and stdout, or (for unit tests) a memory buffer in and
 * a growing capture buffer out. Output is buffered by stdio and flushed
 * whenever input is awaited, so prompts appear before the shell blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/console.h>

#include "host.h"

static const char *in_buf;	/* test input, or NULL for stdin */
static size_t in_len, in_pos;
static int capturing;
static char *cap;		/* captured output, NUL-terminated */
static size_t cap_len, cap_size;

void host_console_set_input(const char *buf, size_t n)
{
	in_buf = buf;
	in_len = n;
	in_pos = 0;
}

void host_console_capture(int on)
{
	capturing = on;
	cap_len = 0;
	if (cap)
		cap[0] = 0;
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

void con_write(const char *s, size_t n)
{
	if (capturing)
		capture(s, n);
	else
		fwrite(s, 1, n, stdout);
}
