/*
 * Commands on inodes beyond names and data: extended attributes
 * (shell/cmd_xattr.c), owners and special inodes (shell/cmd_inode.c).
 * Rows in shell/commands.c.
 */
#ifndef SHELL_CMD_XATTR_H
#define SHELL_CMD_XATTR_H

int cmd_setfattr(int argc, char **argv);
int cmd_getfattr(int argc, char **argv);
int cmd_chown(int argc, char **argv);
int cmd_mknod(int argc, char **argv);
int cmd_mkfifo(int argc, char **argv);

#endif
