/*
 * The kernel's GDTs and TSSs, one of each per CPU (a TSS is marked busy
 * in the GDT that loads it, and each CPU needs a double-fault stack of
 * its own). Only flat 64-bit code/data segments exist; the TSS is there
 * for its interrupt stack table: a double fault (for example from a
 * kernel stack overflow) switches to a stack of its own, so the trap
 * handler can still print what happened.
 *
 * Each CPU fills and loads its own slot, once, as it starts; nothing is
 * shared.
 */
#include <stdint.h>
#include <string.h>

#include "../../sched/sched.h"
#include "arch.h"

#define IST_STACK_SIZE 8192

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];	/* stacks for privilege changes (unused) */
	uint64_t reserved1;
	uint64_t ist[7];	/* interrupt stack table, IST1..IST7 */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;	/* past the limit: no I/O bitmap */
} __attribute__((packed));

static struct tss tss[NR_CPUS_MAX];
static uint8_t double_fault_stack[NR_CPUS_MAX][IST_STACK_SIZE]
	__attribute__((aligned(16)));

/* Per CPU: null, code, data, TSS (16 bytes, two slots) */
static uint64_t gdts[NR_CPUS_MAX][5] __attribute__((aligned(16)));

struct gdt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

void gdt_init(void)
{
	gdt_init_cpu(0);
}

void gdt_init_cpu(int cpu)
{
	struct tss *ts = &tss[cpu];
	uint64_t *gdt = gdts[cpu];
	uint64_t base = (uintptr_t)ts;
	uint64_t limit = sizeof(*ts) - 1;
	struct gdt_ptr ptr = { sizeof(gdts[0]) - 1, (uintptr_t)gdt };

	memset(ts, 0, sizeof(*ts));
	ts->ist[IST_DOUBLE_FAULT - 1] =
		(uintptr_t)(double_fault_stack[cpu] + IST_STACK_SIZE);
	ts->iomap_base = sizeof(*ts);

	gdt[0] = 0;
	gdt[GDT_KERNEL_CS / 8] = 0x00af9a000000ffffull;
	gdt[GDT_KERNEL_DS / 8] = 0x00cf92000000ffffull;
	/* 64-bit available TSS descriptor (type 9, present). */
	gdt[GDT_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			   (0x89ull << 40) | (((limit >> 16) & 0xf) << 48) |
			   (((base >> 24) & 0xff) << 56);
	gdt[GDT_TSS / 8 + 1] = base >> 32;

	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w2, %%ds\n\t"
			 "movw %w2, %%es\n\t"
			 "movw %w2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(ptr), "i"(GDT_KERNEL_CS), "r"(GDT_KERNEL_DS),
			   "r"(GDT_TSS)
			 : "rax", "memory");
}
