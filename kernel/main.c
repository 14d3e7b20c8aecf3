/*
 * kmain: bring the machine up in dependency order, then run the shell.
 *
 *   per-CPU data, CPU tables, clocks (TSC against the PIT, then the LAPIC
 *   timer against the TSC, over a window that spans the next steps) and
 *   interrupt controllers (found in ACPI), the console, memory and
 *   paging, the scheduler and its tick, the other
 *   CPUs (the first comes up while the devices are found); then the
 *   shell starts as a task and the boot flow becomes CPU 0's idle task.
 *   The boot time printed is TSC ticks from the first boot instruction to
 *   the prompt.
 */
#include <string.h>

#include <ghee/console.h>
#include <ghee/log.h>
#include <ghee/system.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../boot/boot_info.h"
#include "../drivers/drivers.h"
#include "../shell/shell.h"
#include "arch/x86_64/acpi.h"
#include "arch/x86_64/arch.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/smp.h"
#include "console/uart.h"
#include "mm/kmalloc.h"
#include "mm/page_alloc.h"
#include "panic.h"
#include "sched/sched.h"
#include "system_internal.h"
#include "time_internal.h"

/* Nonzero when the command line holds the word w (space-separated). */
static int cmdline_has(const char *cmdline, const char *w)
{
	size_t n = strlen(w);
	const char *p = cmdline;

	while ((p = strstr(p, w)) != NULL) {
		if ((p == cmdline || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* The shell task: the console's reader. Ends the machine at end of input. */
static int shell_task(void *arg)
{
	(void)arg;
	shell_main();
	sys_poweroff();
}

void kmain(struct boot_info *bi)
{
	struct task *shell;
	uint64_t boot_ns;

	smp_boot_cpu_init();
	gdt_init();
	idt_init();
	pic_disable();
	time_init(bi->entry_tsc, tsc_calibrate());
	acpi_init(bi->rsdp);
	apic_init();
	uart_init();
	panic_set_exit(cmdline_has(bi->cmdline, "panic=exit"));
	page_alloc_init(bi);
	paging_init();
	kmalloc_init();
	system_init(bi);
	sched_init();
	apic_timer_calibrate();
	smp_init();
	drivers_init(bi);
	smp_wait();
	apic_timer_start(TICK_HZ);
	irq_enable();

	con_printf("ghee %s (%s boot)\n", GHEE_VERSION, bi->protocol);
	if (bi->nr_mem == 0)
		pr_warn("the boot loader gave no memory map");
	boot_ns = time_ns();
	con_printf("ghee: booted in %lu.%lu ms\n",
		   (unsigned long)(boot_ns / 1000000),
		   (unsigned long)(boot_ns / 100000 % 10));
	shell = task_create("shell", shell_task, NULL, TASK_PRIO_INTERACTIVE);
	if (!shell)
		panic("no memory for the shell task");
	task_detach(shell);
	sched_idle();
}
