/* SPDX-License-Identifier: MIT */
/*
 * The RT thread's cgroup: find the cgroup2 hierarchy and this thread's
 * place in it, move the thread into its partition (`<own cgroup>/rt`,
 * built by ttws-cgroup(8)) and take the partition's CPU for cpu = auto.
 *
 * cgroup-v2.rst, "Threads": a thread moves itself by writing its TID into
 * cgroup.threads of a threaded cgroup of its own threaded subtree; the
 * writer needs write access to that file (and to enter its directory) and
 * to cgroup.procs of the common ancestor (the service cgroup): ttws-cgroup
 * makes rt 0755 and gives its cgroup.threads to the service user, systemd
 * (Delegate=) the service cgroup's files.
 */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "core/cgroup_parse.h"
#include "core/macro.h"
#include "os/rt_private.h"

static bool is_cgroup2(const char *path)
{
	struct statfs s;

	return statfs(path, &s) == 0 &&
	       (unsigned long)s.f_type == (unsigned long)CGROUP2_SUPER_MAGIC;
}

int rt_cgroup_mount(const char *mountinfo, char *ret, size_t size)
{
	static const char *const usual[] = {
	    "/sys/fs/cgroup",	      /* unified */
	    "/sys/fs/cgroup/unified", /* systemd's hybrid layout */
	};
	size_t i;
	int n;

	for (i = 0; i < ARRAY_SIZE(usual); i++) {
		if (is_cgroup2(usual[i])) {
			n = snprintf(ret, size, "%s", usual[i]);
			return n > 0 && (size_t)n < size ? 0 : -ENAMETOOLONG;
		}
	}
	if (!mountinfo) {
		return -ENOENT;
	}
	return cgroup_parse_mountinfo_v2(mountinfo, ret, size);
}

int rt_cgroup_self(char *ret, size_t size)
{
	char buf[4096];
	int k;

	/* thread-self, not self: after the move the RT thread's cgroup
	 * differs from the main thread's. */
	k = rt_read_text("/proc/thread-self/cgroup", buf, sizeof(buf));
	if (k < 0 && k != -EFBIG) {
		return k;
	}
	return cgroup_parse_proc_cgroup(buf, ret, size);
}

/* The mount point, reading mountinfo only when the usual places fail. */
static int find_mount(char *ret, size_t size)
{
	char *mountinfo = NULL;
	int k;

	k = rt_cgroup_mount(NULL, ret, size);
	if (k == 0) {
		return 0;
	}
	if (rt_read_text_alloc("/proc/self/mountinfo", &mountinfo) < 0) {
		return -ENOENT;
	}
	k = rt_cgroup_mount(mountinfo, ret, size);
	free(mountinfo);
	return k;
}

/*
 * The directory to join for cfg->cgroup into dir, and its cgroup path
 * into ret_path. 0, or a negative errno with the fix written.
 */
static int target_dir(const struct rt_config *cfg, struct rt_report *r,
		      char *dir, size_t size, char *ret_path, size_t path_size)
{
	struct rt_item *it = &r->partition.item;
	char mount[RT_PATH_MAX], self[RT_PATH_MAX];
	size_t ml;
	int k, n;

	k = find_mount(mount, sizeof(mount));
	if (k < 0) {
		rt_item_fail(it, k);
		rt_item_fix(it, "no cgroup v2 hierarchy is mounted, so there "
				"is no RT partition to join (see cgroup)");
		return k;
	}
	ml = strlen(mount);
	if (strcmp(cfg->cgroup, RT_CGROUP_AUTO) == 0) {
		k = rt_cgroup_self(self, sizeof(self));
		if (k < 0) {
			rt_item_fail(it, k);
			rt_item_fix(it, "this thread has no cgroup v2 path "
					"(see cgroup)");
			return k;
		}
		n = snprintf(ret_path, path_size, "%s/%s",
			     strcmp(self, "/") ? self : "", RT_CGROUP_CHILD);
	} else if (strncmp(cfg->cgroup, mount, ml) == 0 &&
		   cfg->cgroup[ml] == '/') {
		/* A file system path below the mount point. */
		n = snprintf(ret_path, path_size, "%s", cfg->cgroup + ml);
	} else {
		n = snprintf(ret_path, path_size, "%s", cfg->cgroup);
	}
	if (n < 0 || (size_t)n >= path_size) {
		rt_item_fail(it, -ENAMETOOLONG);
		rt_item_fix(it, "the cgroup path is too long");
		return -ENAMETOOLONG;
	}
	n = snprintf(dir, size, "%s%s", mount, ret_path);
	if (n < 0 || (size_t)n >= size) {
		rt_item_fail(it, -ENAMETOOLONG);
		rt_item_fix(it, "the cgroup path is too long");
		return -ENAMETOOLONG;
	}
	return 0;
}

