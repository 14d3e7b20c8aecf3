/*
 * Lock debugging, on in every build (the command line "lockdep=off" turns
 * it off, for benchmarks): a lock-order checker, and the checks for
 * taking a sleeping lock in atomic context, releasing a lock not held and
 * taking an rwsem for read that the task already holds (with a writer
 * queued in between, that deadlocks). Reports are warnings: they print
 * what happened with call chains and count (lockdep_reports), and the
 * kernel goes on, so a self test can provoke one. The checks that must
 * stop the kernel (spinlock recursion or release on the wrong CPU,
 * mutex and write-rwsem misuse, schedule() in atomic context) stay
 * panics in the lock code.
 *
 * Classes: a lock's class is its name and kind (spinlock, mutex, rwsem);
 * locks initialised with one name at one site share it. A lock caches its
 * class number (0: not yet looked up) in its struct.
 *
 * Order: when a task or CPU holding class A takes class B (not by
 * trylock, and B != A: nesting locks of one class, like tree nodes, is
 * allowed), the edge A -> B is recorded once, with the call chain that
 * first took it. A new edge A -> B when B already reaches A through
 * recorded edges closes a cycle: that is an inversion, reported with
 * this call chain and the recorded chain of each edge of the path from B
 * back to A, once per pair, and the closing edge is not recorded (so the
 * graph stays acyclic and the first order seen is the one kept).
 *
 * Held locks: spinlocks per CPU (a task holding one cannot migrate;
 * sched_lock is taken by one task and released by the next one on that
 * CPU), sleeping locks per task; both in struct lockdep_held, changed
 * only by their owner with interrupts off. An interrupt handler's locks
 * count as taken inside whatever the interrupted code holds, which is
 * the order that can deadlock.
 *
 * graph_busy (a flag taken with compare-and-swap and interrupts off; the
 * innermost lock of all, nothing is taken inside it and nothing here
 * prints while holding it) protects the class table, the edges and the
 * last report. The bitmap `after` is also read without it: bits are only
 * ever set, so a set bit seen racily is true, and a clear one is checked
 * again under the lock.
 */
#include <string.h>

#include <ghee/console.h>

#include "../arch/x86_64/cpu.h"
#include "../panic.h"
#include "../sched/sched.h"
#include "lockdep.h"

#define CLASS_MAX	256	/* lock classes; more are not checked */
#define EDGE_MAX	1024	/* recorded orders; more are not recorded */
#define TRACE_DEPTH	10	/* call chain entries kept per edge */
#define PATH_MAX_LEN	8	/* edges of a cycle that a report shows */
#define SLEEP_REPORTS	16	/* might_sleep reports printed at most */
#define WORDS		(CLASS_MAX / 64)

struct lock_class {
	const char *name;	/* [graph] the lock's name */
	enum lockdep_kind kind;	/* [graph] */
};

struct edge {
	uint16_t from, to;		/* [graph] from was held, to taken */
	int depth;			/* [graph] entries in trace */
	uint64_t trace[TRACE_DEPTH];	/* [graph] where it was first seen */
};

/* What to print once the graph lock is dropped. */
struct report {
	enum lockdep_report kind;
	const char *held, *taken;	/* class names */
	enum lockdep_kind held_kind, taken_kind;
	int path_len;			/* edges of the earlier path */
	struct edge path[PATH_MAX_LEN];	/* taken -> ... -> held */
	int depth;
	uint64_t trace[TRACE_DEPTH];	/* this call chain */
};

static const char *const kind_names[LOCKDEP_NR_KINDS] = {
	"spinlock", "mutex", "rwsem",
};

int lockdep_on = 1;			/* [I] after boot */
static int sched_started;		/* [a] */
static int graph_busy;			/* [a] the graph lock */
static struct lock_class classes[CLASS_MAX];	/* [graph] 0 unused */
static int nr_classes = 1;		/* [graph] */
static uint64_t after[CLASS_MAX][WORDS];	/* [graph] edges, bit per to */
static uint64_t reported[CLASS_MAX][WORDS];	/* [graph] pairs reported */
static struct edge edges[EDGE_MAX];	/* [graph] */
static int nr_edges;			/* [graph] */
static uint64_t nr_reports;		/* [a] */
static int sleep_reports;		/* [a] */
static enum lockdep_report last_kind;	/* [graph] */
static const char *last_a, *last_b;	/* [graph] */

static unsigned long graph_lock(void)
{
	unsigned long flags = irq_save();
	int free = 0;

	while (!__atomic_compare_exchange_n(&graph_busy, &free, 1, 0,
					    __ATOMIC_ACQUIRE,
					    __ATOMIC_RELAXED)) {
		free = 0;
		cpu_relax();
	}
	return flags;
}

static void graph_unlock(unsigned long flags)
{
	__atomic_store_n(&graph_busy, 0, __ATOMIC_RELEASE);
	irq_restore(flags);
}

static int test_edge(const uint64_t (*bits)[WORDS], int a, int b)
{
	return __atomic_load_n(&bits[a][b / 64], __ATOMIC_RELAXED) >>
	       (b % 64) & 1;
}

