/*
 * btrfs scrub, as btrfs-progs 6.2 has it: start, cancel, resume, status
 * (fs_scrub does the work, fs/scrub.c).
 *
 * `scrub start PATH|DISK` runs the scrub as a background job (Linux runs
 * it in the kernel, progs' child waits for it): the shell starts
 * `scrub start -B -q ...` with `&`, so `jobs` shows its progress, `kill`
 * and `scrub cancel` stop it, and umount waits for it as for any job.
 * -B runs it in the foreground and prints the summary at the end (-R the
 * raw counts); -r reads only; -l BYTES (ghee's, as Linux's sysfs
 * scrub_speed_max) limits the rate; -c, -n (I/O priority) and -f are
 * accepted and change nothing here.
 *
 * Status and resume: one record per filesystem UUID keeps the last
 * scrub's counts, times and state, in memory, across unmount and mount
 * in the same boot (progs keeps /var/lib/btrfs/scrub.status.UUID). A
 * cancelled scrub resumes from its last_physical, its counts added to.
 *
 * Locking: scrub_lock (a spinlock, taken with nothing else held) guards
 * the records' use and state fields; the counts (fs_scrub_progress) are
 * written by the scrubbing task with atomic stores and copied field by
 * field with atomic loads.
 */
#include <ghee/errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ghee/console.h>
#include <ghee/sync.h>
#include <ghee/task.h>
#include <ghee/time.h>

#include "../lib/uuid.h"
#include "cmd_fs.h"
#include "cmd_scrub.h"
#include "jobs.h"
#include "units.h"

#define SCRUB_RECORDS 8		/* filesystems remembered */

/* What a record says of its last scrub (progs' status words). */
enum scrub_state {
	SCRUB_NONE,		/* never ran */
	SCRUB_RUNNING,
	SCRUB_FINISHED,
	SCRUB_ABORTED,		/* cancelled: resumable */
	SCRUB_INTERRUPTED,	/* stopped by an error: resumable */
};

struct scrub_record {
	int used;				/* [scrub_lock] */
	uint8_t fsid[16];			/* [scrub_lock] */
	enum scrub_state state;			/* [scrub_lock] */
	int task;				/* running: its task id
						 * [scrub_lock] */
	int64_t t_start, t_resumed;		/* wall seconds; 0: never
						 * [scrub_lock] */
	uint64_t duration;			/* seconds run, all runs
						 * before the running one
						 * [scrub_lock] */
	uint64_t run_start_ns;			/* time_ns() the running
						 * one began [scrub_lock] */
	struct fs_scrub_progress p;		/* counts [a] */
	struct fs_scrub_args a;			/* of the last run: set by
						 * its claim, then read by
						 * its task only */
};

/* A record as status shows it, copied out. */
struct scrub_view {
	enum scrub_state state;
	int64_t t_start, t_resumed;
	uint64_t duration;		/* seconds, the running one included */
	struct fs_scrub_progress p;
};

static struct spinlock scrub_lock = SPINLOCK_INIT("scrub");
static struct scrub_record records[SCRUB_RECORDS];

/* Options of start, resume and status. */
struct scrub_opts {
	int background, per_dev, quiet, raw, readonly;
	uint64_t limit;
	struct units u;
	const char *path;
};

/* The record of fsid: found, or a free one claimed (create), or NULL. */
static struct scrub_record *record_of(const uint8_t *fsid, int create)
{
	struct scrub_record *r, *found = NULL, *free_r = NULL;

	spin_lock(&scrub_lock);
	for (r = records; r < records + SCRUB_RECORDS && !found; r++) {
		if (r->used && !memcmp(r->fsid, fsid, 16))
			found = r;
		else if (!r->used && !free_r)
			free_r = r;
	}
	if (!found && create && free_r) {
		memset(free_r, 0, sizeof(*free_r));
		free_r->used = 1;
		memcpy(free_r->fsid, fsid, 16);
		found = free_r;
	}
	spin_unlock(&scrub_lock);
	return found;
}