void rt_cgroup_access_fix(struct rt_item *it, const struct rt_move_access *a)
{
	if (a->dir_err < 0) {
		rt_item_fix(it,
			    "this user cannot enter %s (mode %04o, uid %ld): "
			    "it was made under a strict umask (a unit's "
			    "UMask= applies to ExecStartPre=+ too); "
			    "ttws-cgroup unit-setup makes it 0755",
			    a->dir, a->dir_mode, a->dir_uid);
	} else if (a->file_err < 0) {
		rt_item_fix(it,
			    "%s/cgroup.threads (uid %ld) is not writable by "
			    "this user: ttws-cgroup unit-setup gives it to "
			    "the service user",
			    a->dir, a->file_uid);
	} else if (a->procs_err < 0) {
		rt_item_fix(it,
			    "moving a thread needs write access to "
			    "cgroup.procs of the common ancestor %s (uid "
			    "%ld): Delegate= gives it to the unit's User=; "
			    "without systemd, ttws-cgroup setup",
			    a->ancestor, a->procs_uid);
	} else {
		rt_item_fix(it,
			    "%s/cgroup.threads and %s/cgroup.procs look "
			    "writable, yet the kernel refused the move: a "
			    "security module, or the file opened by another "
			    "user",
			    a->dir, a->ancestor);
	}
}

/* stat(2)'s owner, -1 when it fails. */
static long owner_of(const char *path, unsigned *ret_mode)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		return -1;
	}
	if (ret_mode) {
		*ret_mode = (unsigned)(st.st_mode & 07777);
	}
	return (long)st.st_uid;
}

static int access_err(const char *path, int mode)
{
	return access(path, mode) < 0 ? -errno : 0;
}

/*
 * The common ancestor's directory of cgroup paths a and b below mount,
 * into ret: the longest shared run of whole path components.
 */
static void common_ancestor(const char *mount, const char *a, const char *b,
			    char *ret, size_t size)
{
	size_t i = 0, last = 0;

	while (a[i] && a[i] == b[i]) {
		if (a[i] == '/') {
			last = i;
		}
		i++;
	}
	if ((a[i] == '\0' || a[i] == '/') && (b[i] == '\0' || b[i] == '/')) {
		last = i;
	}
	snprintf(ret, size, "%s%.*s", mount, (int)last, a);
}

/* Why writing this thread into dir/cgroup.threads gave EACCES or EPERM. */
static void explain_access(struct rt_item *it, const char *dir,
			   const char *path)
{
	struct rt_move_access a = {.dir = dir};
	char mount[RT_PATH_MAX], self[RT_PATH_MAX], anc[RT_DIR_MAX];
	char file[RT_DIR_MAX + 32];

	anc[0] = '\0';
	if (find_mount(mount, sizeof(mount)) == 0 &&
	    rt_cgroup_self(self, sizeof(self)) == 0) {
		common_ancestor(mount, self, path, anc, sizeof(anc));
	}
	a.ancestor = anc;
	a.dir_err = access_err(dir, X_OK);
	a.dir_uid = owner_of(dir, &a.dir_mode);
	snprintf(file, sizeof(file), "%s/cgroup.threads", dir);
	a.file_err = access_err(file, W_OK);
	a.file_uid = owner_of(file, NULL);
	snprintf(file, sizeof(file), "%s/cgroup.procs", anc);
	a.procs_err = anc[0] ? access_err(file, W_OK) : 0;
	a.procs_uid = owner_of(file, NULL);
	rt_cgroup_access_fix(it, &a);
}

