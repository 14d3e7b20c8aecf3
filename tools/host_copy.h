/* Host-only commands of the host tool (tools/host_copy.c). */
#ifndef TOOLS_HOST_COPY_H
#define TOOLS_HOST_COPY_H

#include "../shell/shell.h"

/* import and export, for shell_register_extra(). */
extern const struct shell_cmd host_copy_commands[];

#endif
