/*
 * 16550 UART driver for COM1. Output polls the transmitter (QEMU's is always
 * ready). Input is interrupt-driven: the receive interrupt moves bytes from
 * the UART into a ring buffer and wakes rx_wait; uart_getc() takes them
 * out, sleeping on rx_wait while the ring is empty (the reading task
 * sleeps; the CPU runs other tasks or idles).
 *
 * Back-pressure instead of loss: when the ring fills, the interrupt handler
 * turns the receive interrupt off and leaves further bytes in the UART;
 * QEMU then stops feeding the port, so a large paste waits in QEMU's input
 * instead of being dropped. uart_getc() turns the interrupt back on once it
 * has made room, and the UART raises it again for the waiting bytes.
 *
 * Ctrl-C: while a foreground command runs (uart_interrupt_task), a Ctrl-C
 * byte is taken out of the input and stops that command's task, as a
 * terminal's interrupt key does.
 *
 * rx_lock (irqsave, a leaf lock) protects rx_ring, rx_head, rx_tail and the
 * IER receive bit. rx_wait's lock is taken after rx_lock is dropped.
 */
#include <stdint.h>

#include <ghee/sync.h>
#include <ghee/task.h>

#include "../arch/x86_64/arch.h"
#include "../arch/x86_64/cpu.h"
#include "../panic.h"
#include "../sched/wait.h"
#include "uart.h"

#define COM1		0x3f8
#define UART_DATA	0	/* RBR/THR; divisor low with DLAB */
#define UART_IER	1	/* interrupt enable; divisor high with DLAB */
#define UART_FCR	2	/* FIFO control */
#define UART_LCR	3	/* line control */
#define UART_MCR	4	/* modem control */
#define UART_LSR	5	/* line status */
#define IER_RX		0x01
#define LSR_DATA_READY	0x01
#define LSR_THR_EMPTY	0x20
#define MCR_DTR_RTS_OUT2 0x0b	/* OUT2 gates the IRQ line on PCs */
#define COM1_IRQ	4

#define RX_RING_SIZE	4096	/* power of two */

static struct spinlock rx_lock = SPINLOCK_INIT("uart_rx");
static uint8_t rx_ring[RX_RING_SIZE];
static uint32_t rx_head;	/* next slot to fill (interrupt handler) */
static uint32_t rx_tail;	/* next slot to read (uart_getc) */
static int rx_irq_on;		/* IER receive bit as last written */
static struct wait_queue rx_wait = WAIT_QUEUE_INIT(rx_wait, "uart_rx_wait");
static int intr_task;		/* [a] Ctrl-C stops this task; 0: none */

#define CTRL_C 3

static void uart_irq(void)
{
	int stop = 0;
	uint8_t c;

	spin_lock(&rx_lock);
	while (inb(COM1 + UART_LSR) & LSR_DATA_READY) {
		if (rx_head - rx_tail == RX_RING_SIZE) {
			outb(COM1 + UART_IER, 0);
			rx_irq_on = 0;
			break;
		}
		c = inb(COM1 + UART_DATA);
		if (c == CTRL_C && __atomic_load_n(&intr_task, __ATOMIC_RELAXED))
			stop = __atomic_load_n(&intr_task, __ATOMIC_RELAXED);
		else
			rx_ring[rx_head++ % RX_RING_SIZE] = c;
	}
	spin_unlock(&rx_lock);
	/* task_stop takes sched_lock: outside rx_lock, a leaf */
	if (stop)
		task_stop(stop);
	waitq_wake_all(&rx_wait);
}

void uart_interrupt_task(int id)
{
	__atomic_store_n(&intr_task, id, __ATOMIC_RELAXED);
}

static int rx_ready(void)
{
	return __atomic_load_n(&rx_head, __ATOMIC_ACQUIRE) !=
	       __atomic_load_n(&rx_tail, __ATOMIC_RELAXED);
}

void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x80);	/* DLAB: set the divisor */
	outb(COM1 + UART_DATA, 1);	/* 115200 baud */
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, 0x03);	/* 8 bits, no parity, 1 stop bit */
	/* Turning the FIFO on empties it: keep a byte that already came. */
	while (inb(COM1 + UART_LSR) & LSR_DATA_READY)
		rx_ring[rx_head++ % RX_RING_SIZE] = inb(COM1 + UART_DATA);
	outb(COM1 + UART_FCR, 0xc1);	/* FIFOs on, 14-byte trigger */
	outb(COM1 + UART_MCR, MCR_DTR_RTS_OUT2);
	irq_set_handler(COM1_IRQ, uart_irq);
	outb(COM1 + UART_IER, IER_RX);
	rx_irq_on = 1;
	if (apic_route_irq(COM1_IRQ) < 0)
		panic("uart: the IOAPIC has no pin for IRQ %d", COM1_IRQ);
}

void uart_write(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		while (!(inb(COM1 + UART_LSR) & LSR_THR_EMPTY))
			cpu_relax();
		outb(COM1 + UART_DATA, (uint8_t)s[i]);
	}
}

int uart_getc(void)
{
	unsigned long flags;
	int c;

	wait_event(&rx_wait, rx_ready());
	flags = spin_lock_irqsave(&rx_lock);
	c = rx_ring[rx_tail++ % RX_RING_SIZE];
	if (!rx_irq_on) {
		rx_irq_on = 1;
		outb(COM1 + UART_IER, IER_RX);
	}
	spin_unlock_irqrestore(&rx_lock, flags);
	return c;
}
