/*
 * Host disks: image files as struct blkdev, with pread/pwrite/fdatasync.
 * The block size is 512 bytes, as for a raw image under QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ghee/blk.h>

#include "host.h"

struct file_disk {
	struct blkdev dev;
	int fd;
};

static struct file_disk *opened[26];
static int nr_opened;

static int file_read(struct blkdev *dev, uint64_t off, void *buf, size_t len)
{
	struct file_disk *d = dev->priv;
	ssize_t n;

	while (len) {
		n = pread(d->fd, buf, len, off);
		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static int file_write(struct blkdev *dev, uint64_t off, const void *buf,
		      size_t len)
{
	struct file_disk *d = dev->priv;
	ssize_t n;

	while (len) {
		n = pwrite(d->fd, buf, len, off);
		if (n <= 0)
			return n == 0 ? -EIO : -errno;
		buf = (const char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static int file_flush(struct blkdev *dev)
{
	struct file_disk *d = dev->priv;

	return fdatasync(d->fd) ? -errno : 0;
}

static const struct blkdev_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.flush = file_flush,
};

int host_disk_open(const char *path, int ro)
{
	struct file_disk *d;
	struct stat st;
	int ret;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = open(path, ro ? O_RDONLY : O_RDWR);
	if (d->fd < 0 && !ro && errno == EACCES) {
		d->fd = open(path, O_RDONLY);
		ro = 1;
	}
	if (d->fd < 0 || fstat(d->fd, &st)) {
		ret = -errno;
		fprintf(stderr, "ghee: %s: %s\n", path, strerror(errno));
		goto out_free;
	}
	d->dev.size = st.st_size & ~511ull;
	d->dev.block_size = 512;
	d->dev.read_only = ro;
	d->dev.ops = &file_ops;
	d->dev.priv = d;
	ret = blk_register(&d->dev);
	if (ret) {
		fprintf(stderr, "ghee: %s: too many disks\n", path);
		goto out_close;
	}
	opened[nr_opened++] = d;
	return 0;
out_close:
	close(d->fd);
out_free:
	free(d);
	return ret;
}

void host_disks_close(void)
{
	while (nr_opened) {
		struct file_disk *d = opened[--nr_opened];

		close(d->fd);
		free(d);
	}
}
