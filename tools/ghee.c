/*
 * The host tool: `ghee [IMAGE...]` runs ghee's shell on the host, with the
 * image files as its disks (vda, vdb, ... in order; a "ro:" prefix opens
 * one read-only), so that one command script runs unchanged here and in
 * QEMU, plus the host-only import and export (tools/host_copy.c).
 * Commands come from stdin; on a terminal the terminal is put in raw
 * mode for the line editor and restored on exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "../shell/shell.h"
#include "../tests/host/shim/host.h"
#include "host_copy.h"

static struct termios saved_tio;

static void restore_terminal(void)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
}

/* Raw input (no line buffering, echo or signals: the editor does all). */
static void raw_terminal(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	tio = saved_tio;
	tio.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
	tio.c_iflag &= ~(IXON | ICRNL);
	tio.c_cc[VMIN] = 1;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio) == 0)
		atexit(restore_terminal);
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		const char *path = argv[i];
		int ro = strncmp(path, "ro:", 3) == 0;

		if (strcmp(path, "-h") == 0 || strcmp(path, "--help") == 0) {
			printf("usage: %s [[ro:]IMAGE...]\n", argv[0]);
			return 0;
		}
		if (host_disk_open(ro ? path + 3 : path, ro))
			return 2;
	}
	if (isatty(STDIN_FILENO))
		raw_terminal();
	shell_register_extra(host_copy_commands);
	shell_main();
	fflush(stdout);
	host_disks_close();
	return 0;
}
