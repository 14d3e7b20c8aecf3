/*
 * Allocator stress: tasks (two per CPU) allocate random sizes (slab
 * classes and large runs through kmalloc, and page runs of random
 * length straight from the page allocator) and free them in random
 * order, each object filled with a pattern checked before it is freed;
 * at the end every page is back. With RAM above 4 GiB, pages up there
 * are handed out and hold what is written to them.
 */
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/task.h>

#include "../arch/x86_64/paging.h"
#include "../mm/page_alloc.h"
#include "../sched/sched.h"
#include "ktest.h"

#define ALLOC_TASKS_MAX	(2 * NR_CPUS_MAX)
#define ALLOC_SLOTS	64
#define ALLOC_OPS	3000

static int alloc_bad;	/* [a] a pattern was overwritten */

/* Fill (check = 0) or check the first and last word of every page of
 * a run with a pattern of tag; nonzero when a check fails. */
static int pages_pattern(uint64_t *p, size_t pages, uint64_t tag, int check)
{
	size_t i, words = PAGE_SIZE / 8;
	int bad = 0;

	for (i = 0; i < pages; i++) {
		uint64_t *first = p + i * words, *last = first + words - 1;
		uint64_t v = tag ^ (uintptr_t)first;

		if (!check) {
			*first = v;
			*last = ~v;
		} else {
			bad |= *first != v || *last != ~v;
		}
	}
	return bad;
}

/* Page runs of random lengths (1..64 pages), freed in random order. */
static int pages_fn(void *arg)
{
	struct { uint64_t *p; size_t n; } slot[ALLOC_SLOTS];
	uint64_t x = 0x9e3779b9u * ((uintptr_t)arg + 1), tag = (uintptr_t)arg;
	size_t i;
	int op;

	memset(slot, 0, sizeof(slot));
	for (op = 0; op < ALLOC_OPS; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = x % ALLOC_SLOTS;
		if (slot[i].p) {
			if (pages_pattern(slot[i].p, slot[i].n, tag, 1))
				__atomic_store_n(&alloc_bad, 1, __ATOMIC_RELAXED);
			page_free(slot[i].p, slot[i].n);
			slot[i].p = NULL;
			continue;
		}
		slot[i].n = 1 + (x >> 24) % 64;
		slot[i].p = page_alloc(slot[i].n);
		if (slot[i].p)
			pages_pattern(slot[i].p, slot[i].n, tag, 0);
	}
	for (i = 0; i < ALLOC_SLOTS; i++)
		if (slot[i].p)
			page_free(slot[i].p, slot[i].n);
	return 0;
}

static int alloc_fn(void *arg)
{
	struct { unsigned char *p; size_t n; } slot[ALLOC_SLOTS];
	unsigned char tag = (unsigned char)(uintptr_t)arg;
	uint64_t x = 0x12345678u * (tag + 1);
	size_t i, k, n;
	int op;

	memset(slot, 0, sizeof(slot));
	for (op = 0; op < ALLOC_OPS; op++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		i = x % ALLOC_SLOTS;
		if (slot[i].p) {
			for (k = 0; k < slot[i].n; k++)
				if (slot[i].p[k] != (unsigned char)(tag + k))
					__atomic_store_n(&alloc_bad, 1,
							 __ATOMIC_RELAXED);
			kfree(slot[i].p);
			slot[i].p = NULL;
			continue;
		}
		n = x >> 40 & 7 ? 1 + (x >> 20) % 2048 : 1 + (x >> 20) % 65536;
		slot[i].p = kmalloc(n);
		if (!slot[i].p)
			continue;
		slot[i].n = n;
		for (k = 0; k < n; k++)
			slot[i].p[k] = (unsigned char)(tag + k);
	}
	for (i = 0; i < ALLOC_SLOTS; i++)
		kfree(slot[i].p);
	return 0;
}

/* Run fn in two tasks per CPU; check for overwritten patterns and that
 * every page came back. */
static void stress(int (*fn)(void *arg))
{
	struct task *t[ALLOC_TASKS_MAX];
	uint64_t total, free_before, free_after, tables = paging_table_pages();
	uint64_t cached = task_stack_cache_pages();
	int i, n = 2 * nr_cpus;

	alloc_bad = 0;
	page_alloc_stats(&total, &free_before);
	for (i = 0; i < n; i++) {
		t[i] = task_create("t_alloc", fn, (void *)(uintptr_t)i,
				   TASK_PRIO_BACKGROUND);
		KEXPECT(t[i] != NULL);
	}
	for (i = 0; i < n; i++)
		if (t[i])
			task_join(t[i]);
	/* An ended task's stack and struct go back once its CPU has
	 * switched away from it, which may be a moment after the join,
	 * or into the stack cache; a new stack's guard page may have split
	 * a 2 MiB mapping for good. */
	for (i = 0; i < 1000; i++) {
		page_alloc_stats(&total, &free_after);
		free_after += paging_table_pages() - tables;
		free_after += task_stack_cache_pages() - cached;
		if (free_after == free_before)
			break;
		msleep(1);
	}
	KEXPECT(!alloc_bad);
	KEXPECT_EQ(free_after, free_before);
}

KTEST(alloc, stress_random_sizes)
{
	stress(alloc_fn);
	KEXPECT(kmalloc(0) == NULL);
}

KTEST(alloc, pages_random_orders)
{
	stress(pages_fn);
}

#define HIGH_RUN	512	/* pages per run (2 MiB) */

/* Take 2 MiB runs until one lies above 4 GiB (the allocator hands out
 * low frames first), check that it holds a pattern, give all back. */
KTEST(alloc, ram_above_4g)
{
	uint64_t *head = NULL, *p, total, free_before, free_after;
	int found = 0;

	if (page_alloc_ram_top() <= (4ull << 30)) {
		ktest_skip("no RAM above 4 GiB (run with -m 5G or more)");
		return;
	}
	KEXPECT(paging_mapped_top() >= page_alloc_ram_top());
	page_alloc_stats(&total, &free_before);
	while (!found && (p = page_alloc(HIGH_RUN)) != NULL) {
		*p = (uintptr_t)head;	/* chain the runs through their first word */
		head = p;
		found = (uintptr_t)p >= (4ull << 30);
	}
	KEXPECT(found);
	if (found) {
		pages_pattern(head + PAGE_SIZE / 8, HIGH_RUN - 1, 0x5a5a, 0);
		KEXPECT(!pages_pattern(head + PAGE_SIZE / 8, HIGH_RUN - 1,
				       0x5a5a, 1));
		ktest_note("a run at %#lx", (unsigned long)(uintptr_t)head);
	}
	while (head) {
		p = (uint64_t *)(uintptr_t)*head;
		page_free(head, HIGH_RUN);
		head = p;
	}
	page_alloc_stats(&total, &free_after);
	KEXPECT_EQ(free_after, free_before);
}
