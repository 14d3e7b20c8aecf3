/* A UUID as text (uuid.h). */
#include <stdio.h>

#include "uuid.h"

void uuid_text(const uint8_t u[16], char out[UUID_TEXT_LEN])
{
	int i, n = 0;

	for (i = 0; i < 16; i++)
		n += snprintf(out + n, (size_t)(UUID_TEXT_LEN - n), "%s%02x",
			      i == 4 || i == 6 || i == 8 || i == 10 ? "-" : "",
			      u[i]);
}
