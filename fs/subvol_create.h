/* Making subvolumes and snapshots. See subvol_create.c. */
#ifndef FS_SUBVOL_CREATE_H
#define FS_SUBVOL_CREATE_H

#include "transaction.h"

int snapshot_create_pending(struct trans *t);

#endif
