/* The sampling profiler's command (shell/cmd_profile.c). */
#ifndef SHELL_CMD_PROFILE_H
#define SHELL_CMD_PROFILE_H

int cmd_profile(int argc, char **argv);

#endif
