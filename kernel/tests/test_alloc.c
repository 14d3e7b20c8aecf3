/*
 * Allocator stress: tasks allocate random sizes (slab classes and page
 * runs) and free them in random order, each object filled with a pattern
 * checked before it is freed; at the end every page is back.
 */
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/task.h>

#include "../mm/page_alloc.h"
#include "ktest.h"

#define ALLOC_TASKS	3
#define ALLOC_SLOTS	64
#define ALLOC_OPS	3000

static int alloc_bad;	/* [a] a pattern was overwritten */

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

KTEST(alloc, stress_random_sizes)
{
	struct task *t[ALLOC_TASKS];
	uint64_t total, free_before, free_after;
	int i;

	alloc_bad = 0;
	page_alloc_stats(&total, &free_before);
	for (i = 0; i < ALLOC_TASKS; i++) {
		t[i] = task_create("t_alloc", alloc_fn, (void *)(uintptr_t)i,
				   TASK_PRIO_BACKGROUND);
		KEXPECT(t[i] != NULL);
	}
	for (i = 0; i < ALLOC_TASKS; i++)
		if (t[i])
			task_join(t[i]);
	page_alloc_stats(&total, &free_after);
	KEXPECT(!alloc_bad);
	KEXPECT_EQ(free_after, free_before);
	KEXPECT(kmalloc(0) == NULL);
}
