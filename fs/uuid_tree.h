/* The UUID tree: subvolumes by UUID and received UUID. See uuid_tree.c. */
#ifndef FS_UUID_TREE_H
#define FS_UUID_TREE_H

#include "transaction.h"

int uuid_tree_add(struct trans *t, u8 type, const u8 *uuid, u64 id);
int uuid_tree_remove(struct trans *t, u8 type, const u8 *uuid, u64 id);

#endif
