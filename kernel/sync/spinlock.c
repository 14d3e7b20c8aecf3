/*
 * Ticket spinlocks: fair (FIFO) and small. The _irqsave variants also turn
 * interrupts off on this CPU, so a lock shared with an interrupt handler
 * cannot deadlock against it.
 */
#include <ghee/sync.h>

#include "../arch/x86_64/cpu.h"

void spin_init(struct spinlock *l, const char *name)
{
	l->next = 0;
	l->owner = 0;
	l->name = name;
}

void spin_lock(struct spinlock *l)
{
	uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
}

void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = irq_save();

	spin_lock(l);
	return flags;
}

void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	spin_unlock(l);
	irq_restore(flags);
}
