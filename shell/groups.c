/*
 * btrfs-progs' command groups: for each group, the table of its
 * subcommands, in btrfs-progs' names and order, with ghee's usage text;
 * then the list of groups, and btrfs-progs' other top-level commands.
 *
 * A row whose handler is NULL is a command a later change implements:
 * the shell answers "GROUP CMD: not implemented yet" (not "unknown
 * command"), so wiring a handler is a change of that one row. Handlers
 * follow the shell's convention: int cmd_<group>_<sub>(argc, argv), argv[0]
 * the subcommand's word, own option parsing, -EINVAL for bad arguments
 * (the shell then prints the row's usage). Rows of planned commands take
 * any number of arguments (0, -1) until their handler says otherwise.
 */
#include <stddef.h>

#include "cmd_balance.h"
#include "cmd_fs.h"
#include "cmd_inspect.h"
#include "cmd_send.h"
#include "cmd_qgroup.h"
#include "cmd_scrub.h"
#include "cmd_subvol.h"
#include "shell.h"

/* Size units every space-reporting command accepts (shell/units.c). */
#define UNITS "[-b|-h|-H|--iec|--si|-k|-m|-g|-t]"

static const struct shell_cmd filesystem_cmds[] = {
	{ "df", UNITS " [PATH]", "space allocated and used per block group "
	  "type and profile", 0, -1, cmd_filesystem_df },
	{ "du", "[-s] " UNITS " PATH...", "disk use of files: total, "
	  "exclusive and shared bytes", 1, -1, cmd_filesystem_du },
	{ "show", UNITS " [PATH|DISK]", "label, UUID and devices of "
	  "filesystems", 0, -1, cmd_filesystem_show },
	{ "sync", "[PATH]", "commit the running transaction", 0, -1,
	  cmd_filesystem_sync },
	{ "commit-stats", "[-z] [PATH]", "commits since mount, their "
	  "longest and total time, and the parts, tree blocks written and "
	  "delayed-ref heads of the last one (-z: reset the longest)", 0, 2,
	  cmd_filesystem_commit_stats },
	{ "defragment", "[-r] [-v] [-c[ALG]] [-f] [-s START] [-l LEN] "
	  "[-t SIZE] PATH...", "rewrite fragmented file data into fewer "
	  "extents, snapshots and reflinks kept shared", 1, -1,
	  cmd_filesystem_defragment },
	{ "resize", "[--enqueue] [DEVID:][+|-]SIZE[KMGT]|[DEVID:]max|cancel "
	  "PATH", "grow or shrink the filesystem on its device", 2, -1,
	  cmd_filesystem_resize },
	{ "label", "PATH|DISK [NEWLABEL]", "show or set the label",
	  1, 2, cmd_filesystem_label },
	{ "usage", "[-T] " UNITS " [PATH|DISK]", "space overall, by type "
	  "and by device", 0, -1, cmd_filesystem_usage },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd subvolume_cmds[] = {
	{ "create", "[-i QGROUPID] PATH...", "make subvolumes (-i: their "
	  "qgroups join QGROUPID)", 1, -1, cmd_subvolume_create },
	{ "delete", "[-c|-C] PATH... | -i ID PATH", "delete subvolumes (the "
	  "cleaner frees their space in the background)", 1, -1,
	  cmd_subvolume_delete },
	{ "list", "[-p] [-a] [-s] [-r] [-u] [-q] [-o] PATH", "list the "
	  "subvolumes", 0, -1, cmd_subvolume_list },
	{ "snapshot", "[-r] [-i QGROUPID] SOURCE DEST", "snapshot a "
	  "subvolume (-r: read-only)", 2, -1, cmd_subvolume_snapshot },
	{ "get-default", "[PATH]", "show the default subvolume", 0, 1,
	  cmd_subvolume_get_default },
	{ "set-default", "ID [PATH]", "set the default subvolume (used from "
	  "the next mount)", 1, 2, cmd_subvolume_set_default },
	{ "find-new", "PATH LASTGEN", "list the file extents written since "
	  "generation LASTGEN", 2, 2, cmd_subvolume_find_new },
	{ "show", UNITS " PATH", "show a subvolume's attributes", 1, -1,
	  cmd_subvolume_show },
	{ "sync", "[-s SLEEP] [PATH [ID...]]", "wait for deleted subvolumes "
	  "to be cleaned", 0, -1, cmd_subvolume_sync },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd property_cmds[] = {
	{ "get", "[-t TYPE] OBJECT [NAME]", "show properties (ro, label, "
	  "compression) of a subvolume, filesystem, device or file", 1, -1,
	  cmd_property_get },
	{ "set", "[-f] [-t TYPE] OBJECT NAME VALUE", "set a property",
	  3, -1, cmd_property_set },
	{ "list", "[-t TYPE] OBJECT", "list the properties an object has",
	  1, -1, cmd_property_list },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd quota_cmds[] = {
	{ "enable", "PATH", "turn quota groups on", 0, -1, cmd_quota_enable },
	{ "disable", "PATH", "turn quota groups off", 0, -1,
	  cmd_quota_disable },
	{ "rescan", "[-s|-w|-W] PATH", "recount quota groups", 0, -1,
	  cmd_quota_rescan },
	{ "status", "[--is-enabled] PATH", "whether quota groups are on, "
	  "their mode and count", 1, 2, cmd_quota_status },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd qgroup_cmds[] = {
	{ "assign", "SRC DST PATH", "make SRC a member of DST", 0, -1,
	  cmd_qgroup_assign },
	{ "remove", "SRC DST PATH", "remove SRC from DST", 0, -1,
	  cmd_qgroup_remove },
	{ "create", "QGROUPID PATH", "make a quota group", 0, -1,
	  cmd_qgroup_create },
	{ "destroy", "QGROUPID PATH", "remove a quota group", 0, -1,
	  cmd_qgroup_destroy },
	{ "show", "[-p] [-c] [-r] [-e] [-f|-F] [--sort=...] " UNITS " PATH",
	  "quota groups with their usage and limits", 0, -1,
	  cmd_qgroup_show },
	{ "limit", "[-c] [-e] SIZE|none [QGROUPID] PATH",
	  "set a quota group's limit", 0, -1, cmd_qgroup_limit },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd balance_cmds[] = {
	{ "start", "[-d[FILTERS]] [-m[FILTERS]] [-s[FILTERS]] [-f] "
	  "[--full-balance] [--bg] PATH",
	  "relocate block groups (a task)", 1, -1, cmd_balance_start },
	{ "pause", "PATH", "pause a running balance", 1, 1,
	  cmd_balance_pause },
	{ "cancel", "PATH", "cancel a running or paused balance", 1, 1,
	  cmd_balance_cancel },
	{ "resume", "PATH", "resume a paused balance", 1, 1,
	  cmd_balance_resume },
	{ "status", "[-v] PATH", "progress of a balance", 1, 2,
	  cmd_balance_status },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd scrub_cmds[] = {
	{ "start", "[-BdqrRf] [-c CLASS] [-n DATA] [-l BYTES] PATH|DISK",
	  "read and verify every copy, repair from a good one (a task)",
	  1, -1, cmd_scrub_start },
	{ "cancel", "PATH|DISK", "cancel a running scrub", 1, 1,
	  cmd_scrub_cancel },
	{ "resume", "[-BdqrR] [-c CLASS] [-n DATA] PATH|DISK",
	  "resume a cancelled scrub", 1, -1, cmd_scrub_resume },
	{ "status", "[-dR] " UNITS " PATH|DISK", "progress and errors of a "
	  "scrub", 1, -1, cmd_scrub_status },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd device_cmds[] = {
	{ "stats", "[-c] [-z] PATH|DISK", "I/O error counters per device",
	  1, -1, cmd_device_stats },
	{ "usage", UNITS " PATH|DISK", "space allocated on each device", 1,
	  -1, cmd_device_usage },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

static const struct shell_cmd inspect_internal_cmds[] = {
	{ "dump-tree", "-t TREE", "print a tree (root, extent, chunk, dev, fs, "
	  "csum, quota, uuid, free-space, block-group or an ID)", 0, -1,
	  cmd_inspect_internal_dump_tree },
	{ "dump-super", "", "print the superblock", 0, 0,
	  cmd_inspect_internal_dump_super },
	{ "inode-resolve", "[-v] INO PATH", "paths of an inode number", 2, 3,
	  cmd_inspect_inode_resolve },
	{ "logical-resolve", "[-P] [-o] [-v] [-s BUFSIZE] LOGICAL PATH",
	  "paths of the files using a logical address", 2, -1,
	  cmd_inspect_logical_resolve },
	{ "rootid", "PATH", "ID of the subvolume holding PATH", 1, 1,
	  cmd_inspect_rootid },
	{ "subvolid-resolve", "SUBVOLID PATH", "path of a subvolume from "
	  "the top level", 2, 2, cmd_inspect_subvolid_resolve },
	{ "min-dev-size", "[--id DEVID] PATH", "smallest size the device "
	  "could shrink to", 0, -1, NULL },
	{ "tree-stats", "[-b] [-t TREE] DISK", "block counts and sizes of "
	  "trees", 0, -1, NULL },
	{ NULL, NULL, NULL, 0, 0, NULL },
};

const struct shell_group shell_groups[] = {
	{ "filesystem", "df, du, show, usage, sync, resize, label, "
	  "defragment",
	  filesystem_cmds },
	{ "subvolume", "create, snapshot, delete, list, show, default",
	  subvolume_cmds },
	{ "property", "get and set properties (ro, label, ...)",
	  property_cmds },
	{ "quota", "enable, disable, rescan, status of quota groups",
	  quota_cmds },
	{ "qgroup", "create, limit, show quota groups", qgroup_cmds },
	{ "balance", "relocate block groups; pause, cancel, status",
	  balance_cmds },
	{ "scrub", "verify every copy; cancel, status", scrub_cmds },
	{ "device", "per-device error counters and space", device_cmds },
	{ "inspect-internal", "dump trees and the superblock, resolve inodes "
	  "and addresses", inspect_internal_cmds },
	{ NULL, NULL, NULL },
};

const struct shell_cmd shell_btrfs_commands[] = {
	{ "check", "[DISK]", "ghee's own check of the last commit (as fsck)",
	  0, 1, cmd_fsck },
	{ "send", "[-eq] [-p PARENT] [-c CLONE_SRC]... [--proto 0|1|2] "
	  "[--no-data] [--compressed-data] [-f FILE] SUBVOL...",
	  "write a stream of read-only subvolumes", 1, -1, cmd_send },
	{ "receive", "[-e] [-E N] [-q] [-f FILE] [--force-decompress] "
	  "[--dump] [DIR]", "make "
	  "subvolumes from a send stream", 0, -1, cmd_receive },
	{ NULL, NULL, NULL, 0, 0, NULL },
};
