/*
 * ACPI, as far as interrupts and CPUs need it: the MADT ("APIC" table),
 * found from the RSDP the boot path handed over (boot_info.rsdp), through
 * the XSDT (ACPI 2.0+) or the RSDT. From it come the LAPIC ID of every
 * enabled CPU (types 0 and 9), the IOAPIC's address and first GSI (type
 * 1; ghee drives the first IOAPIC only, QEMU has one), and the ISA
 * interrupt source overrides (type 2: ISA IRQ n arrives at GSI m with its
 * own polarity and trigger mode).
 *
 * Every table is checked (signature, length, checksum) before it is
 * used; a missing or bad table leaves the defaults (one CPU, the IOAPIC
 * at its usual address, ISA IRQs identity-mapped, edge, active high) and
 * is logged. The tables lie in firmware memory that the page allocator
 * never hands out, below 4 GiB, identity-mapped.
 *
 * acpi_init runs once on the boot CPU before anything reads the result,
 * which is read-only after.
 */
#include <stdint.h>
#include <string.h>

#include <ghee/log.h>

#include "acpi.h"

#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_X2APIC		9
#define MADT_CPU_ENABLED	0x1	/* LAPIC flags: usable now */
#define MADT_CPU_ONLINE_CAP	0x2	/* LAPIC flags: may be enabled later */
#define IOAPIC_DEFAULT		0xfec00000u
#define TABLE_MAX		(1u << 20)	/* sanity bound on a length */

struct rsdp {
	char sig[8];		/* "RSD PTR " */
	uint8_t checksum;	/* of the first 20 bytes */
	char oem[6];
	uint8_t revision;	/* 0: ACPI 1.0 (RSDT only), 2+: XSDT too */
	uint32_t rsdt;
	uint32_t length;	/* revision 2+: whole structure */
	uint64_t xsdt;
	uint8_t xchecksum;	/* of the whole structure */
	uint8_t reserved[3];
} __attribute__((packed));

struct sdt_header {
	char sig[4];
	uint32_t length;	/* bytes, header included */
	uint8_t revision;
	uint8_t checksum;	/* all bytes sum to 0 */
	char oem[6];
	char oem_table[8];
	uint32_t oem_revision;
	uint32_t creator;
	uint32_t creator_revision;
} __attribute__((packed));

struct madt {
	struct sdt_header h;
	uint32_t lapic_addr;
	uint32_t flags;
	uint8_t entries[];	/* type, length, body... */
} __attribute__((packed));

static struct acpi_info info = {	/* [I] after acpi_init */
	.nr_cpus = 0,
	.ioapic_addr = IOAPIC_DEFAULT,
};

static uint8_t sum(const void *p, uint32_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	while (n--)
		s += *b++;
	return s;
}

/* The table at physical address a if its signature is sig and it is whole
 * and sound, else NULL. */
static const struct sdt_header *table_at(uint64_t a, const char *sig)
{
	const struct sdt_header *h = (const void *)(uintptr_t)a;

	if (a == 0 || a >= (4ull << 30) || memcmp(h->sig, sig, 4) != 0)
		return NULL;
	if (h->length < sizeof(*h) || h->length > TABLE_MAX ||
	    sum(h, h->length) != 0) {
		pr_warn("acpi: table %.4s at %#lx is corrupt", sig,
			(unsigned long)a);
		return NULL;
	}
	return h;
}

/* Find the table sig through the XSDT or RSDT. */
static const struct sdt_header *find_table(const struct rsdp *r,
					   const char *sig)
{
	const struct sdt_header *root, *t;
	uint32_t i, n;
	int wide = r->revision >= 2 && r->xsdt &&
		   sum(r, r->length < sizeof(*r) ? sizeof(*r) : r->length) == 0;

	root = wide ? table_at(r->xsdt, "XSDT") : table_at(r->rsdt, "RSDT");
	if (!root)
		return NULL;
	n = (root->length - sizeof(*root)) / (wide ? 8 : 4);
	for (i = 0; i < n; i++) {
		const uint8_t *e = (const uint8_t *)(root + 1) + i * (wide ? 8 : 4);
		uint64_t a = 0;

		memcpy(&a, e, wide ? 8 : 4);
		t = table_at(a, sig);
		if (t)
			return t;
	}
	return NULL;
}

static void add_cpu(uint32_t apic_id, uint32_t flags)
{
	if (!(flags & MADT_CPU_ENABLED))
		return;
	if (info.nr_cpus == ACPI_CPUS_MAX) {
		pr_warn("acpi: more than %d CPUs; LAPIC %u left out",
			ACPI_CPUS_MAX, (unsigned)apic_id);
		return;
	}
	info.apic_ids[info.nr_cpus++] = apic_id;
}

static void parse_madt(const struct madt *m)
{
	const uint8_t *p = m->entries, *end = (const uint8_t *)m + m->h.length;
	uint32_t v32, gsi;
	int seen_ioapic = 0;

	for (; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
		switch (p[0]) {
		case MADT_LAPIC:	/* acpi id, apic id, flags (4) */
			if (p[1] >= 8) {
				memcpy(&v32, p + 4, 4);
				add_cpu(p[3], v32);
			}
			break;
		case MADT_X2APIC:	/* 2 reserved, x2apic id, flags, uid */
			if (p[1] >= 16) {
				uint32_t id;

				memcpy(&id, p + 4, 4);
				memcpy(&v32, p + 8, 4);
				add_cpu(id, v32);
			}
			break;
		case MADT_IOAPIC:	/* id, reserved, address, gsi base */
			if (p[1] >= 12 && !seen_ioapic) {
				memcpy(&info.ioapic_addr, p + 4, 4);
				memcpy(&info.ioapic_gsi_base, p + 8, 4);
				seen_ioapic = 1;
			}
			break;
		case MADT_ISO:		/* bus, source, gsi (4), flags (2) */
			if (p[1] >= 10 && p[2] == 0 && p[3] < 16) {
				uint16_t fl;

				memcpy(&gsi, p + 4, 4);
				memcpy(&fl, p + 8, 2);
				info.isa_gsi[p[3]] = gsi;
				info.isa_flags[p[3]] = fl;
			}
			break;
		}
	}
}

void acpi_init(uint64_t rsdp_addr)
{
	const struct rsdp *r = (const void *)(uintptr_t)rsdp_addr;
	const struct sdt_header *madt;
	int i;

	for (i = 0; i < 16; i++)
		info.isa_gsi[i] = i;
	if (!rsdp_addr || rsdp_addr >= (4ull << 30) ||
	    memcmp(r->sig, "RSD PTR ", 8) != 0 || sum(r, 20) != 0) {
		pr_warn("acpi: no valid RSDP; running on one CPU");
		return;
	}
	madt = find_table(r, "APIC");
	if (!madt) {
		pr_warn("acpi: no MADT; running on one CPU");
		return;
	}
	parse_madt((const struct madt *)madt);
}

const struct acpi_info *acpi_info(void)
{
	return &info;
}
