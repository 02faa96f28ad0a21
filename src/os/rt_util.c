/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the parts of os/rt: item messages, small file reads
 * and writes, errno and policy names, CPU list formatting.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/cgroup_parse.h"
#include "os/rt_private.h"

#define MOUNTINFO_MAX (4u << 20)

void rt_item_fix(struct rt_item *it, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(it->fix, sizeof(it->fix), fmt, ap);
	va_end(ap);
}

void rt_item_fail(struct rt_item *it, int err)
{
	it->obtained = false;
	it->err = err;
}

void rt_strip_newline(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ')) {
		s[--n] = '\0';
	}
}

int rt_read_text(const char *path, char *buf, size_t size)
{
	size_t len = 0;
	int fd, r = 0;

	if (size == 0) {
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return -errno;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= size) {
			r = -EFBIG;
			break;
		}
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			r = -errno;
			break;
		}
		if (n == 0) {
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	return r < 0 ? r : (int)len;
}

int rt_read_text_alloc(const char *path, char **ret)
{
	size_t size = 16384;
	char *buf = NULL;
	int r;

	for (;;) {
		char *n = realloc(buf, size);

		if (!n) {
			free(buf);
			return -ENOMEM;
		}
		buf = n;
		r = rt_read_text(path, buf, size);
		if (r != -EFBIG || size >= MOUNTINFO_MAX) {
			break;
		}
		size *= 2;
	}
	if (r < 0 && r != -EFBIG) {
		free(buf);
		return r;
	}
	/* Larger than MOUNTINFO_MAX: parse the prefix we have. */
	*ret = buf;
	return 0;
}

const char *rt_errno_name(int err)
{
	const char *s = strerrorname_np(err < 0 ? -err : err);

	return s ? s : "E?";
}

const char *rt_errno_desc(int err)
{
	const char *s = strerrordesc_np(err < 0 ? -err : err);

	return s ? s : "unknown error";
}

const char *rt_policy_name(int policy)
{
	switch (policy) {
	case SCHED_OTHER:
		return "SCHED_OTHER";
	case SCHED_FIFO:
		return "SCHED_FIFO";
	case SCHED_RR:
		return "SCHED_RR";
	case SCHED_BATCH:
		return "SCHED_BATCH";
	case SCHED_IDLE:
		return "SCHED_IDLE";
#ifdef SCHED_DEADLINE
	case SCHED_DEADLINE:
		return "SCHED_DEADLINE";
#endif
	}
	return "unknown";
}

int rt_cpulist_format(const cpu_set_t *set, char *buf, size_t size)
{
	size_t len = 0;
	int c = 0;

	if (!set || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	while (c < CPU_SETSIZE) {
		int first, last, n;

		if (!CPU_ISSET(c, set)) {
			c++;
			continue;
		}
		first = c;
		while (c + 1 < CPU_SETSIZE && CPU_ISSET(c + 1, set)) {
			c++;
		}
		last = c++;
		if (first == last) {
			n = snprintf(buf + len, size - len, "%s%d",
				     len ? "," : "", first);
		} else {
			n = snprintf(buf + len, size - len, "%s%d-%d",
				     len ? "," : "", first, last);
		}
		if (n < 0 || (size_t)n >= size - len) {
			buf[len] = '\0';
			return -ENOBUFS;
		}
		len += (size_t)n;
	}
	return (int)len;
}
int rt_read_sysctl_i64(const char *path, int64_t *ret)
{
	char buf[64];
	int k;

	k = rt_read_text(path, buf, sizeof(buf));
	if (k < 0) {
		return k;
	}
	return cgroup_parse_sysctl_i64(buf, ret);
}

int rt_write_text(const char *path, const char *text)
{
	size_t n = strlen(text);
	ssize_t w;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return -errno;
	}
	/* cgroupfs takes one write per value and answers it at once. */
	do {
		w = write(fd, text, n);
	} while (w < 0 && errno == EINTR);
	if (w < 0) {
		r = -errno;
	} else if ((size_t)w != n) {
		r = -EIO;
	}
	close(fd);
	return r;
}
