/*
 * Filesystem shell commands (shell/cmd_fs.c). Rows for them sit in the table
 * in shell/commands.c under the "filesystem" comment.
 */
#ifndef SHELL_CMD_FS_H
#define SHELL_CMD_FS_H

int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_tree(int argc, char **argv);
int cmd_find(int argc, char **argv);
int cmd_sha256sum(int argc, char **argv);
int cmd_df(int argc, char **argv);
int cmd_subvol(int argc, char **argv);
int cmd_dump_super(int argc, char **argv);
int cmd_dump_tree(int argc, char **argv);

/* Unmount whatever is mounted (host tool exit, tests). */
void cmd_fs_reset(void);

#endif