void lockdep_set_enabled(int on)
{
	lockdep_on = on;
}

void lockdep_sched_started(void)
{
	__atomic_store_n(&sched_started, 1, __ATOMIC_RELEASE);
}

/* The class of name/kind, added if new; 0 when the table is full.
 * Caller holds the graph lock. */
static uint16_t class_find(const char *name, enum lockdep_kind kind)
{
	int i;

	for (i = 1; i < nr_classes; i++)
		if (classes[i].kind == kind &&
		    (classes[i].name == name || strcmp(classes[i].name, name) == 0))
			return (uint16_t)i;
	if (nr_classes == CLASS_MAX)
		return 0;
	classes[nr_classes].name = name;
	classes[nr_classes].kind = kind;
	return (uint16_t)nr_classes++;
}

/* Where the locks of this kind that the caller holds are listed; NULL
 * before the CPU has a task. */
static struct lockdep_held *held_of(enum lockdep_kind kind)
{
	struct task *t;

	if (kind == LOCKDEP_SPIN)
		return &this_cpu()->lockdep;
	t = current_task();
	return t ? &t->lockdep : NULL;
}

/* Find a path from -> ... -> to over recorded edges (breadth first);
 * fill r->path with it (up to PATH_MAX_LEN edges). Nonzero if found.
 * Caller holds the graph lock. */
static int find_path(int from, int to, struct report *r)
{
	uint16_t queue[CLASS_MAX];
	int16_t parent[CLASS_MAX];
	int head = 0, tail = 0, a, b, n, i, e;

	for (i = 0; i < nr_classes; i++)
		parent[i] = -1;
	parent[from] = (int16_t)from;
	queue[tail++] = (uint16_t)from;
	while (head < tail && parent[to] < 0) {
		a = queue[head++];
		for (b = 1; b < nr_classes; b++) {
			if (parent[b] >= 0 || !test_edge(after, a, b))
				continue;
			parent[b] = (int16_t)a;
			queue[tail++] = (uint16_t)b;
		}
	}
	if (parent[to] < 0)
		return 0;
	/* Walk back from to; keep the edges nearest to `from`. */
	n = 0;
	for (b = to; b != from; b = parent[b])
		n++;
	r->path_len = n < PATH_MAX_LEN ? n : PATH_MAX_LEN;
	for (b = to, i = n - 1; b != from; b = parent[b], i--) {
		if (i >= PATH_MAX_LEN)
			continue;
		for (e = 0; e < nr_edges; e++)
			if (edges[e].from == parent[b] && edges[e].to == b)
				r->path[i] = edges[e];
	}
	return 1;
}

/* Record held -> taken, or fill r with the inversion it would close.
 * Caller holds the graph lock. */
static void add_edge(int held, int taken, struct report *r)
{
	struct edge *e;

	if (test_edge(after, held, taken))
		return;
	if (find_path(taken, held, r)) {
		if (test_edge(reported, held, taken))
			return;
		reported[held][taken / 64] |= 1ull << (taken % 64);
		r->kind = LOCKDEP_INVERSION;
		r->held = classes[held].name;
		r->held_kind = classes[held].kind;
		r->taken = classes[taken].name;
		r->taken_kind = classes[taken].kind;
		return;
	}
	if (nr_edges == EDGE_MAX)
		return;
	e = &edges[nr_edges++];
	e->from = (uint16_t)held;
	e->to = (uint16_t)taken;
	e->depth = backtrace_save(e->trace, TRACE_DEPTH);
	__atomic_store_n(&after[held][taken / 64],
			 after[held][taken / 64] | 1ull << (taken % 64),
			 __ATOMIC_RELAXED);
}

/* Record the orders from every lock in h to class c. */
static void check_order(const struct lockdep_held *h, int c, struct report *r)
{
	unsigned long flags;
	int i, hc;

	for (i = 0; i < h->n && r->kind == LOCKDEP_NONE; i++) {
		hc = h->h[i].class;
		if (!hc || hc == c || test_edge(after, hc, c))
			continue;
		flags = graph_lock();
		add_edge(hc, c, r);
		graph_unlock(flags);
	}
}

