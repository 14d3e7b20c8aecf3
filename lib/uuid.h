/*
 * A UUID as text, the way uuid_unparse (and so btrfs-progs) prints it:
 * "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower case (lib/uuid.c).
 */
#ifndef LIB_UUID_H
#define LIB_UUID_H

#include <stdint.h>

#define UUID_TEXT_LEN 37	/* 36 characters and the NUL */

void uuid_text(const uint8_t u[16], char out[UUID_TEXT_LEN]);

#endif
