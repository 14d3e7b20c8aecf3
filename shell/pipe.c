/*
 * Pipes between the commands of a pipeline (see pipe.h). A pipe is a ring
 * of PIPE_SIZE bytes with one writer task and one reader task. A writer
 * copies in as much as fits and waits for room for the rest; a reader
 * takes what is there and waits only when the ring is empty. Either side
 * waits on a completion of its own, which the other side completes only
 * when it sees the waiting flag set (both under the lock), so no wake-up
 * is lost and a side that does not wait is never woken. A wait lasts at
 * most WAIT_TICK_NS at a time, so that a task asked to stop (kill,
 * Ctrl-C) notices even while its partner is stuck.
 *
 * The pipe's lock (a mutex: the copy into the ring may be large) protects
 * every field below it; it is a leaf among the sleeping locks (only a
 * completion's wake-up is taken under it) and is never held across a
 * wait. A command writes to its pipe holding no filesystem lock, so a
 * writer waiting for room never holds up the reader's commit.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/sync.h>
#include <ghee/task.h>

#include "pipe.h"

#define WAIT_TICK_NS (100 * 1000000ull)

struct pipe {
	struct mutex lock;	/* protects the fields below */
	uint8_t *ring;		/* [I] PIPE_SIZE bytes */
	size_t head;		/* offset of the oldest byte */
	size_t fill;		/* bytes in the ring */
	int writer_open;	/* the write end is open */
	int reader_open;	/* the read end is open */
	int writer_status;	/* once closed: 0, or the writer's error */
	int broken;		/* pipe_break was called */
	int reader_waits;	/* the reader waits on data */
	int writer_waits;	/* the writer waits on room */
	int refused;		/* a write found the reader gone */
	struct completion data;	/* the reader's wake-up: data or an end */
	struct completion room;	/* the writer's wake-up: room or an end */
};

struct pipe *pipe_create(void)
{
	struct pipe *p = kzalloc(sizeof(*p));

	if (!p)
		return NULL;
	p->ring = kmalloc(PIPE_SIZE);
	if (!p->ring) {
		kfree(p);
		return NULL;
	}
	mutex_init(&p->lock, "pipe");
	completion_init(&p->data);
	completion_init(&p->room);
	p->writer_open = 1;
	p->reader_open = 1;
	return p;
}

/* Wake the side whose flag is set. Caller holds p->lock. */
static void wake(struct completion *c, int *waits)
{
	if (*waits) {
		*waits = 0;
		complete(c);
	}
}

/* Wait (at most a tick) for the other side, with p->lock held on entry
 * and on return. */
static void wait_other(struct pipe *p, struct completion *c, int *waits)
{
	*waits = 1;
	mutex_unlock(&p->lock);
	/* A timeout only means: look again (and at task_should_stop). */
	wait_for_completion_timeout(c, WAIT_TICK_NS);
	mutex_lock(&p->lock);
}

int pipe_write(struct pipe *p, const void *buf, size_t len)
{
	const uint8_t *src = buf;
	int ret = 0;

	mutex_lock(&p->lock);
	while (len) {
		size_t tail = (p->head + p->fill) % PIPE_SIZE, n;

		if (p->broken || task_should_stop()) {
			ret = -ECANCELED;
			break;
		}
		if (!p->reader_open) {
			p->refused = 1;
			ret = -EPIPE;
			break;
		}
		if (p->fill == PIPE_SIZE) {
			wait_other(p, &p->room, &p->writer_waits);
			continue;
		}
		n = PIPE_SIZE - p->fill;	/* room */
		if (n > PIPE_SIZE - tail)
			n = PIPE_SIZE - tail;	/* up to the ring's end */
		if (n > len)
			n = len;
		memcpy(p->ring + tail, src, n);
		p->fill += n;
		src += n;
		len -= n;
		wake(&p->data, &p->reader_waits);
	}
	mutex_unlock(&p->lock);
	return ret;
}

long pipe_read(struct pipe *p, void *buf, size_t len)
{
	long ret;

	mutex_lock(&p->lock);
	for (;;) {
		if (p->broken || task_should_stop()) {
			ret = -ECANCELED;
			break;
		}
		if (p->fill) {
			size_t n = p->fill;

			if (n > PIPE_SIZE - p->head)
				n = PIPE_SIZE - p->head;
			if (n > len)
				n = len;
			memcpy(buf, p->ring + p->head, n);
			p->head = (p->head + n) % PIPE_SIZE;
			p->fill -= n;
			wake(&p->room, &p->writer_waits);
			ret = (long)n;
			break;
		}
		if (!p->writer_open) {
			ret = p->writer_status ? -EPIPE : 0;
			break;
		}
		wait_other(p, &p->data, &p->reader_waits);
	}
	mutex_unlock(&p->lock);
	return ret;
}

void pipe_close_write(struct pipe *p, int status)
{
	mutex_lock(&p->lock);
	p->writer_open = 0;
	p->writer_status = status < 0 ? status : 0;
	wake(&p->data, &p->reader_waits);
	mutex_unlock(&p->lock);
}

void pipe_close_read(struct pipe *p)
{
	mutex_lock(&p->lock);
	p->reader_open = 0;
	p->fill = 0;	/* nobody will read it */
	wake(&p->room, &p->writer_waits);
	mutex_unlock(&p->lock);
}

void pipe_break(struct pipe *p)
{
	mutex_lock(&p->lock);
	p->broken = 1;
	wake(&p->data, &p->reader_waits);
	wake(&p->room, &p->writer_waits);
	mutex_unlock(&p->lock);
}

int pipe_write_refused(struct pipe *p)
{
	int ret;

	mutex_lock(&p->lock);
	ret = p->refused;
	mutex_unlock(&p->lock);
	return ret;
}

void pipe_free(struct pipe *p)
{
	kfree(p->ring);
	kfree(p);
}