/* Copy the counts a running scrub updates. */
static void progress_copy_out(const struct fs_scrub_progress *from,
			      struct fs_scrub_progress *to)
{
	const uint64_t *f = (const uint64_t *)from;
	uint64_t *t = (uint64_t *)to;
	size_t i;

	for (i = 0; i < sizeof(*from) / sizeof(uint64_t); i++)
		t[i] = __atomic_load_n(&f[i], __ATOMIC_RELAXED);
}


/* Parse start/resume/status options (which: the letters allowed). */
static int parse(int argc, char **argv, const char *which,
		 struct scrub_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->background = 1;
	argc = units_parse(argc, argv, &o->u);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || !a[1]) {
			if (o->path)
				return -EINVAL;
			o->path = a;
			continue;
		}
		if ((!strcmp(a, "-l") || !strcmp(a, "--limit")) &&
		    strchr(which, 'l') && i + 1 < argc) {
			char *end;

			o->limit = strtoull(argv[++i], &end, 10);
			if (*end)
				return -EINVAL;
			continue;
		}
		if ((!strcmp(a, "-c") || !strcmp(a, "-n")) &&
		    strchr(which, 'c') && i + 1 < argc) {
			i++;	/* I/O priority: nothing to set */
			continue;
		}
		for (a++; *a; a++) {
			if (!strchr(which, *a) || *a == 'l' || *a == 'c')
				return -EINVAL;
			o->background &= *a != 'B';
			o->per_dev |= *a == 'd';
			o->quiet |= *a == 'q';
			o->raw |= *a == 'R';
			o->readonly |= *a == 'r';
		}
	}
	return o->path ? 0 : -EINVAL;
}

/* Seconds since 1970 as strftime's %c in the C locale (UTC). */
static void time_c(int64_t t, char *out, size_t n)
{
	static const char *const wd[] = { "Thu", "Fri", "Sat", "Sun", "Mon",
					   "Tue", "Wed" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
					   "Jun", "Jul", "Aug", "Sep", "Oct",
					   "Nov", "Dec" };
	char iso[32];
	int y, m, d;

	cmd_fs_time_string(t, iso, sizeof(iso));
	y = (int)strtol(iso, NULL, 10);
	m = (int)strtol(iso + 5, NULL, 10);
	d = (int)strtol(iso + 8, NULL, 10);
	if (strlen(iso) < 19 || m < 1 || m > 12) {
		snprintf(out, n, "%s", iso);
		return;
	}
	snprintf(out, n, "%s %s %2d %s %d", wd[(t / 86400 % 7 + 7) % 7],
		 mon[m - 1], d, iso + 11, y);
}

/* Bytes to scrub: what every chunk holds, times its copies. */
static uint64_t bytes_total(struct fs_info *fs)
{
	struct fs_df df;
	uint64_t total = 0;
	uint32_t i;

	if (fs_df(fs, &df))
		return 0;
	for (i = 0; i < df.nspace; i++)
		total += df.space[i].used *
			 (strcmp(fs_space_profile_name(df.space[i].type),
				 "DUP") ? 1 : 2);
	return total;
}

static void print_raw(const struct fs_scrub_progress *p)
{
	static const char *const names[] = {
		"data_extents_scrubbed", "tree_extents_scrubbed",
		"data_bytes_scrubbed", "tree_bytes_scrubbed", "read_errors",
		"csum_errors", "verify_errors", "no_csum", "csum_discards",
		"super_errors", "malloc_errors", "uncorrectable_errors",
	};
	const uint64_t *v = (const uint64_t *)p;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		con_printf("\t%s: %llu\n", names[i], (unsigned long long)v[i]);
	con_printf("\tunverified_errors: 0\n");
	con_printf("\tcorrected_errors: %llu\n",
		   (unsigned long long)p->corrected_errors);
	con_printf("\tlast_physical: %llu\n",
		   (unsigned long long)p->last_physical);
}

