/*
 * Interrupt controllers: the local APIC of each CPU and the I/O APIC.
 *
 * The 8259 PICs are remapped out of the way and masked entirely (pic.c);
 * device interrupts go IOAPIC -> LAPIC, and the LAPIC's own timer drives
 * the scheduler tick. The LAPIC runs in x2APIC mode (registers as MSRs)
 * when CPUID offers it, else in xAPIC mode (registers in the MMIO page at
 * the APIC base); lapic_read/lapic_write hide the difference, register
 * numbers are the xAPIC MMIO offsets.
 *
 * Vectors: legacy ISA IRQ n arrives at IRQ_BASE + n (through the IOAPIC
 * pin of its GSI, with the polarity and trigger mode of the MADT's
 * interrupt source override, if any: acpi.c), the LAPIC timer at
 * VEC_TIMER, the IPIs at VEC_IPI_*, spurious interrupts at VEC_SPURIOUS
 * (no EOI for those). Device interrupts go to the boot CPU.
 *
 * Every CPU enables its own LAPIC (apic_init on the boot CPU,
 * apic_init_ap on the others). The LAPIC timer is calibrated once on the
 * boot CPU against the TSC (itself calibrated against the PIT), over a
 * window that apic_init opens and apic_timer_calibrate closes, so the boot
 * goes on meanwhile instead of waiting the window out; every CPU's timer
 * then runs periodically at TICK_HZ with that count (QEMU's
 * LAPIC timers all run at one rate), or faster while the profiler
 * samples (kernel/sched/timer.c).
 *
 * IPIs: apic_send_ipi writes the ICR with interrupts off (in xAPIC mode
 * it is two registers, and an interrupt handler sending an IPI between
 * the two writes would garble it).
 *
 * All other state here is written once on the boot CPU before the other
 * CPUs start or interrupts are enabled, and read-only after.
 */
#include <errno.h>
#include <stdint.h>

#include <ghee/time.h>

#include "acpi.h"
#include "arch.h"
#include "cpu.h"

#define MSR_APIC_BASE		0x1b
#define APIC_BASE_ENABLE	(1u << 11)
#define APIC_BASE_X2APIC	(1u << 10)
#define MSR_X2APIC_FIRST	0x800	/* x2APIC register r is MSR 0x800 + r/16 */
#define CPUID1_ECX_X2APIC	(1u << 21)

#define LAPIC_MMIO	0xfee00000ul
#define LAPIC_ID	0x20
#define LAPIC_TPR	0x80
#define LAPIC_EOI	0xb0
#define LAPIC_SVR	0xf0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERROR	0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	0x390
#define LAPIC_TIMER_DIV	0x3e0
#define SVR_ENABLE	0x100
#define LVT_MASKED	0x10000
#define LVT_PERIODIC	0x20000
#define LVT_NMI		0x400
#define TIMER_DIV_16	0x3

#define ICR_PENDING	(1u << 12)	/* xAPIC: delivery not yet accepted */
#define ICR_INIT	0x4500		/* INIT, level assert */
#define ICR_STARTUP	0x4600		/* Start-up IPI, level assert */
#define ICR_FIXED	0x4000		/* fixed delivery, level assert */
#define X2APIC_ICR	0x830		/* the whole ICR as one MSR */
#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDIR(n)	(0x10 + 2 * (n))
#define REDIR_MASKED	0x10000
#define REDIR_ACTIVE_LOW 0x2000
#define REDIR_LEVEL	0x8000

#define CALIB_NS	500000ull	/* 0.5 ms of TSC time: 31,250 ticks at QEMU's rate */
#define CALIB_ERR	100	/* ends uncertain by under 1/100 of it: done */
#define CALIB_TRIES	8

static int x2apic;		/* [I] registers are MSRs */
static uint32_t bsp_apic_id;	/* [I] destination of device interrupts */
static uintptr_t ioapic_mmio;	/* [I] IOAPIC register window */
static uint32_t ioapic_pins;	/* [I] redirection entries */
static uint64_t lapic_timer_hz;	/* [I] timer counts per second (div 16) */
static uint32_t calib_count;	/* [I] timer count at the window's start */
static uint64_t calib_ns, calib_err;	/* [I] its time and uncertainty */

static uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_FIRST + reg / 16);
	return *(volatile uint32_t *)(LAPIC_MMIO + reg);
}

static void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(MSR_X2APIC_FIRST + reg / 16, v);
	else
		*(volatile uint32_t *)(LAPIC_MMIO + reg) = v;
}

