/*
 * Multiprocessor support: per-CPU data, bringing up the other CPUs
 * (the APs), and the two cross-CPU calls the kernel needs (reschedule,
 * TLB shootdown).
 *
 * Per-CPU data: cpus[i] (sched.h) is CPU i's; its GS base points there,
 * so %gs:0 is this_cpu(). The boot CPU is cpus[0].
 *
 * Bring-up (smp_init and smp_wait, on the boot CPU once the scheduler
 * runs): the
 * MADT (acpi.c) lists the LAPIC IDs; for every one but ours, one at a
 * time: make an idle task (its stack becomes the CPU's first stack),
 * point ap_start64's variables at it, send INIT, wait 10 ms (on bare
 * metal only: a hypervisor's CPU takes the Start-up IPI at once), send a
 * Start-up IPI for the trampoline (trampoline.S, copied to
 * SMP_TRAMPOLINE) and, if the CPU has not checked in after 1 ms, a
 * second one, as the MP specification wants. The AP loads its own
 * GDT/TSS and the shared IDT, enables its LAPIC and timer, and becomes
 * the idle task of its cpus[] slot (ap_main). smp_init only starts the
 * first AP and smp_wait waits for it, so it comes up while the boot CPU
 * finds the devices (under TCG an AP takes milliseconds to come up); the
 * others start one after another in smp_wait. A started CPU's slot counts
 * in nr_cpus from its start (offline until it comes up: cross-CPU calls
 * and the scheduler skip it), so it is never online and uncounted.
 *
 * A CPU that is merely slow (its vCPU not run by a busy host) must not
 * be mistaken for a dead one, and a dead one must not stop the boot. So
 * the start is claimed by compare-and-swap on ap_claim, by whichever
 * side gets there first: the AP, as the first thing it does (then the
 * boot CPU waits for it to come online however long that takes: from
 * there on it runs only our code), or the boot CPU when a second has
 * passed without the AP (then the AP, if it ever arrives, halts for good
 * without touching anything: the boot went on without it, and counts
 * only the CPUs that came online). After a CPU is given up no more are
 * tried: the late one may still be reading ap_start64's variables.
 *
 * Reschedule IPI: the sender set the target's need_resched; the IPI just
 * interrupts it, and the interrupt's exit hook (the scheduler's
 * preemption point) switches.
 *
 * TLB shootdown: one at a time. tlb_busy (a flag taken by compare-and-
 * swap, a leaf, never held across sleep) protects tlb_page; tlb_pending
 * has one bit per CPU that still has to flush. A requester waits with
 * interrupts in whatever state its caller had, so a CPU waiting for its
 * own turn serves pending requests while it spins: two CPUs shooting
 * down at once, each with interrupts off, cannot deadlock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/log.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../../sched/sched.h"
#include "../../sched/task_internal.h"
#include "../../system_internal.h"
#include "acpi.h"
#include "arch.h"
#include "cpu.h"
#include "smp.h"

#define MSR_GS_BASE	0xc0000101
#define INIT_WAIT_NS	10000000ull	/* INIT to Start-up IPI, bare metal */
#define SIPI_WAIT_NS	1000000ull	/* first Start-up IPI to the second */
#define CLAIM_WAIT_NS	1000000000ull	/* then, until the AP claims its start */
#define CPUID1_HYPERVISOR (1u << 31)	/* CPUID 1 ECX: running in a VM */

extern const char smp_trampoline_start[], smp_trampoline_end[];
__attribute__((noreturn)) void ap_main(int cpu);

/* Read by ap_start64 (trampoline.S) on the CPU being started; written by
 * the boot CPU before each start. */
uint64_t smp_ap_cr3;
uint64_t smp_ap_stack;
uint32_t smp_ap_cpu;

/* Who claimed the start of the AP being started (the header says how). */
enum ap_claim {
	AP_UNCLAIMED,	/* the boot CPU is waiting for the AP */
	AP_ARRIVED,	/* the AP runs: it will come online */
	AP_GIVEN_UP,	/* the boot went on without it */
};
static int ap_claim;		/* [a] enum ap_claim, of the current start */
static int ap_parked;		/* [a] APs that arrived after they were given up */

/* Debug (smp_ap_delay_ms=MS on the command line, for the QEMU test of a
 * late CPU): every AP spins this long before it claims its start. */