static void print_summary(const struct fs_scrub_progress *p, int running,
			  uint64_t duration, uint64_t total,
			  const struct units *u)
{
	uint64_t done = p->data_bytes_scrubbed + p->tree_bytes_scrubbed;
	uint64_t rate = duration ? done / duration : 0;
	struct units human = { 1024, -1 };
	char a[UNITS_STR_MAX], b[UNITS_STR_MAX], pct[UNITS_STR_MAX];

	units_format(u, total, a, sizeof(a));
	if (running) {
		uint64_t left = rate && total > done ? (total - done) / rate : 0;

		con_printf("Time left:        %llu:%02llu:%02llu\n",
			   (unsigned long long)(left / 3600),
			   (unsigned long long)(left / 60 % 60),
			   (unsigned long long)(left % 60));
		units_format(u, done, b, sizeof(b));
		con_printf("Total to scrub:   %s\n", a);
		units_percent(done, total, pct, sizeof(pct));
		con_printf("Bytes scrubbed:   %s  (%s%%)\n", b, pct);
	} else {
		con_printf("Total to scrub:   %s\n", a);
	}
	units_format(u->power == 0 ? u : &human, rate, b, sizeof(b));
	con_printf("Rate:             %s/s\n", b);
	con_printf("Error summary:   ");
	if (!p->read_errors && !p->csum_errors && !p->verify_errors &&
	    !p->super_errors && !p->corrected_errors &&
	    !p->uncorrectable_errors) {
		con_printf(" no errors found\n");
		return;
	}
	if (p->read_errors)
		con_printf(" read=%llu", (unsigned long long)p->read_errors);
	if (p->super_errors)
		con_printf(" super=%llu", (unsigned long long)p->super_errors);
	if (p->verify_errors)
		con_printf(" verify=%llu",
			   (unsigned long long)p->verify_errors);
	if (p->csum_errors)
		con_printf(" csum=%llu", (unsigned long long)p->csum_errors);
	con_printf("\n  Corrected:      %llu\n",
		   (unsigned long long)p->corrected_errors);
	con_printf("  Uncorrectable:  %llu\n",
		   (unsigned long long)p->uncorrectable_errors);
	con_printf("  Unverified:     0\n");
}

/* Copy record r (NULL: none) out into v. */
static void view_of(struct scrub_record *r, struct scrub_view *v)
{
	uint64_t run_start = 0;

	memset(v, 0, sizeof(*v));
	if (!r)
		return;
	spin_lock(&scrub_lock);
	v->state = r->state;
	v->t_start = r->t_start;
	v->t_resumed = r->t_resumed;
	v->duration = r->duration;
	run_start = r->run_start_ns;
	spin_unlock(&scrub_lock);
	progress_copy_out(&r->p, &v->p);
	if (v->state == SCRUB_RUNNING)
		v->duration += (time_ns() - run_start) / 1000000000ull;
}

/* A record's status block (progs' print_fs_stat); with -d the device
 * line first. */
static void print_record(struct fs_info *fs, const struct scrub_view *r,
			 const struct scrub_opts *o, const char *append)
{
	static const char *const words[] = { "", "running", "finished",
					     "aborted", "interrupted" };
	char t[64];

	if (o->per_dev)
		con_printf("\nScrub device /dev/%s (id 1) %s\n",
			   cmd_fs_disk_name(fs), append);
	if (r->state == SCRUB_NONE) {
		con_printf("\tno stats available\n");
	} else {
		time_c(r->t_resumed ? r->t_resumed : r->t_start, t,
		       sizeof(t));
		con_printf("Scrub %s:    %s\n",
			   r->t_resumed ? "resumed" : "started", t);
		con_printf("Status:           %s\n", words[r->state]);
		con_printf("Duration:         %llu:%02llu:%02llu\n",
			   (unsigned long long)(r->duration / 3600),
			   (unsigned long long)(r->duration / 60 % 60),
			   (unsigned long long)(r->duration % 60));
	}
	if (o->raw)
		print_raw(&r->p);
	else
		print_summary(&r->p, r->state == SCRUB_RUNNING, r->duration,
			      bytes_total(fs), &o->u);
}

/* Whether a scrub of the record's filesystem may start (a resume: a
 * cancelled or interrupted one is there): 0, -EBUSY (one runs) or
 * -ENOENT (nothing to resume). Caller holds scrub_lock; r may be NULL. */
