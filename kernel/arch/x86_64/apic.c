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
 * Vectors: legacy ISA IRQ n arrives at IRQ_BASE + n (through the IOAPIC,
 * ISA IRQs are assumed identity-mapped to GSIs, which holds for QEMU's q35
 * except IRQ 0, which ghee does not use), the LAPIC timer at VEC_TIMER,
 * spurious interrupts at VEC_SPURIOUS (no EOI for those).
 *
 * The LAPIC timer is calibrated once against the TSC (itself calibrated
 * against the PIT) and then runs periodically at TICK_HZ.
 *
 * All state here is written once on the boot CPU before interrupts are
 * enabled, and read-only after.
 */
#include <errno.h>
#include <stdint.h>

#include <ghee/time.h>

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

#define IOAPIC_MMIO	0xfec00000ul
#define IOAPIC_REGSEL	0x00
#define IOAPIC_WIN	0x10
#define IOAPIC_VER	0x01
#define IOAPIC_REDIR(n)	(0x10 + 2 * (n))
#define REDIR_MASKED	0x10000

#define CALIB_NS	10000000ull	/* 10 ms of TSC time */

static int x2apic;		/* [I] registers are MSRs */
static uint32_t bsp_apic_id;	/* [I] destination of device interrupts */
static uint32_t ioapic_pins;	/* [I] redirection entries */
static uint64_t lapic_timer_hz;	/* [I] timer counts per second (div 16) */

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr"
			 : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

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
	*(volatile uint32_t *)(IOAPIC_MMIO + IOAPIC_REGSEL) = reg;
	return *(volatile uint32_t *)(IOAPIC_MMIO + IOAPIC_WIN);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(IOAPIC_MMIO + IOAPIC_REGSEL) = reg;
	*(volatile uint32_t *)(IOAPIC_MMIO + IOAPIC_WIN) = v;
}

/* Enable this CPU's LAPIC (x2APIC mode when offered), with LINT0/LINT1
 * masked (the 8259 is not used) and every priority accepted. */
static void lapic_enable(void)
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
	/* xAPIC keeps the ID in bits 31:24; x2APIC uses the whole register. */
	bsp_apic_id = x2apic ? lapic_read(LAPIC_ID) : lapic_read(LAPIC_ID) >> 24;
}

/* Mask every IOAPIC pin; apic_route_irq opens them one by one. */
static void ioapic_init(void)
{
	uint32_t i;

	ioapic_pins = ((ioapic_read(IOAPIC_VER) >> 16) & 0xff) + 1;
	for (i = 0; i < ioapic_pins; i++) {
		ioapic_write(IOAPIC_REDIR(i) + 1, 0);
		ioapic_write(IOAPIC_REDIR(i), REDIR_MASKED | (IRQ_BASE + i));
	}
}

/* Count LAPIC timer ticks (divide by 16) during CALIB_NS of TSC time. */
static void lapic_timer_calibrate(void)
{
	uint64_t start, elapsed;
	uint32_t left;

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
	start = time_ns();
	while ((elapsed = time_ns() - start) < CALIB_NS)
		cpu_relax();
	left = lapic_read(LAPIC_TIMER_CUR);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_timer_hz = (uint64_t)(0xffffffffu - left) * 1000000000ull /
			 elapsed;
}

void apic_init(void)
{
	lapic_enable();
	ioapic_init();
	lapic_timer_calibrate();
}

void apic_timer_start(void)
{
	uint64_t count = lapic_timer_hz / TICK_HZ;

	lapic_write(LAPIC_TIMER_DIV, TIMER_DIV_16);
	lapic_write(LAPIC_LVT_TIMER, LVT_PERIODIC | VEC_TIMER);
	lapic_write(LAPIC_TIMER_INIT, count ? (uint32_t)count : 1);
}

int apic_route_irq(int irq)
{
	unsigned long flags;

	if (irq < 0 || (uint32_t)irq >= ioapic_pins || irq >= 16)
		return -EINVAL;
	flags = irq_save();
	/* Physical destination mode, edge-triggered, active high, fixed. */
	ioapic_write(IOAPIC_REDIR(irq) + 1, bsp_apic_id << 24);
	ioapic_write(IOAPIC_REDIR(irq), IRQ_BASE + irq);
	irq_restore(flags);
	return 0;
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
