/*
 * Error numbers: the C library's <errno.h> plus the Linux ones ghee uses
 * that newlib lacks. Functions return 0 or a negative one of these.
 */
#ifndef GHEE_ERRNO_H
#define GHEE_ERRNO_H

#include <errno.h>

#ifndef EUCLEAN
/* Corrupt on-disk metadata (Linux's "structure needs cleaning"). */
#define EUCLEAN 117
#endif

#ifndef EBADE
/* Dedupe: the ranges' bytes differ (Linux's FIDEDUPERANGE uses it so). */
#define EBADE 52
#endif

#endif
