/*
 * inspect-internal commands in btrfs-progs' shape (shell/cmd_inspect.c):
 * one handler per subcommand (argv[0] is its word), each a row of the
 * inspect-internal group in shell/groups.c.
 */
#ifndef SHELL_CMD_INSPECT_H
#define SHELL_CMD_INSPECT_H

int cmd_inspect_logical_resolve(int argc, char **argv);
int cmd_inspect_inode_resolve(int argc, char **argv);
int cmd_inspect_rootid(int argc, char **argv);
int cmd_inspect_subvolid_resolve(int argc, char **argv);

#endif
