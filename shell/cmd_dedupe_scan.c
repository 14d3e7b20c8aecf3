/*
 * dedupe scan: not yet (issue 16 item 1, second half).
 */
#include <ghee/console.h>
#include <ghee/errno.h>

#include "cmd_fs.h"

int cmd_dedupe_scan(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	con_eprintf("dedupe scan: not implemented yet\n");
	return -EOPNOTSUPP;
}
