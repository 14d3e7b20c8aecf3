/*
 * `quota` and `qgroup` commands in the shape of btrfs-progs 6.2
 * (shell/cmd_qgroup.c, shell/cmd_qgroup_show.c). Each is a row of its
 * group in shell/groups.c.
 */
#ifndef SHELL_CMD_QGROUP_H
#define SHELL_CMD_QGROUP_H

#include <stdint.h>

int cmd_quota_enable(int argc, char **argv);
int cmd_quota_disable(int argc, char **argv);
int cmd_quota_rescan(int argc, char **argv);
int cmd_quota_status(int argc, char **argv);
int cmd_qgroup_create(int argc, char **argv);
int cmd_qgroup_destroy(int argc, char **argv);
int cmd_qgroup_assign(int argc, char **argv);
int cmd_qgroup_remove(int argc, char **argv);
int cmd_qgroup_limit(int argc, char **argv);
int cmd_qgroup_show(int argc, char **argv);
int cmd_qgroup_parse_id(const char *s, uint64_t *id);

#endif