void rt_apply_cgroup(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->partition.item;
	char dir[RT_DIR_MAX], file[RT_DIR_MAX + 32], path[RT_PATH_MAX];
	char tid[24];
	int k;

	it->requested = cfg->cgroup[0] &&
			strcmp(cfg->cgroup, RT_CGROUP_NONE) != 0;
	if (!it->requested) {
		return;
	}
	if (target_dir(cfg, r, dir, sizeof(dir), path, sizeof(path)) < 0) {
		return;
	}
	if (access(dir, F_OK) < 0) {
		k = -errno;
		rt_item_fail(it, k);
		if (k == -ENOENT && strcmp(cfg->cgroup, RT_CGROUP_AUTO) == 0) {
			rt_item_fix(it,
				    "no RT cgroup %s: ttwsd.service makes it "
				    "(ExecStartPre=ttws-cgroup unit-setup), "
				    "without systemd run ttws-cgroup setup; "
				    "until then the RT thread shares its CPUs "
				    "with every other task",
				    path);
		} else {
			rt_item_fix(it, "cannot reach the cgroup %s", dir);
		}
		return;
	}
	snprintf(file, sizeof(file), "%s/cgroup.threads", dir);
	snprintf(tid, sizeof(tid), "%d", (int)gettid());
	k = rt_write_text(file, tid);
	if (k < 0) {
		rt_item_fail(it, k);
		if (k == -EACCES || k == -EPERM) {
			explain_access(it, dir, path);
		} else if (k == -EROFS) {
			rt_item_fix(it,
				    "%s is on a read-only mount: with "
				    "ProtectControlGroups=, the unit needs "
				    "ReadWritePaths= for its own cgroup",
				    file);
		} else if (k == -EOPNOTSUPP || k == -EINVAL) {
			rt_item_fix(it,
				    "the kernel refused the thread in %s: it "
				    "must be a threaded cgroup (cgroup.type "
				    "\"threaded\") directly below this "
				    "process's cgroup, as ttws-cgroup builds "
				    "it",
				    path);
		} else {
			rt_item_fix(it, "writing this thread's id to %s failed",
				    file);
		}
		return;
	}
	snprintf(r->partition.joined, sizeof(r->partition.joined), "%s",
		 path);
}

/* The lowest CPU in a cpuset list, -ENOENT for an empty one. */
static int lowest_cpu(const char *list, int *ret_count)
{
	uint64_t mask[CPU_SETSIZE / 64];
	int n;

	n = cgroup_parse_cpulist(list, mask, ARRAY_SIZE(mask));
	if (n < 0) {
		return n;
	}
	*ret_count = n;
	for (size_t w = 0; w < ARRAY_SIZE(mask); w++) {
		if (mask[w]) {
			return (int)(w * 64) + __builtin_ctzll(mask[w]);
		}
	}
	return -ENOENT;
}

int rt_resolve_cpu(const struct rt_config *cfg, struct rt_report *r)
{
	struct rt_item *it = &r->affinity.item;
	char mount[RT_PATH_MAX], file[RT_DIR_MAX + 32], list[RT_LIST_MAX];
	int k, cpu, count = 0;

	if (cfg->cpu != RT_CPU_AUTO) {
		return cfg->cpu;
	}
	if (!r->partition.joined[0]) {
		/* Requested and "obtained" with a caveat: status warn. */
		it->obtained = true;
		rt_item_fix(it, "cpu = auto, but no RT cgroup was joined (see "
				"partition): the RT thread is not pinned and "
				"may run on any CPU of its cpuset");
		return -1;
	}
	k = find_mount(mount, sizeof(mount));
	if (k == 0) {
		snprintf(file, sizeof(file), "%s%s/cpuset.cpus.effective",
			 mount, r->partition.joined);
		k = rt_read_text(file, list, sizeof(list));
	}
	cpu = k < 0 ? k : lowest_cpu(list, &count);
	if (cpu < 0) {
		it->obtained = true;
		rt_item_fix(it,
			    "cpu = auto, but %s has no readable CPU list "
			    "(%s): the RT thread is not pinned",
			    r->partition.joined, rt_errno_name(cpu));
		return -1;
	}
	if (count > 1) {
		/* Pinned to one; apply_affinity() keeps this caveat. */
		rt_strip_newline(list);
		rt_item_fix(it,
			    "the RT cgroup has CPUs %s: pinned to the lowest; "
			    "give it one CPU (ttws-cgroup setup CPU)",
			    list);
	}
	return cpu;
}
