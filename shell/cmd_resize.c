/*
 * `filesystem resize [--enqueue] [DEVID:][+|-]SIZE[KMGT]|[DEVID:]max|cancel
 * PATH` in btrfs-progs 6.2's shape: it says "Resize device id 1 (vda)
 * from OLD to NEW" first, then resizes (fs/resize.c: a shrink moves the
 * chunks past the new end first; `kill` or `resize cancel` from another
 * job stops it), and reports a failure as btrfs-progs does. max is the
 * disk's size. --enqueue is accepted and has nothing to wait for here:
 * a resize beside a balance is refused at once, as without it.
 */
#include <ghee/errno.h>
#include <string.h>

#include <ghee/alloc.h>
#include <ghee/console.h>

#include "../fs/fs.h"
#include "cmd_fs.h"
#include "shell.h"
#include "units.h"

/* The new size the amount asks for (after "DEVID:"), from the device's
 * old size; 0, or 1 after saying why. */
static int new_size(const char *amount, uint64_t old, uint64_t disk,
		    uint64_t *size)
{
	const struct units u = { 1024, -1 };
	char a[UNITS_STR_MAX], b[UNITS_STR_MAX];
	int mod = 0;
	uint64_t v;

	if (!strcmp(amount, "max")) {
		*size = disk;
		return 0;
	}
	if (amount[0] == '+' || amount[0] == '-')
		mod = *amount++ == '+' ? 1 : -1;
	if (shell_parse_u64(amount, "filesystem resize", &v))
		return 1;
	if (!v) {
		con_eprintf("ERROR: failed to parse size %s\n", amount);
		return 1;
	}
	if (mod < 0 && v > old) {
		units_format(&u, old, a, sizeof(a));
		units_format(&u, v, b, sizeof(b));
		con_eprintf("ERROR: current size is %s which is smaller than "
			    "%s\n", a, b);
		return 1;
	}
	if (mod > 0 && v > UINT64_MAX - old) {
		units_format(&u, v, b, sizeof(b));
		con_eprintf("ERROR: increasing %s is out of range\n", b);
		return 1;
	}
	*size = mod < 0 ? old - v : mod > 0 ? old + v : v;
	return 0;
}

int cmd_filesystem_resize(int argc, char **argv)
{
	const struct units u = { 1024, -1 };
	char a[UNITS_STR_MAX], b[UNITS_STR_MAX];
	const char *amount, *path, *in, *colon;
	struct fs_ident *id;
	struct fs_info *fs;
	uint64_t devid = 1, size;
	int i = 1, ret;

	for (; i < argc && !strncmp(argv[i], "--", 2); i++)
		if (strcmp(argv[i], "--enqueue") && strcmp(argv[i], "--"))
			return -EINVAL;
	if (argc - i != 2)
		return -EINVAL;
	amount = argv[i];
	path = argv[i + 1];
	fs = cmd_fs_path("filesystem resize", path, &in);
	if (!fs)
		return -ENOENT;
	colon = strchr(amount, ':');
	if (colon) {
		char dev[24];
		size_t n = (size_t)(colon - amount);

		if (n >= sizeof(dev))
			n = sizeof(dev) - 1;
		memcpy(dev, amount, n);
		dev[n] = 0;
		if (shell_parse_u64(dev, "devid", &devid))
			return 1;
		amount = colon + 1;
	}
	if (!strcmp(amount, "cancel")) {
		con_printf("Request to cancel resize\n");
		ret = fs_resize_cancel(fs);
		if (ret)
			con_eprintf("ERROR: unable to resize '%s': %s\n", path,
				    cmd_fs_strerror(ret));
		return ret ? 1 : 0;
	}
	id = kmalloc(sizeof(*id));
	ret = id ? fs_ident(fs, id) : -ENOMEM;
	if (ret) {
		kfree(id);
		con_eprintf("ERROR: unable to retrieve fs info\n");
		return 1;
	}
	if (devid != id->devid) {
		con_eprintf("ERROR: cannot find devid: %llu\n",
			    (unsigned long long)devid);
		kfree(id);
		return 1;
	}
	ret = new_size(amount, id->dev_size, id->disk_size, &size);
	if (ret == 0) {
		units_format(&u, id->dev_size, a, sizeof(a));
		if (!strcmp(amount, "max"))
			strcpy(b, "max");
		else
			units_format(&u, size - size % id->sectorsize, b,
				     sizeof(b));
		con_printf("Resize device id %llu (%s) from %s to %s\n",
			   (unsigned long long)devid, cmd_fs_disk_name(fs), a,
			   b);
		ret = fs_resize(fs, size);
		if (ret == -EFBIG)
			con_eprintf("ERROR: unable to resize '%s': no enough "
				    "free space\n", path);
		else if (ret)
			con_eprintf("ERROR: unable to resize '%s': %s\n", path,
				    cmd_fs_strerror(ret));
		ret = ret ? 1 : 0;
	}
	kfree(id);
	return ret;
}