static uint32_t ioapic_read(uint32_t reg)
{
	*(volatile uint32_t *)(ioapic_mmio + IOAPIC_REGSEL) = reg;
	return *(volatile uint32_t *)(ioapic_mmio + IOAPIC_WIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(ioapic_mmio + IOAPIC_REGSEL) = reg;
	*(volatile uint32_t *)(ioapic_mmio + IOAPIC_WIN) = v;
}

/* Enable this CPU's LAPIC (x2APIC mode when offered), with LINT0/LINT1
 * masked (the 8259 is not used) and every priority accepted. Returns its
 * LAPIC ID. */
static uint32_t lapic_enable(void)
{
	uint32_t a, b, c, d;
	uint64_t base;

	cpuid(1, 0, &a, &b, &c, &d);
	base = rdmsr(MSR_APIC_BASE) | APIC_BASE_ENABLE;
	if (c & CPUID1_ECX_X2APIC) {
		base |= APIC_BASE_X2APIC;
		x2apic = 1;
	}
	wrmsr(MSR_APIC_BASE, base);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	lapic_write(LAPIC_TPR, 0);
	return apic_id();
}

uint32_t apic_id(void)
{
	/* xAPIC keeps the ID in bits 31:24; x2APIC uses the whole register. */
	return x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
}

/* Mask every IOAPIC pin; apic_route_irq opens them one by one. */
static void ioapic_init(void)
{
	uint32_t i;

	ioapic_mmio = acpi_info()->ioapic_addr;

	ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
	for (i = 0; i < ioapic_pins; i++) {
		ioapic_write(IOAPIC_REDIR(i) + 1, 0);
		ioapic_write(IOAPIC_REDIR(i), REDIR_MASKED | (IRQ_BASE + i));
	}
}

/* The LAPIC timer's count, read between two clock reads: *ns is their
 * midpoint, *err their distance (a vCPU paused there by the host). */
static uint32_t timer_count_at(uint64_t *ns, uint64_t *err)
{
	uint64_t before = time_ns(), after;
	uint32_t left = lapic_read(LAPIC_TIMER_CUR);

	after = time_ns();
	*ns = before + (after - before) / 2;
	*err = after - before;
	return left;
}

/* Open a calibration window: the timer counts down (divide by 16,
 * masked) from its largest count. */
static void calib_begin(void)
{
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	calib_count = timer_count_at(&calib_ns, &calib_err);
}

void apic_init(void)
{
	bsp_apic_id = lapic_enable();
	ioapic_init();
	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	calib_begin();
}

/* Close the window apic_init opened (waiting until it spans CALIB_NS of
 * TSC time, which the boot's work in between usually covers): timer ticks
 * over TSC time. A window whose ends are uncertain by more than
 * 1/CALIB_ERR of it is measured again, up to CALIB_TRIES times. */
void apic_timer_calibrate(void)
{
	uint64_t t1, e1;
	uint32_t c1;
	int i;

	for (i = 0; i < CALIB_TRIES; i++) {
		if (i)
			calib_begin();
		do
			c1 = timer_count_at(&t1, &e1);
		while (t1 - calib_ns < CALIB_NS);
		lapic_timer_hz = (uint64_t)(calib_count - c1) * 1000000000ull /
				 (t1 - calib_ns);
		if ((calib_err + e1) * CALIB_ERR < t1 - calib_ns)
			break;
	}
	lapic_write(LAPIC_TIMER_INIT, 0);
}

uint32_t apic_init_ap(void)
{
	return lapic_enable();
}

void apic_timer_start(uint32_t hz)
{
	uint64_t count = lapic_timer_hz / hz;

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, count ? (uint32_t)count : 1);
}

int apic_route_irq(int irq)
{
	const struct acpi_info *ai = acpi_info();
	uint32_t pin, lo = IRQ_BASE + irq;
	unsigned long flags;

	if (irq < 0 || irq >= 16)
		return -EINVAL;
	pin = ai->isa_gsi[irq] - ai->ioapic_gsi_base;
	if (ai->isa_gsi[irq] < ai->ioapic_gsi_base || pin >= ioapic_pins)
		return -EINVAL;
	/* ISA defaults are edge and active high; an override may say not. */
	if ((ai->isa_flags[irq] & ACPI_ISO_POLARITY) == ACPI_ISO_ACTIVE_LOW)
		lo |= REDIR_ACTIVE_LOW;
	if ((ai->isa_flags[irq] & ACPI_ISO_TRIGGER) == ACPI_ISO_LEVEL)
		lo |= REDIR_LEVEL;
	flags = irq_save();
	/* Physical destination mode, fixed delivery, to the boot CPU. */
	ioapic_write(IOAPIC_REDIR(pin) + 1, bsp_apic_id << 24);
	ioapic_write(IOAPIC_REDIR(pin), lo);
	irq_restore(flags);
	return 0;
}

/* Write the ICR: send icr_lo's IPI to LAPIC dest, and wait (xAPIC) until
 * the LAPIC accepted it. */
static void send_icr(uint32_t dest, uint32_t icr_lo)
{
	unsigned long flags = irq_save();

	if (x2apic) {
		wrmsr(X2APIC_ICR, (uint64_t)dest << 32 | icr_lo);
	} else {
		lapic_write(LAPIC_ICR_HI, dest << 24);
		lapic_write(LAPIC_ICR_LO, icr_lo);
		while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
			cpu_relax();
	}
	irq_restore(flags);
}

void apic_send_ipi(uint32_t dest, int vector)
{
	send_icr(dest, ICR_FIXED | (uint32_t)vector);
}

void apic_send_init(uint32_t dest)
{
	send_icr(dest, ICR_INIT);
}

void apic_send_startup(uint32_t dest, uint32_t page)
{
	send_icr(dest, ICR_STARTUP | (page & 0xff));
}

uint32_t apic_boot_cpu_id(void)
{
	return bsp_apic_id;
}

void apic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

uint64_t apic_timer_hz(void)
{
	return lapic_timer_hz;
}

int apic_x2apic(void)
{
	return x2apic;
}
