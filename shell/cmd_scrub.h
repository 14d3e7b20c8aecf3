/*
 * btrfs scrub start|cancel|resume|status (shell/cmd_scrub.c).
 */
#ifndef SHELL_CMD_SCRUB_H
#define SHELL_CMD_SCRUB_H

int cmd_scrub_start(int argc, char **argv);
int cmd_scrub_cancel(int argc, char **argv);
int cmd_scrub_resume(int argc, char **argv);
int cmd_scrub_status(int argc, char **argv);

#endif
