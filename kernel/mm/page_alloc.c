/*
 * Physical page-frame allocator: one bit per 4 KiB frame (1 = in use) over
 * all RAM the boot memory map reports, with a search hint so that single
 * pages come quickly. The bitmap itself lives in the first usable region
 * below 4 GiB big enough to hold it. Until paging_init has mapped all RAM
 * (page_alloc_map_limit), only frames below 4 GiB, which the boot page
 * tables map, are handed out.
 *
 * page_lock (a leaf: nothing is taken inside it) protects the bitmap,
 * the hint, the free count and its low-water mark (the `mem` command's
 * peak use since it last ran: bench/qgroup.sh reads it around a snapshot
 * drop). It is not irqsave, as kmalloc's locks are not (kmalloc.c says
 * why): no interrupt handler allocates.
 */
#include <string.h>

#include <ghee/sync.h>

#include "page_alloc.h"

#define BOOT_MAPPED	(4ull << 30)	/* boot page tables map 4 GiB */
#define LOW_RESERVED	(1ull << 20)	/* BIOS area, real-mode structures */

extern char __kernel_start[], __kernel_end[];	/* linker.ld */

static struct spinlock page_lock = SPINLOCK_INIT("page_alloc");
static uint64_t *bitmap;	/* [page_lock] */
static uint64_t nr_frames;	/* frames covered by the bitmap [I] */
static uint64_t alloc_limit;	/* [page_lock] frames below this are mapped */
static uint64_t nr_usable;	/* frames that were ever free [I] */
static uint64_t nr_free;	/* [page_lock] */
static uint64_t lowest_free;	/* [page_lock] least nr_free since last read */
static uint64_t hint;		/* [page_lock] a frame at or before the first free one */

/* Bits set in v (the kernel has no libgcc for __builtin_popcountll). */
static unsigned bits_set(uint64_t v)
{
	v -= v >> 1 & 0x5555555555555555ull;
	v = (v & 0x3333333333333333ull) + (v >> 2 & 0x3333333333333333ull);
	v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (unsigned)(v * 0x0101010101010101ull >> 56);
}

/* Mark frames [first, first + n) used or free, a bitmap word at a time
 * (at boot this covers all of RAM). */
static void mark(uint64_t first, uint64_t n, int used)
{
	uint64_t end = first + n < nr_frames ? first + n : nr_frames;
	uint64_t i, w, mask, changed;
	unsigned lo, hi;

	for (i = first; i < end; i = w * 64 + hi) {
		w = i / 64;
		lo = i % 64;
		hi = end - w * 64 < 64 ? end - w * 64 : 64;
		mask = (hi == 64 ? ~0ull : (1ull << hi) - 1) & ~((1ull << lo) - 1);
		changed = used ? mask & ~bitmap[w] : mask & bitmap[w];
		if (used) {
			bitmap[w] |= mask;
			nr_free -= bits_set(changed);
			if (nr_free < lowest_free)
				lowest_free = nr_free;
		} else {
			bitmap[w] &= ~mask;
			nr_free += bits_set(changed);
		}
	}
}

static uint64_t region_end(const struct boot_mem_region *r)
{
	return r->base + r->len;
}

