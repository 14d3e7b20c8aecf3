/*
 * btrfs balance: start, status, pause, resume, cancel
 * (shell/cmd_balance.c).
 */
#ifndef SHELL_CMD_BALANCE_H
#define SHELL_CMD_BALANCE_H

int cmd_balance_start(int argc, char **argv);
int cmd_balance_status(int argc, char **argv);
int cmd_balance_pause(int argc, char **argv);
int cmd_balance_resume(int argc, char **argv);
int cmd_balance_cancel(int argc, char **argv);

#endif
