/*
 * The host tool: `ghee [IMAGE...]` runs ghee's shell on the host, with the
 * image files as its disks (vda, vdb, ... in order; a "ro:" prefix opens
 * one read-only), so that one command script runs unchanged here and in
 * QEMU, plus the host-only import and export (tools/host_copy.c).
 * Commands come from stdin; on a terminal the terminal is put in raw
 * mode for the line editor and restored on exit.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <ghee/task.h>

#include "../shell/shell.h"
#include "../tests/host/shim/host.h"
#include "host_copy.h"

static struct termios saved_tio, raw_tio;

static void restore_terminal(void)
{
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
}

/* While a command runs, the interrupt key raises SIGINT (nobody reads
 * the terminal then); at the prompt it is a byte for the line editor. */
static void interrupt_key(int id)
{
	struct termios tio = raw_tio;

	if (id)
		tio.c_lflag |= ISIG;
	tcsetattr(STDIN_FILENO, TCSANOW, &tio);
}

/* Take SIGINT here, not in a signal handler (task_stop takes locks). */
static void *interrupt_thread(void *arg)
{
	sigset_t *set = arg;
	int sig, id;

	for (;;)
		if (sigwait(set, &sig) == 0 &&
		    (id = host_console_interrupt_task()) > 0)
			task_stop(id);
	return NULL;
}

/* Raw input (no line buffering, echo or signals: the editor does all),
 * and Ctrl-C stopping the running command. */
static void raw_terminal(void)
{
	static sigset_t set;
	pthread_t thread;

	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return;
	raw_tio = saved_tio;
	raw_tio.c_lflag &= ~(ICANON | ECHO | ISIG | IEXTEN);
	raw_tio.c_iflag &= ~(IXON | ICRNL);
	raw_tio.c_cc[VMIN] = 1;
	raw_tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw_tio))
		return;
	atexit(restore_terminal);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) == 0 &&
	    pthread_create(&thread, NULL, interrupt_thread, &set) == 0) {
		pthread_detach(thread);
		host_console_on_interrupt(interrupt_key);
	}
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
