/*
 * The kernel's symbol table (kernel/ksym.c): built into the image by the
 * two-pass link, so it names this kernel's own functions however it
 * booted (tests/qemu/test_bootpaths.py runs this suite on each path).
 */
#include <stdint.h>
#include <string.h>

#include "../ksym.h"
#include "../sched/sched.h"
#include "ktest.h"

extern const char __text_end[];		/* boot/linker.ld */

/* A function's own address, its middle and its last byte name it. */
KTEST(ksym, names_functions)
{
	uint32_t i = ksym_find((uintptr_t)ksym_find);

	KEXPECT(i != KSYM_NONE);
	if (i == KSYM_NONE)
		return;
	KEXPECT(!strcmp(ksym_name(i), "ksym_find"));
	KEXPECT_EQ(ksym_addr(i), (uintptr_t)ksym_find);
	KEXPECT_EQ(ksym_find((uintptr_t)ksym_find + 5), i);
	i = ksym_find((uintptr_t)sched_idle);
	KEXPECT(i != KSYM_NONE && !strcmp(ksym_name(i), "sched_idle"));
}

/* Addresses outside the text name nothing. */
KTEST(ksym, outside_text)
{
	static const int data = 1;

	KEXPECT_EQ(ksym_find(0), KSYM_NONE);
	KEXPECT_EQ(ksym_find((uintptr_t)__text_end), KSYM_NONE);
	KEXPECT_EQ(ksym_find((uintptr_t)&data), KSYM_NONE);
	KEXPECT_EQ(ksym_find(UINT64_MAX), KSYM_NONE);
}