static int startable(const struct scrub_record *r, int resume)
{
	if (r && r->state == SCRUB_RUNNING)
		return -EBUSY;
	if (resume && (!r || (r->state != SCRUB_ABORTED &&
			      r->state != SCRUB_INTERRUPTED)))
		return -ENOENT;
	return 0;
}

/* Say why startable() refused (with no lock held: the output may be a
 * pipe). */
static int say_refused(int ret, const struct scrub_opts *o,
		       const char *uuid)
{
	if (ret == -EBUSY && !o->quiet)
		con_eprintf("ERROR: Scrub is already running.\nTo cancel use "
			    "'btrfs scrub cancel %s'.\nTo see the status use "
			    "'btrfs scrub status [-d] %s'\n", o->path,
			    o->path);
	if (ret == -ENOENT)
		con_printf("scrub: nothing to resume for %s, fsid %s\n",
			   o->path, uuid);
	return ret;
}

/* Zero counts a status may be copying. */
static void progress_zero(struct fs_scrub_progress *p)
{
	uint64_t *v = (uint64_t *)p;
	size_t i;

	for (i = 0; i < sizeof(*p) / sizeof(uint64_t); i++)
		__atomic_store_n(&v[i], 0, __ATOMIC_RELAXED);
}

/* Claim the record of fsid for a run in this task: resume (keep the
 * counts, start at last_physical) or a new start. NULL after saying
 * why not. */
static struct scrub_record *claim(const uint8_t *fsid, const char *uuid,
				  const struct scrub_opts *o, int resume)
{
	struct scrub_record *r = record_of(fsid, 1);
	int ret;

	if (!r) {
		con_eprintf("ERROR: scrub: too many filesystems remembered\n");
		return NULL;
	}
	spin_lock(&scrub_lock);
	ret = startable(r, resume);
	if (ret == 0) {
		r->state = SCRUB_RUNNING;
		r->task = task_id(task_current());
		r->run_start_ns = time_ns();
		r->a.readonly = o->readonly;
		r->a.limit = o->limit;
		if (resume) {
			r->a.start = r->p.last_physical;
			r->t_resumed = (int64_t)time_wall_sec();
		} else {
			progress_zero(&r->p);
			r->a.start = 0;
			r->t_start = (int64_t)time_wall_sec();
			r->t_resumed = 0;
			r->duration = 0;
		}
	}
	spin_unlock(&scrub_lock);
	if (ret)
		say_refused(ret, o, uuid);
	return ret ? NULL : r;
}

/* Run the scrub in this task and record how it ended. */
static int run(struct fs_info *fs, struct scrub_record *r)
{
	int ret = fs_scrub(fs, &r->a, &r->p);
	uint64_t secs = (time_ns() - r->run_start_ns) / 1000000000ull;

	spin_lock(&scrub_lock);
	r->duration += secs;
	r->state = ret == 0 ? SCRUB_FINISHED :
		   ret == -ECANCELED ? SCRUB_ABORTED : SCRUB_INTERRUPTED;
	r->task = 0;
	spin_unlock(&scrub_lock);
	return ret;
}

/* Start the same command with -B -q as a background job. */
static int start_job(int argc, char **argv, const char *uuid,
		     const struct scrub_opts *o, int resume)
{
	char *v[24];
	int n = 0, i, ret;

	if (argc > 20)
		return -EINVAL;
	v[n++] = "scrub";
	v[n++] = argv[0];
	v[n++] = "-B";
	v[n++] = "-q";
	for (i = 1; i < argc; i++)
		v[n++] = argv[i];
	ret = jobs_run(n, v, NULL, 1);
	if (ret == 0 && !o->quiet)
		con_printf("scrub %s on %s, fsid %s\n",
			   resume ? "resumed" : "started", o->path, uuid);
	return ret;
}

