/*
 * Commands on inode attributes beyond the namespace: extended attributes
 * (shell/cmd_xattr.c). Rows in shell/commands.c.
 */
#ifndef SHELL_CMD_XATTR_H
#define SHELL_CMD_XATTR_H

int cmd_setfattr(int argc, char **argv);
int cmd_getfattr(int argc, char **argv);

#endif
