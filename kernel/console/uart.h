/* 16550 UART on COM1: the serial console. */
#ifndef KERNEL_CONSOLE_UART_H
#define KERNEL_CONSOLE_UART_H

#include <stddef.h>

/* Program the UART (115200 8N1, FIFOs) and take its receive interrupt. */
void uart_init(void);
/* Send bytes, polling the transmitter. Caller holds the console lock. */
void uart_write(const char *s, size_t n);
/* Next received byte; the calling task sleeps until one arrives. Only
 * one task reads the console. */
int uart_getc(void);
/* con_interrupt_task: a Ctrl-C received while id > 0 stops task id. */
void uart_interrupt_task(int id);

#endif