static int start_or_resume(int argc, char **argv, int resume)
{
	const char *cmd = resume ? "scrub resume" : "scrub start";
	struct scrub_opts o;
	struct scrub_record *r;
	struct scrub_view v;
	struct fs_ident id;
	struct fs_info *fs;
	char uuid[UUID_TEXT_LEN];
	int ret = parse(argc, argv, resume ? "BdqrRc" : "BdqrRcfl", &o);

	if (ret)
		return ret;
	fs = cmd_fs_of_arg(cmd, o.path);
	if (!fs)
		return -ENOENT;
	ret = fs_ident(fs, &id);
	if (ret)
		return ret;
	uuid_text(id.fsid, uuid);
	if (o.readonly == 0 && fs_is_read_only(fs)) {
		con_eprintf("ERROR: %s: %s is mounted read-only: use -r\n",
			    cmd, o.path);
		return -EROFS;
	}
	if (o.background) {
		r = record_of(id.fsid, 0);
		spin_lock(&scrub_lock);
		ret = startable(r, resume);
		spin_unlock(&scrub_lock);
		return ret ? say_refused(ret, &o, uuid) :
			     start_job(argc, argv, uuid, &o, resume);
	}
	r = claim(id.fsid, uuid, &o, resume);
	if (!r)
		return resume ? -ENOENT : -EBUSY;
	ret = run(fs, r);
	view_of(r, &v);
	if (!o.quiet) {
		con_printf("scrub %s for %s\n", ret == 0 ? "done" : "canceled",
			   uuid);
		print_record(fs, &v, &o, ret == 0 ? "done" : "canceled");
	}
	if (ret && ret != -ECANCELED)
		con_eprintf("ERROR: scrubbing %s failed: %s\n", o.path,
			    cmd_fs_err_text(ret));
	if (ret == 0 && v.p.uncorrectable_errors) {
		if (!o.quiet)
			con_eprintf("ERROR: there are uncorrectable errors\n");
		return -EUCLEAN;
	}
	if (ret == 0 && v.p.corrected_errors && !o.quiet)
		con_eprintf("WARNING: errors detected during scrubbing, "
			    "corrected\n");
	return ret;
}

int cmd_scrub_start(int argc, char **argv)
{
	return start_or_resume(argc, argv, 0);
}

int cmd_scrub_resume(int argc, char **argv)
{
	return start_or_resume(argc, argv, 1);
}

int cmd_scrub_status(int argc, char **argv)
{
	struct scrub_view v;
	struct scrub_opts o;
	struct fs_ident id;
	struct fs_info *fs;
	char uuid[UUID_TEXT_LEN];
	int ret = parse(argc, argv, "dR", &o);

	if (ret)
		return ret;
	fs = cmd_fs_of_arg("scrub status", o.path);
	if (!fs)
		return -ENOENT;
	ret = fs_ident(fs, &id);
	if (ret)
		return ret;
	uuid_text(id.fsid, uuid);
	con_printf("UUID:             %s\n", uuid);
	view_of(record_of(id.fsid, 0), &v);
	print_record(fs, &v, &o,
		     v.state == SCRUB_FINISHED ? "history" : "status");
	return 0;
}

int cmd_scrub_cancel(int argc, char **argv)
{
	struct scrub_record *r;
	struct fs_ident id;
	struct fs_info *fs;
	int task = 0, ret;

	if (argc != 2 || argv[1][0] == '-')
		return -EINVAL;
	fs = cmd_fs_of_arg("scrub cancel", argv[1]);
	if (!fs)
		return -ENOENT;
	ret = fs_ident(fs, &id);
	if (ret)
		return ret;
	r = record_of(id.fsid, 0);
	if (r) {
		spin_lock(&scrub_lock);
		task = r->state == SCRUB_RUNNING ? r->task : 0;
		spin_unlock(&scrub_lock);
	}
	if (!task || task_stop(task)) {
		con_eprintf("ERROR: scrub cancel failed on %s: not running\n",
			    argv[1]);
		return -ENOTCONN;
	}
	/* as the kernel's ioctl: return once the scrub has stopped */
	for (;;) {
		spin_lock(&scrub_lock);
		ret = r->state == SCRUB_RUNNING && r->task == task;
		spin_unlock(&scrub_lock);
		if (!ret)
			break;
		msleep(10);
	}
	con_printf("scrub cancelled\n");
	return 0;
}