static void print_report(struct report *r)
{
	unsigned long flags;
	int i;

	__atomic_add_fetch(&nr_reports, 1, __ATOMIC_RELAXED);
	flags = graph_lock();
	last_kind = r->kind;
	last_a = r->held;
	last_b = r->taken;
	graph_unlock(flags);
	con_eprintf("lockdep: cpu %d task %s: ", this_cpu()->id,
		   current_task() ? current_task()->name : "(boot)");
	switch (r->kind) {
	case LOCKDEP_INVERSION:
		con_eprintf("lock order inversion: takes %s %s while holding "
			   "%s %s, but %s was taken while holding %s before\n",
			   kind_names[r->taken_kind], r->taken,
			   kind_names[r->held_kind], r->held, r->held,
			   r->taken);
		break;
	case LOCKDEP_MIGHT_SLEEP:
		con_eprintf("%s may sleep, but %s\n", r->taken, r->held);
		break;
	case LOCKDEP_NOT_HELD:
		con_eprintf("releases %s %s, which it does not hold\n",
			   kind_names[r->taken_kind], r->taken);
		break;
	default:
		con_eprintf("takes %s %s for read while holding it: a "
			   "writer would deadlock it\n",
			   kind_names[r->taken_kind], r->taken);
		break;
	}
	con_eprintf("lockdep: this call chain:\n");
	backtrace_print_saved(r->trace, r->depth);
	for (i = 0; i < r->path_len; i++) {
		const struct edge *e = &r->path[i];

		con_eprintf("lockdep: earlier chain %d: took %s holding %s:\n",
			   i + 1, classes[e->to].name, classes[e->from].name);
		backtrace_print_saved(e->trace, e->depth);
	}
}

void lockdep_check_acquire(const void *lock, uint16_t *class,
			   const char *name, enum lockdep_kind kind, int read,
			   int trylock)
{
	struct report r;
	struct lockdep_held *h;
	unsigned long flags;
	int i;

	r.kind = LOCKDEP_NONE;
	r.held = NULL;
	r.path_len = 0;
	flags = irq_save();
	h = held_of(kind);
	if (!h)
		goto out;
	if (!*class) {
		unsigned long g = graph_lock();

		*class = class_find(name, kind);
		graph_unlock(g);
	}
	for (i = 0; i < h->n; i++)
		if (h->h[i].lock == lock && kind == LOCKDEP_RWSEM && !trylock) {
			r.kind = LOCKDEP_RECURSION;
			r.taken = name;
			r.taken_kind = kind;
		}
	if (!trylock && *class) {
		check_order(&this_cpu()->lockdep, *class, &r);
		if (kind != LOCKDEP_SPIN)
			check_order(h, *class, &r);
	}
	if (h->n == LOCKDEP_HELD_MAX) {
		h->lost++;
	} else {
		h->h[h->n].lock = lock;
		h->h[h->n].class = *class;
		h->h[h->n].read = (uint16_t)read;
		h->n++;
	}
out:
	irq_restore(flags);
	if (r.kind != LOCKDEP_NONE) {
		r.depth = backtrace_save(r.trace, TRACE_DEPTH);
		print_report(&r);
	}
}

void lockdep_check_release(const void *lock, const char *name,
			   enum lockdep_kind kind)
{
	struct lockdep_held *h;
	struct report r;
	unsigned long flags;
	int i;

	r.kind = LOCKDEP_NONE;
	r.held = NULL;
	r.path_len = 0;
	flags = irq_save();
	h = held_of(kind);
	if (!h)
		goto out;
	for (i = h->n - 1; i >= 0 && h->h[i].lock != lock; i--)
		;
	if (i >= 0) {
		memmove(&h->h[i], &h->h[i + 1], (h->n - i - 1) * sizeof(h->h[0]));
		h->n--;
	} else if (h->lost) {
		h->lost--;
	} else {
		r.kind = LOCKDEP_NOT_HELD;
		r.taken = name;
		r.taken_kind = kind;
	}
out:
	irq_restore(flags);
	if (r.kind != LOCKDEP_NONE) {
		r.depth = backtrace_save(r.trace, TRACE_DEPTH);
		print_report(&r);
	}
}

void lockdep_downgrade(const void *lock)
{
	struct lockdep_held *h;
	int i;

	if (!lockdep_on || !(h = held_of(LOCKDEP_RWSEM)))
		return;
	for (i = 0; i < h->n; i++)
		if (h->h[i].lock == lock)
			h->h[i].read = 1;
}

void lockdep_check_might_sleep(const char *what)
{
	struct report r;

	if (!__atomic_load_n(&sched_started, __ATOMIC_ACQUIRE))
		return;
	if (preempt_count() == 0 && irqs_enabled())
		return;
	if (__atomic_fetch_add(&sleep_reports, 1, __ATOMIC_RELAXED) >=
	    SLEEP_REPORTS)
		return;
	r.kind = LOCKDEP_MIGHT_SLEEP;
	r.path_len = 0;
	r.taken = what;
	r.held = preempt_count() ? "a spinlock is held" : "interrupts are off";
	r.depth = backtrace_save(r.trace, TRACE_DEPTH);
	print_report(&r);
}

void lockdep_reset_reports(void)
{
	unsigned long flags = graph_lock();

	memset(reported, 0, sizeof(reported));
	__atomic_store_n(&sleep_reports, 0, __ATOMIC_RELAXED);
	graph_unlock(flags);
}

uint64_t lockdep_reports(void)
{
	return __atomic_load_n(&nr_reports, __ATOMIC_RELAXED);
}

enum lockdep_report lockdep_last_report(const char **a, const char **b)
{
	unsigned long flags = graph_lock();
	enum lockdep_report k = last_kind;

	*a = last_a;
	*b = last_b;
	graph_unlock(flags);
	return k;
}
