/*
 * System facts for the shell: where we run (`version`) and memory figures
 * (`mem`). The boot_info pointer is kept from kmain; it lives in the boot
 * image's data and never changes after boot. system_init also reads the
 * debug switch "lockdep=off" of the command line; sys_cmdline_value finds
 * the kernel's other KEY=VALUE words there.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/system.h>

#include "mm/kmalloc.h"
#include "panic.h"
#include "sync/lockdep.h"
#include "mm/page_alloc.h"
#include "system_internal.h"

static const struct boot_info *boot_info;	/* [I] */
static char platform[192];			/* [I] */

void system_init(const struct boot_info *bi)
{
	boot_info = bi;
	lockdep_set_enabled(strstr(bi->cmdline, "lockdep=off") == NULL);
	snprintf(platform, sizeof(platform), "x86-64, %s boot%s%s%s%s",
		 bi->protocol, bi->loader[0] ? " by " : "", bi->loader,
		 bi->firmware[0] ? " on " : "", bi->firmware);
}

const char *sys_platform(void)
{
	return platform;
}

const char *sys_cmdline(void)
{
	return boot_info->cmdline;
}

const char *sys_cmdline_value(const char *key)
{
	const char *c = boot_info->cmdline, *p, *last = NULL;
	size_t n = strlen(key);

	for (p = c; (p = strstr(p, key)) != NULL; p += n)
		if ((p == c || p[-1] == ' ') && p[n] == '=')
			last = p + n + 1;
	return last;
}

void sys_mem_report(void)
{
	uint64_t ram = 0, total, free, lowest;
	uint32_t i;

	for (i = 0; i < boot_info->nr_mem; i++)
		if (boot_info->mem[i].type == BOOT_MEM_USABLE)
			ram += boot_info->mem[i].len;
	page_alloc_stats(&total, &free);
	lowest = page_alloc_lowest_free();
	con_printf("RAM %lu KiB in %u map entries; pages: %lu usable, "
		   "%lu free (%lu KiB)\n",
		   (unsigned long)(ram >> 10), (unsigned)boot_info->nr_mem,
		   (unsigned long)total, (unsigned long)free,
		   (unsigned long)(free * PAGE_SIZE >> 10));
	con_printf("peak use since the last mem: %lu pages (%lu KiB)\n",
		   (unsigned long)(total - lowest),
		   (unsigned long)((total - lowest) * PAGE_SIZE >> 10));
	kmalloc_report();
}

int sys_fault(const char *kind)
{
	/* volatile: keep the compiler from seeing (and removing) the fault */
	volatile uint64_t zero = 0;
	volatile uint64_t *unmapped = (volatile uint64_t *)(8ull << 40);

	if (strcmp(kind, "page") == 0)
		return (int)*unmapped;
	if (strcmp(kind, "divide") == 0)
		return (int)(1 / zero);
	if (strcmp(kind, "panic") == 0)
		panic("fault command");
	return -EINVAL;
}
