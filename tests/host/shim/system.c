/* Host system control: poweroff ends the program; memory figures come
 * from the C library's allocator. */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/system.h>

#include "host.h"

void sys_poweroff(void)
{
	fflush(stdout);
	host_disks_close();
	exit(0);
}

void sys_reboot(void)
{
	con_printf("reboot: the host tool cannot reboot; exiting\n");
	sys_poweroff();
}

const char *sys_platform(void)
{
	return "host tool";
}

const char *sys_cmdline(void)
{
	return "";
}

void sys_mem_report(void)
{
	struct mallinfo2 mi = mallinfo2();

	con_printf("heap: %zu bytes in use, %zu bytes free in the arena\n",
		   mi.uordblks, mi.fordblks);
}

int sys_fault(const char *kind)
{
	if (strcmp(kind, "page") && strcmp(kind, "divide") &&
	    strcmp(kind, "panic"))
		return -EINVAL;
	fprintf(stderr, "fault: %s requested; aborting\n", kind);
	abort();
}
