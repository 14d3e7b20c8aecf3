/*
 * Subvolume commands (shell/cmd_subvol.c) and property commands
 * (shell/cmd_property.c) in the shape of btrfs-progs. Each subcommand is a handler of its own
 * (argv[0] is the subcommand's word), a row of its group in
 * shell/groups.c.
 */
#ifndef SHELL_CMD_SUBVOL_H
#define SHELL_CMD_SUBVOL_H

int cmd_subvolume_create(int argc, char **argv);
int cmd_subvolume_snapshot(int argc, char **argv);
int cmd_subvolume_list(int argc, char **argv);
int cmd_subvolume_show(int argc, char **argv);
int cmd_subvolume_get_default(int argc, char **argv);
int cmd_subvolume_set_default(int argc, char **argv);
int cmd_subvolume_delete(int argc, char **argv);
int cmd_subvolume_sync(int argc, char **argv);
/* shell/cmd_find_new.c */
int cmd_subvolume_find_new(int argc, char **argv);
int cmd_property_get(int argc, char **argv);
int cmd_property_set(int argc, char **argv);
int cmd_property_list(int argc, char **argv);
/* shell/cmd_receive.c */
int cmd_receive(int argc, char **argv);

#endif