static uint64_t ap_delay_ns;	/* [I] before the first AP starts */

static int tlb_busy;		/* [a] a shootdown is in progress */
static const void *tlb_page;	/* [tlb_busy] the page to flush */
static uint64_t tlb_pending;	/* [a] bit i: CPU i has yet to flush it */

static void set_gs_base(struct cpu *c)
{
	c->self = c;
	wrmsr(MSR_GS_BASE, (uintptr_t)c);
}

void smp_boot_cpu_init(void)
{
	cpus[0].id = 0;
	set_gs_base(&cpus[0]);
}

/* Flush the page a shootdown asks for, if it asks this CPU. */
static void tlb_serve(void)
{
	uint64_t me = 1ull << this_cpu()->id;

	if (!(__atomic_load_n(&tlb_pending, __ATOMIC_ACQUIRE) & me))
		return;
	invlpg(tlb_page);
	__atomic_fetch_and(&tlb_pending, ~me, __ATOMIC_RELEASE);
}

static void resched_ipi(void)
{
	/* Nothing to do here: the exit hook looks at need_resched. */
}

void smp_send_resched(struct cpu *c)
{
	apic_send_ipi(c->apic_id, VEC_IPI_RESCHED);
}

void smp_tlb_shootdown(const void *page)
{
	struct cpu *self;
	uint64_t others = 0;
	int i, idle = 0;

	preempt_disable();
	self = this_cpu();
	for (i = 0; i < nr_cpus; i++)
		if (&cpus[i] != self &&
		    __atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
			others |= 1ull << i;
	if (others) {
		while (!__atomic_compare_exchange_n(&tlb_busy, &idle, 1, 0,
						    __ATOMIC_ACQUIRE,
						    __ATOMIC_RELAXED)) {
			idle = 0;
			tlb_serve();
			cpu_relax();
		}
		tlb_page = page;
		__atomic_store_n(&tlb_pending, others, __ATOMIC_RELEASE);
		for (i = 0; i < nr_cpus; i++)
			if (others & 1ull << i)
				apic_send_ipi(cpus[i].apic_id, VEC_IPI_TLB);
		while (__atomic_load_n(&tlb_pending, __ATOMIC_ACQUIRE))
			cpu_relax();
		__atomic_store_n(&tlb_busy, 0, __ATOMIC_RELEASE);
	}
	preempt_enable();
}

static void delay_ns(uint64_t ns)
{
	uint64_t end = time_ns() + ns;

	while (time_ns() < end)
		cpu_relax();
}

/* Halt for good: nothing of this CPU's was set up, nothing must be. */
static __attribute__((noreturn)) void ap_park(void)
{
	__atomic_fetch_add(&ap_parked, 1, __ATOMIC_RELAXED);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* First C code of an AP, on its idle task's stack (ap_start64). */
void ap_main(int cpu)
{
	struct cpu *c = &cpus[cpu];
	int unclaimed = AP_UNCLAIMED;

	delay_ns(ap_delay_ns);
	if (!__atomic_compare_exchange_n(&ap_claim, &unclaimed, AP_ARRIVED, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		ap_park();
	set_gs_base(c);
	gdt_init_cpu(cpu);
	idt_load();
	if (apic_init_ap() != c->apic_id)
		pr_warn("cpu %d: LAPIC ID %u, the MADT said %u", cpu,
			(unsigned)apic_id(), (unsigned)c->apic_id);
	sched_init_ap(c);
	apic_timer_start(TICK_HZ);
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	sched_idle();
}

/* Wait up to ns for the AP to claim its start; nonzero if it did. */
static int wait_claimed(uint64_t ns)
{
	uint64_t end = time_ns() + ns;

	while (__atomic_load_n(&ap_claim, __ATOMIC_ACQUIRE) == AP_UNCLAIMED) {
		if (time_ns() >= end)
			return 0;
		cpu_relax();
	}
	return 1;
}

/* Give the AP up unless it claimed its start just now; nonzero if given
 * up. */
static int give_up(void)
{
	int unclaimed = AP_UNCLAIMED;

	return __atomic_compare_exchange_n(&ap_claim, &unclaimed, AP_GIVEN_UP,
					   0, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

/* MP specification's wait between INIT and Start-up IPI; none in a VM. */
static uint64_t init_wait_ns(void)
{
	uint32_t a, b, c, d;

	cpuid(1, 0, &a, &b, &c, &d);
	return c & CPUID1_HYPERVISOR ? 0 : INIT_WAIT_NS;
}

int cpu_parked_count(void)
{
	return __atomic_load_n(&ap_parked, __ATOMIC_RELAXED);
}

/* Start the CPU with LAPIC ID apic in slot nr_cpus, counted in nr_cpus
 * from now on (offline until it comes up): idle task, ap_start64's
 * variables, INIT and the first Start-up IPI. 0 or -ENOMEM. */
static int start_cpu(uint32_t apic)
{
	struct cpu *c = &cpus[nr_cpus];
	struct task *idle = task_create_idle(nr_cpus);

	if (!idle)
		return -ENOMEM;
	c->id = nr_cpus;
	c->apic_id = apic;
	c->idle = idle;
	smp_ap_cr3 = read_cr3();
	smp_ap_stack = task_stack_top(idle);
	smp_ap_cpu = nr_cpus;
	__atomic_store_n(&ap_claim, AP_UNCLAIMED, __ATOMIC_SEQ_CST);
	__atomic_store_n(&nr_cpus, nr_cpus + 1, __ATOMIC_RELEASE);
	apic_send_init(apic);
	delay_ns(init_wait_ns());
	apic_send_startup(apic, SMP_TRAMPOLINE >> 12);
	return 0;
}

/* Wait for the CPU start_cpu started last to come online, or give it up
 * (uncounted again: its idle task stays, as its stack). 0 or -ETIMEDOUT. */
static int finish_cpu(void)
{
	struct cpu *c = &cpus[nr_cpus - 1];

	if (!wait_claimed(SIPI_WAIT_NS)) {
		apic_send_startup(c->apic_id, SMP_TRAMPOLINE >> 12);
		if (!wait_claimed(CLAIM_WAIT_NS) && give_up()) {
			__atomic_store_n(&nr_cpus, nr_cpus - 1, __ATOMIC_RELEASE);
			return -ETIMEDOUT;
		}
	}
	while (!__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
		cpu_relax();
	return 0;
}

/* Start the MADT's CPU at index i; 0, or <0 when no more are to be tried. */
static int start_next(int i)
{
	const struct acpi_info *ai = acpi_info();
	int ret;

	if (nr_cpus == NR_CPUS_MAX) {
		pr_warn("smp: only %d CPUs are used", NR_CPUS_MAX);
		return -ENOSPC;
	}
	ret = start_cpu(ai->apic_ids[i]);
	if (ret < 0)
		pr_err("smp: no memory to start the CPU with LAPIC ID %u",
		       (unsigned)ai->apic_ids[i]);
	return ret;
}

/* Index in the MADT's list of the CPU after i that is not this one, or
 * the list's length. */
static int next_other(int i)
{
	const struct acpi_info *ai = acpi_info();

	for (i++; i < ai->nr_cpus && ai->apic_ids[i] == cpus[0].apic_id; i++)
		;
	return i;
}

static int first_started = -1;	/* [I] MADT index smp_init started, or -1 */

void smp_init(void)
{
	const char *delay = sys_cmdline_value("smp_ap_delay_ms");
	int first;

	if (delay)
		ap_delay_ns = strtoull(delay, NULL, 10) * 1000000;
	cpus[0].apic_id = apic_id();
	__atomic_store_n(&cpus[0].online, 1, __ATOMIC_RELEASE);
	irq_set_ipi_handler(VEC_IPI_RESCHED, resched_ipi);
	irq_set_ipi_handler(VEC_IPI_TLB, tlb_serve);
	memcpy((void *)SMP_TRAMPOLINE, smp_trampoline_start,
	       smp_trampoline_end - smp_trampoline_start);
	first = next_other(-1);
	if (first < acpi_info()->nr_cpus && start_next(first) == 0)
		first_started = first;
}

void smp_wait(void)
{
	const struct acpi_info *ai = acpi_info();
	int i = first_started;

	while (i >= 0 && i < ai->nr_cpus) {
		if (finish_cpu() < 0) {
			pr_err("smp: CPU with LAPIC ID %u did not start: going "
			       "on with %d CPUs", (unsigned)ai->apic_ids[i],
			       nr_cpus);
			return;
		}
		i = next_other(i);
		if (i < ai->nr_cpus && start_next(i) < 0)
			return;
	}
}
