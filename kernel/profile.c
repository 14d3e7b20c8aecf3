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
 * Sleeps are recorded too (profile_wait_begin/end, called by schedule()
 * for a task that goes to sleep): the sleeping task's frame-pointer
 * chain from schedule()'s caller out, and the time until it runs again.
 * A CPU profile shows that time only as sched_idle, or as another task's
 * samples; the waits say what each task was waiting for (the disk, a
 * lock, a commit). A sleep is recorded if the profile ran at both ends.
 *
 * Samples (and sleeps) with the same chain of functions share one slot
 * of an open-addressing hash table allocated when the profile starts, so
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
 * everyone else with irqsave) protects `prof` and the tables it points
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
#define WAIT_SLOTS	1024	/* distinct chains of sleeps */
#define MAX_PROBES	64	/* slots tried before a sample is lost */

struct prof_slot {
	uint64_t ns;			/* wait slots: time slept */
	uint32_t samples;		/* 0: the slot is free */
	uint32_t depth;			/* entries in sym */
	uint32_t sym[PROFILE_DEPTH];	/* ksym indices (or KSYM_NONE),
					 * innermost first */
};

struct prof {
	struct prof_slot *slots;	/* PROFILE_SLOTS */
	uint64_t lost;			/* samples without a slot */
	struct prof_slot *waits;	/* WAIT_SLOTS */
	uint64_t waits_lost;		/* sleeps without a slot */
	uint64_t start_ns;		/* time_ns() at the start */
	uint32_t hz;			/* sampling rate */
};

static struct spinlock prof_lock = SPINLOCK_INIT("profile");
static struct prof *prof;	/* [prof_lock] the running profile, or NULL;
				 * profile_wait_begin reads it unlocked, as a
				 * hint (end checks it again, locked) */

/* Append to k the functions of t's frame-pointer chain from rbp out. */
static void walk_stack(const struct task *t, uint64_t rbp,
		       struct prof_slot *k)
{
	uint64_t lo, hi;

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

/* Fill k with where the interrupted code was: its function, then the
 * functions of the frame-pointer chain on the current task's stack. */
static void walk(const struct trap_frame *f, struct prof_slot *k)
{
	k->sym[0] = ksym_find(f->rip);
	k->depth = 1;
	walk_stack(current_task(), f->rbp, k);
}

static uint32_t chain_hash(const struct prof_slot *k)
{
	uint32_t h = 2166136261u, i;	/* FNV-1a over the indices */

	for (i = 0; i < k->depth; i++)
		h = (h ^ k->sym[i]) * 16777619u;
	return h;
}

/* Count k (with ns slept, for a sleep) in table (size slots); 0, or
 * -ENOSPC when no slot is free within MAX_PROBES. Caller holds
 * prof_lock. */
static int record(struct prof_slot *table, uint32_t size,
		  const struct prof_slot *k, uint64_t ns)
{
	uint32_t h = chain_hash(k), i;
	size_t bytes = k->depth * sizeof(k->sym[0]);

	for (i = 0; i < MAX_PROBES; i++) {
		struct prof_slot *s = &table[(h + i) % size];

		if (!s->samples) {
			s->depth = k->depth;
			memcpy(s->sym, k->sym, bytes);
		} else if (s->depth != k->depth || memcmp(s->sym, k->sym, bytes)) {
			continue;
		}
		s->samples++;
		s->ns += ns;
		return 0;
	}
	return -ENOSPC;
}

/* The timer interrupt's hook while a profile runs (interrupts off). */
static void sample(const struct trap_frame *f)
{
	struct prof_slot k;

	walk(f, &k);
	spin_lock(&prof_lock);
	if (prof && record(prof->slots, PROFILE_SLOTS, &k, 0))
		prof->lost++;
	spin_unlock(&prof_lock);
}

void profile_wait_begin(struct profile_wait *w)
{
	struct task *t = current_task();
	struct prof_slot k;
	uint64_t *frame = __builtin_frame_address(0);

	w->start_ns = 0;
	if (!__atomic_load_n(&prof, __ATOMIC_RELAXED) ||
	    t->state != TASK_SLEEPING)
		return;
	/* frame[0]: schedule()'s frame, whose return address is in the
	 * function that went to sleep */
	k.depth = 0;
	walk_stack(t, frame[0], &k);
	w->depth = k.depth;
	memcpy(w->sym, k.sym, k.depth * sizeof(k.sym[0]));
	w->start_ns = time_ns();
}

void profile_wait_end(const struct profile_wait *w)
{
	struct prof_slot k;
	unsigned long flags;
	uint64_t ns;

	if (!w->start_ns)
		return;
	ns = time_ns() - w->start_ns;
	k.depth = w->depth;
	memcpy(k.sym, w->sym, w->depth * sizeof(w->sym[0]));
	flags = spin_lock_irqsave(&prof_lock);
	if (prof && record(prof->waits, WAIT_SLOTS, &k, ns))
		prof->waits_lost++;
	spin_unlock_irqrestore(&prof_lock, flags);
}

static void prof_free(struct prof *p)
{
	kfree(p->slots);
	kfree(p->waits);
	kfree(p);
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
	p->waits = kzalloc(WAIT_SLOTS * sizeof(*p->waits));
	if (!p->slots || !p->waits) {
		prof_free(p);
		return -ENOMEM;
	}
	p->hz = hz;
	p->start_ns = time_ns();
	flags = spin_lock_irqsave(&prof_lock);
	if (prof) {
		spin_unlock_irqrestore(&prof_lock, flags);
		prof_free(p);
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

/* Copy the used slots of table (size of them) into *out (*n of them),
 * adding their samples to *samples unless it is NULL. 0 or -ENOMEM. */
static int chains_fill(const struct prof_slot *table, uint32_t size,
		       struct profile_chain **out, size_t *n,
		       uint64_t *samples)
{
	size_t i, used = 0;
	uint32_t d;

	for (i = 0; i < size; i++)
		used += table[i].samples != 0;
	*out = kzalloc((used ? used : 1) * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < size; i++) {
		const struct prof_slot *s = &table[i];
		struct profile_chain *c = &(*out)[*n];

		if (!s->samples)
			continue;
		c->samples = s->samples;
		c->ns = s->ns;
		c->depth = (int)s->depth;
		for (d = 0; d < s->depth; d++)
			c->func[d] = sym_name(s->sym[d]);
		if (samples)
			*samples += s->samples;
		(*n)++;
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
	r->waits_lost = p->waits_lost;
	ret = chains_fill(p->slots, PROFILE_SLOTS, &r->chains, &r->nr_chains,
			  &r->samples);
	if (ret == 0)
		ret = chains_fill(p->waits, WAIT_SLOTS, &r->waits,
				  &r->nr_waits, NULL);
	prof_free(p);
	if (ret)
		profile_result_free(r);
	return ret;
}

void profile_result_free(struct profile_result *r)
{
	kfree(r->chains);
	kfree(r->waits);
	r->chains = r->waits = NULL;
	r->nr_chains = r->nr_waits = 0;
}
