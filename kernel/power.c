/*
 * Power control. Under QEMU the run script attaches isa-debug-exit at port
 * 0xf4, which ends QEMU with a status that says clean stop or failure. On a
 * machine without it, poweroff falls back to the q35 ACPI PM1a control
 * register and reboot to the chipset reset register, then the keyboard
 * controller; if all fail the CPU halts.
 */
#include <ghee/system.h>

#include "arch/x86_64/cpu.h"
#include "power.h"

#define DEBUG_EXIT_PORT	0xf4
#define Q35_PM1A_CNT	0x604	/* ICH9 ACPI PM1a control */
#define PM1_SLP_EN_S5	0x2000	/* SLP_EN with SLP_TYP 0 (S5 on QEMU) */
#define RESET_CONTROL	0xcf9	/* PIIX/ICH reset control register */
#define KBC_COMMAND	0x64

void power_exit_qemu(uint32_t value)
{
	outl(DEBUG_EXIT_PORT, value);
}

static __attribute__((noreturn)) void halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void sys_poweroff(void)
{
	irq_save();
	power_exit_qemu(QEMU_EXIT_SUCCESS);
	__asm__ volatile("outw %0, %1" : : "a"((uint16_t)PM1_SLP_EN_S5),
			 "Nd"((uint16_t)Q35_PM1A_CNT));
	halt_forever();
}

void sys_reboot(void)
{
	irq_save();
	outb(RESET_CONTROL, 0x06);	/* full reset */
	outb(KBC_COMMAND, 0xfe);	/* pulse the reset line */
	halt_forever();
}