void page_alloc_init(const struct boot_info *bi)
{
	uint64_t top = 0, bytes, i;
	const struct boot_mem_region *r;

	for (i = 0; i < bi->nr_mem; i++) {
		r = &bi->mem[i];
		if (r->type == BOOT_MEM_USABLE && region_end(r) > top)
			top = region_end(r);
	}
	nr_frames = top / PAGE_SIZE;
	bytes = (nr_frames + 63) / 64 * 8;
	for (i = 0; i < bi->nr_mem && !bitmap; i++) {
		uint64_t start;

		r = &bi->mem[i];
		start = r->base < (uint64_t)(uintptr_t)__kernel_end
				? (uint64_t)(uintptr_t)__kernel_end : r->base;
		start = (start + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		if (r->type == BOOT_MEM_USABLE && start >= LOW_RESERVED &&
		    start + bytes <= region_end(r) && start + bytes <= BOOT_MAPPED)
			bitmap = (uint64_t *)(uintptr_t)start;
	}
	if (!bitmap)
		return;
	memset(bitmap, 0xff, bytes);
	for (i = 0; i < bi->nr_mem; i++) {
		uint64_t first, last;

		r = &bi->mem[i];
		if (r->type != BOOT_MEM_USABLE)
			continue;
		first = (r->base + PAGE_SIZE - 1) / PAGE_SIZE;
		last = region_end(r) / PAGE_SIZE;
		if (last > first)
			mark(first, last - first, 0);
	}
	mark(0, LOW_RESERVED / PAGE_SIZE, 1);
	mark((uintptr_t)__kernel_start / PAGE_SIZE,
	     ((uintptr_t)__kernel_end - (uintptr_t)__kernel_start) / PAGE_SIZE,
	     1);
	mark((uintptr_t)bitmap / PAGE_SIZE,
	     (bytes + PAGE_SIZE - 1) / PAGE_SIZE, 1);
	nr_usable = nr_free;
	lowest_free = nr_free;
	hint = 0;
	alloc_limit = nr_frames < BOOT_MAPPED / PAGE_SIZE ? nr_frames
							  : BOOT_MAPPED / PAGE_SIZE;
}

uint64_t page_alloc_ram_top(void)
{
	return nr_frames * PAGE_SIZE;
}

void page_alloc_map_limit(uint64_t bytes)
{
	spin_lock(&page_lock);

	alloc_limit = bytes / PAGE_SIZE < nr_frames ? bytes / PAGE_SIZE
						    : nr_frames;
	spin_unlock(&page_lock);
}

/* How many bits from bit 0 of v up equal bit 0 (1 to 64). */
static unsigned same_bits(uint64_t v)
{
	uint64_t other = v & 1 ? ~v : v;

	return other ? (unsigned)__builtin_ctzll(other) : 64;
}

/*
 * First frame of a run of n free frames at or after from, or alloc_limit.
 * It steps over whole runs of used or free frames within a bitmap word,
 * not frame by frame: a drop's many multi-page buffers (tree blocks,
 * their writes) searched past fragmented memory one bit at a time took
 * a tenth of a QEMU profile of it. Caller holds page_lock.
 */
static uint64_t find_run(uint64_t from, size_t n)
{
	uint64_t i = from, run = 0, bits;
	unsigned len;

	while (i < alloc_limit) {
		bits = bitmap[i / 64] >> (i % 64);
		len = same_bits(bits);
		if (len > 64 - i % 64)
			len = 64 - i % 64;
		if (len > alloc_limit - i)
			len = (unsigned)(alloc_limit - i);
		run = bits & 1 ? 0 : run + len;
		i += len;
		if (run >= n)
			return i - run;
	}
	return alloc_limit;
}

void *page_alloc(size_t n)
{
	uint64_t first;

	if (n == 0)
		return NULL;
	spin_lock(&page_lock);
	first = nr_free >= n ? find_run(hint, n) : alloc_limit;
	if (first == alloc_limit) {
		spin_unlock(&page_lock);
		return NULL;
	}
	mark(first, n, 1);
	if (n == 1 || first == hint)
		hint = first + n;
	spin_unlock(&page_lock);
	return (void *)(uintptr_t)(first * PAGE_SIZE);
}

void page_free(void *p, size_t n)
{
	uint64_t first = (uintptr_t)p / PAGE_SIZE;
	spin_lock(&page_lock);

	mark(first, n, 0);
	if (first < hint)
		hint = first;
	spin_unlock(&page_lock);
}

void page_alloc_stats(uint64_t *total, uint64_t *free)
{
	spin_lock(&page_lock);

	*total = nr_usable;
	*free = nr_free;
	spin_unlock(&page_lock);
}

uint64_t page_alloc_lowest_free(void)
{
	spin_lock(&page_lock);
	uint64_t lowest = lowest_free;

	lowest_free = nr_free;
	spin_unlock(&page_lock);
	return lowest;
}
