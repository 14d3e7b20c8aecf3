/*
 * The sampling profiler behind the shell's `profile` (include/ghee/profile.h).
 *
 * While a profile runs, every CPU's timer interrupt (kernel/sched/timer.c,
 * at the profile's rate) calls sample() with the interrupted state: the
 * function of the interrupted instruction and those of the return
 * addresses on the frame-pointer chain (the kernel is built with
 * -fno-omit-frame-pointer), innermost first, up to PROFILE_DEPTH. An
 * idle CPU is sampled too: its time shows as the idle loop, sched_idle.
 * Names come from the kernel's own symbol table (ksym.c).
 *
 * Samples with the same chain of functions share one slot of an
 * open-addressing hash table allocated when the profile starts, so
 * memory does not grow with the run; a sample that finds no free slot
 * within MAX_PROBES is counted as lost.
 *
 * The walk trusts a frame pointer only inside the interrupted task's
 * stack, 8-byte aligned and above the previous one, and stops at the
 * first return address outside the kernel's functions: code without
 * frame pointers (newlib's) makes a chain short, never makes the walk
 * read outside the stack. The interrupted function's caller is missed
 * when the interrupt came before its prologue saved the frame pointer.
 *
 * prof_lock (a leaf; the timer interrupt takes it with interrupts off,
 * everyone else with irqsave) protects `prof` and the table it points
 * to. `prof` is non-NULL exactly while a profile runs.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/profile.h>
#include <ghee/sync.h>
#include <ghee/time.h>

#include "arch/x86_64/arch.h"
#include "ksym.h"
#include "mm/page_alloc.h"
#include "sched/sched.h"
#include "sched/task_internal.h"
#include "sched/timer.h"

#define PROFILE_SLOTS	8192	/* distinct chains one profile keeps */
#define MAX_PROBES	64	/* slots tried before a sample is lost */

struct prof_slot {
	uint32_t samples;		/* 0: the slot is free */
	uint32_t depth;			/* entries in sym */
	uint32_t sym[PROFILE_DEPTH];	/* ksym indices (or KSYM_NONE),
					 * innermost first */
};

struct prof {
	struct prof_slot *slots;	/* PROFILE_SLOTS */
	uint64_t lost;			/* samples without a slot */
	uint64_t start_ns;		/* time_ns() at the start */
	uint32_t hz;			/* sampling rate */
};

static struct spinlock prof_lock = SPINLOCK_INIT("profile");
static struct prof *prof;	/* [prof_lock] the running profile, or NULL */

/* Fill k with where the interrupted code was: its function, then the
 * functions of the frame-pointer chain on the current task's stack. */
static void walk(const struct trap_frame *f, struct prof_slot *k)
{
	struct task *t = current_task();
	uint64_t rbp = f->rbp, lo, hi;

	k->sym[0] = ksym_find(f->rip);
	k->depth = 1;
	/* CPU 0's idle loop runs on the boot stack, no task stack. */
	if (!t->stack)
		return;
	lo = (uintptr_t)t->stack + PAGE_SIZE;	/* above the guard page */
	hi = task_stack_top(t);
	while (k->depth < PROFILE_DEPTH && rbp >= lo && rbp + 16 <= hi &&
	       !(rbp & 7)) {
		const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
		/* A return address may be the first byte after its
		 * function (a call that does not return): look one back. */
		uint32_t sym = ksym_find(frame[1] - 1);

		if (sym == KSYM_NONE)
			break;
		k->sym[k->depth++] = sym;
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
}

static uint32_t chain_hash(const struct prof_slot *k)
{
	uint32_t h = 2166136261u, i;	/* FNV-1a over the indices */

	for (i = 0; i < k->depth; i++)
		h = (h ^ k->sym[i]) * 16777619u;
	return h;
}

/* Count sample k in p's table. Caller holds prof_lock. */
static void record(struct prof *p, const struct prof_slot *k)
{
	uint32_t h = chain_hash(k), i;
	size_t bytes = k->depth * sizeof(k->sym[0]);

	for (i = 0; i < MAX_PROBES; i++) {
		struct prof_slot *s = &p->slots[(h + i) % PROFILE_SLOTS];

		if (!s->samples) {
			s->depth = k->depth;
			memcpy(s->sym, k->sym, bytes);
		} else if (s->depth != k->depth || memcmp(s->sym, k->sym, bytes)) {
			continue;
		}
		s->samples++;
		return;
	}
	p->lost++;
}

/* The timer interrupt's hook while a profile runs (interrupts off). */
static void sample(const struct trap_frame *f)
{
	struct prof_slot k;

	walk(f, &k);
	spin_lock(&prof_lock);
	if (prof)
		record(prof, &k);
	spin_unlock(&prof_lock);
}

int profile_start(uint32_t hz)
{
	struct prof *p;
	unsigned long flags;

	_Static_assert(PROFILE_HZ_STEP % TICK_HZ == 0,
		       "profile rates must be whole multiples of the tick");
	if (!hz || hz > PROFILE_HZ_MAX || hz % PROFILE_HZ_STEP)
		return -EINVAL;
	p = kzalloc(sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->slots = kzalloc(PROFILE_SLOTS * sizeof(*p->slots));
	if (!p->slots) {
		kfree(p);
		return -ENOMEM;
	}
	p->hz = hz;
	p->start_ns = time_ns();
	flags = spin_lock_irqsave(&prof_lock);
	if (prof) {
		spin_unlock_irqrestore(&prof_lock, flags);
		kfree(p->slots);
		kfree(p);
		return -EBUSY;
	}
	prof = p;
	spin_unlock_irqrestore(&prof_lock, flags);
	timer_set_sampling(sample, hz);
	return 0;
}

/* Name function sym (an index from walk). */
static const char *sym_name(uint32_t sym)
{
	return sym == KSYM_NONE ? "[unknown]" : ksym_name(sym);
}

/* Copy the used slots of p into r. 0 or -ENOMEM. */
static int result_fill(const struct prof *p, struct profile_result *r)
{
	size_t i, n = 0;
	uint32_t d;

	for (i = 0; i < PROFILE_SLOTS; i++)
		n += p->slots[i].samples != 0;
	r->chains = kzalloc((n ? n : 1) * sizeof(*r->chains));
	if (!r->chains)
		return -ENOMEM;
	for (i = 0; i < PROFILE_SLOTS; i++) {
		const struct prof_slot *s = &p->slots[i];
		struct profile_chain *c = &r->chains[r->nr_chains];

		if (!s->samples)
			continue;
		c->samples = s->samples;
		c->depth = (int)s->depth;
		for (d = 0; d < s->depth; d++)
			c->func[d] = sym_name(s->sym[d]);
		r->samples += s->samples;
		r->nr_chains++;
	}
	return 0;
}

int profile_stop(struct profile_result *r)
{
	unsigned long flags;
	struct prof *p;
	int ret;

	timer_set_sampling(NULL, TICK_HZ);
	flags = spin_lock_irqsave(&prof_lock);
	p = prof;
	prof = NULL;
	spin_unlock_irqrestore(&prof_lock, flags);
	if (!p)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->ns = time_ns() - p->start_ns;
	r->hz = p->hz;
	r->cpus = nr_cpus;
	r->lost = p->lost;
	ret = result_fill(p, r);
	kfree(p->slots);
	kfree(p);
	return ret;
}

void profile_result_free(struct profile_result *r)
{
	kfree(r->chains);
	r->chains = NULL;
	r->nr_chains = 0;
}
