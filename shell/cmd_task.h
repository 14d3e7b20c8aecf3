/* Shell commands for tasks and self tests (shell/cmd_task.c). */
#ifndef SHELL_CMD_TASK_H
#define SHELL_CMD_TASK_H

int cmd_ps(int argc, char **argv);
int cmd_cpus(int argc, char **argv);
int cmd_kill(int argc, char **argv);
int cmd_sleep(int argc, char **argv);
int cmd_spin(int argc, char **argv);
int cmd_test(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
