/*
 * Intrusive circular doubly-linked lists, in the style of Linux's list.h.
 * A struct embeds a `struct list_head`; a list is a head whose next/prev
 * point at itself when empty. No allocation; the caller provides locking.
 */
#ifndef LIB_LIST_H
#define LIB_LIST_H

#include <stddef.h>

struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }

/* The struct of type T containing the member M at pointer P. */
#define container_of(p, T, m) ((T *)((char *)(p) - offsetof(T, m)))
#define list_entry(p, T, m) container_of(p, T, m)

static inline void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static inline int list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_insert_between(struct list_head *n,
				       struct list_head *prev,
				       struct list_head *next)
{
	n->next = next;
	n->prev = prev;
	prev->next = n;
	next->prev = n;
}

/* Add n right after head (stack order). */
static inline void list_add(struct list_head *n, struct list_head *head)
{
	list_insert_between(n, head, head->next);
}

/* Add n right before head, i.e. at the tail (queue order). */
static inline void list_add_tail(struct list_head *n, struct list_head *head)
{
	list_insert_between(n, head->prev, head);
}

/* Unlink n and leave it pointing at itself (so list_empty(n) holds). */
static inline void list_del_init(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* Iterate over entries of type T linked through member M. */
#define list_for_each_entry(pos, head, T, m)                              \
	for (pos = list_entry((head)->next, T, m); &pos->m != (head);     \
	     pos = list_entry(pos->m.next, T, m))

#endif
