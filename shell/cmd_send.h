/* `send` (shell/cmd_send.c): btrfs-progs' btrfs send. */
#ifndef SHELL_CMD_SEND_H
#define SHELL_CMD_SEND_H

int cmd_send(int argc, char **argv);

#endif
