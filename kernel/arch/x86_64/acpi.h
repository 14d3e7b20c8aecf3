/* ACPI tables for interrupt routing and CPU discovery (acpi.c). */
#ifndef ARCH_X86_64_ACPI_H
#define ARCH_X86_64_ACPI_H

#include <stdint.h>

#define ACPI_CPUS_MAX	64	/* CPUs remembered from the MADT */

/* ISA interrupt source override flags (MPS INTI flags). */
#define ACPI_ISO_POLARITY	0x3	/* 1: active high, 3: active low */
#define ACPI_ISO_TRIGGER	0xc	/* 4: edge, 0xc: level (0: bus default) */
#define ACPI_ISO_ACTIVE_LOW	0x3
#define ACPI_ISO_LEVEL		0xc

struct acpi_info {
	int nr_cpus;				/* enabled CPUs; 0: no MADT */
	uint32_t apic_ids[ACPI_CPUS_MAX];	/* their LAPIC IDs, MADT order */
	uint32_t ioapic_addr;			/* MMIO base of the IOAPIC */
	uint32_t ioapic_gsi_base;		/* GSI of its pin 0 */
	uint32_t isa_gsi[16];			/* GSI of ISA IRQ n */
	uint16_t isa_flags[16];			/* override flags, 0: default */
};

/* Parse the MADT reached from the RSDP at rsdp_addr (0: none); without a
 * sound one, log it and keep the defaults. Once, on the boot CPU, before
 * apic_init uses the result. */
void acpi_init(uint64_t rsdp_addr);
/* The result (defaults when acpi_init failed). */
const struct acpi_info *acpi_info(void);

#endif
