/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/cgroup_parse.h"
#include "core/macro.h"

/* A slice of the input: start and length, never NUL-terminated. */
struct span {
	const char *p;
	size_t n;
};

static bool span_eq(struct span s, const char *word)
{
	size_t n = strlen(word);

	return s.n == n && memcmp(s.p, word, n) == 0;
}

/* The line starting at *pos, without its '\n'; advances *pos past it. */
static bool next_line(const char **pos, struct span *ret)
{
	const char *p = *pos;
	const char *nl;

	if (*p == '\0') {
		return false;
	}
	nl = strchr(p, '\n');
	ret->p = p;
	ret->n = nl ? (size_t)(nl - p) : strlen(p);
	*pos = nl ? nl + 1 : p + ret->n;
	return true;
}

/* The next field of line separated by c; advances line past it. */
static bool next_field(struct span *line, char c, struct span *ret)
{
	const char *sep;

	if (line->p == NULL) {
		return false;
	}
	sep = memchr(line->p, c, line->n);
	ret->p = line->p;
	if (sep) {
		ret->n = (size_t)(sep - line->p);
		line->n -= ret->n + 1;
		line->p = sep + 1;
	} else {
		ret->n = line->n;
		line->p = NULL;
		line->n = 0;
	}
	return true;
}

static int copy_span(struct span s, char *ret, size_t size)
{
	if (s.n >= size) {
		return -ENAMETOOLONG;
	}
	memcpy(ret, s.p, s.n);
	ret[s.n] = '\0';
	return 0;
}

int cgroup_parse_proc_cgroup(const char *text, char *ret_path, size_t size)
{
	const char *pos = text;
	struct span line;

	if (!text || !ret_path) {
		return -EINVAL;
	}
	/* proc(5): hierarchy-ID:controller-list:cgroup-path */
	while (next_line(&pos, &line)) {
		struct span id, ctrl;

		if (!next_field(&line, ':', &id) ||
		    !next_field(&line, ':', &ctrl) || line.p == NULL) {
			continue;
		}
		/* cgroup-v2.rst: the v2 entry is always "0::$PATH". */
		if (!span_eq(id, "0") || ctrl.n != 0) {
			continue;
		}
		if (line.n == 0 || line.p[0] != '/') {
			return -EINVAL;
		}
		return copy_span(line, ret_path, size);
	}
	return -ENOENT;
}

/* Decode mountinfo's octal escapes ("\040" is a space) into ret. */
static int unescape_span(struct span s, char *ret, size_t size)
{
	size_t i, o = 0;

	for (i = 0; i < s.n; i++) {
		char c = s.p[i];

		if (c == '\\' && i + 3 < s.n && s.p[i + 1] >= '0' &&
		    s.p[i + 1] <= '3' && s.p[i + 2] >= '0' &&
		    s.p[i + 2] <= '7' && s.p[i + 3] >= '0' &&
		    s.p[i + 3] <= '7') {
			c = (char)(((s.p[i + 1] - '0') << 6) |
				   ((s.p[i + 2] - '0') << 3) |
				   (s.p[i + 3] - '0'));
			i += 3;
		}
		if (o + 1 >= size) {
			return -ENAMETOOLONG;
		}
		ret[o++] = c;
	}
	if (size == 0) {
		return -ENAMETOOLONG;
	}
	ret[o] = '\0';
	return 0;
}

/*
 * proc(5) mountinfo: "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
 * /dev/root rw,errors=continue": five fixed fields, the mount point is
 * field 5, optional fields end with a lone "-", then fstype, source and
 * super options.
 */
struct mountinfo_line {
	struct span mount_point;
	struct span fstype;
	struct span super_opts;
};

static bool parse_mountinfo_line(struct span line, struct mountinfo_line *ret)
{
	struct span f;
	unsigned i;

	for (i = 0; i < 5; i++) {
		if (!next_field(&line, ' ', &f)) {
			return false;
		}
	}
	ret->mount_point = f;
	do {
		if (!next_field(&line, ' ', &f)) {
			return false;
		}
	} while (!span_eq(f, "-"));
	if (!next_field(&line, ' ', &ret->fstype) ||
	    !next_field(&line, ' ', &f) ||
	    !next_field(&line, ' ', &ret->super_opts)) {
		return false;
	}
	return true;
}

static bool opts_have(struct span opts, const char *name)
{
	struct span o;

	while (next_field(&opts, ',', &o)) {
		if (span_eq(o, name)) {
			return true;
		}
	}
	return false;
}

static int find_mount(const char *text, const char *fstype,
		      const char *controller, char *ret_mount, size_t size)
{
	const char *pos = text;
	struct span line;

	if (!text || !ret_mount) {
		return -EINVAL;
	}
	while (next_line(&pos, &line)) {
		struct mountinfo_line m;

		if (!parse_mountinfo_line(line, &m) ||
		    !span_eq(m.fstype, fstype)) {
			continue;
		}
		if (controller && !opts_have(m.super_opts, controller)) {
			continue;
		}
		return unescape_span(m.mount_point, ret_mount, size);
	}
	return -ENOENT;
}

int cgroup_parse_mountinfo_v2(const char *text, char *ret_mount, size_t size)
{
	return find_mount(text, "cgroup2", NULL, ret_mount, size);
}

int cgroup_parse_mountinfo_v1(const char *text, const char *controller,
			      char *ret_mount, size_t size)
{
	if (controller && !*controller) {
		return -EINVAL;
	}
	return find_mount(text, "cgroup", controller, ret_mount, size);
}

/* Decimal digits at *p; advances *p. -EINVAL none, -ERANGE overflow. */
static int parse_u64(const char **p, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;

	if (*s < '0' || *s > '9') {
		return -EINVAL;
	}
	for (; *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (UINT64_MAX - d) / 10) {
			return -ERANGE;
		}
		v = v * 10 + d;
	}
	*p = s;
	*ret = v;
	return 0;
}

static bool only_space_left(const char *p)
{
	for (; *p; p++) {
		if (*p != '\n' && *p != ' ' && *p != '\t') {
			return false;
		}
	}
	return true;
}

/* The word at *p up to a space, newline or NUL; advances *p past it. */
static struct span next_word(const char **p)
{
	struct span w = {.p = *p};

	w.n = strcspn(*p, " \n");
	*p += w.n;
	return w;
}

int cgroup_parse_partition(const char *text, struct cgroup_partition *ret)
{
	static const char *const types[] = {
	    [CGROUP_PARTITION_MEMBER] = "member",
	    [CGROUP_PARTITION_ROOT] = "root",
	    [CGROUP_PARTITION_ISOLATED] = "isolated",
	};
	struct cgroup_partition out = {0};
	const char *p = text;
	struct span w;
	size_t i;

	if (!text || !ret) {
		return -EINVAL;
	}
	/* cgroup-v2.rst, "cpuset.cpus.partition": the type, then
	 * " invalid" when the partition cannot be had, and from Linux 6.1
	 * the reason in parentheses. */
	w = next_word(&p);
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		if (span_eq(w, types[i])) {
			break;
		}
	}
	if (i == ARRAY_SIZE(types)) {
		return -EINVAL;
	}
	out.type = (enum cgroup_partition_type)i;
	out.valid = true;
	if (*p == ' ') {
		const char *close;

		p++;
		w = next_word(&p);
		if (!span_eq(w, "invalid") ||
		    out.type == CGROUP_PARTITION_MEMBER) {
			return -EINVAL;
		}
		out.valid = false;
		if (*p == ' ') {
			p++;
			close = strchr(p, ')');
			if (*p != '(' || !close || close == p + 1) {
				return -EINVAL;
			}
			w.p = p + 1;
			w.n = (size_t)(close - w.p);
			if (memchr(w.p, '\n', w.n)) {
				return -EINVAL;
			}
			if (copy_span(w, out.reason, sizeof(out.reason)) < 0) {
				return -ENAMETOOLONG;
			}
			p = close + 1;
		}
	}
	if (!only_space_left(p)) {
		return -EINVAL;
	}
	*ret = out;
	return 0;
}

const char *cgroup_partition_type_name(enum cgroup_partition_type t)
{
	switch (t) {
	case CGROUP_PARTITION_MEMBER:
		return "member";
	case CGROUP_PARTITION_ROOT:
		return "root";
	case CGROUP_PARTITION_ISOLATED:
		return "isolated";
	}
	return "?";
}

int cgroup_parse_sysctl_i64(const char *text, int64_t *ret)
{
	const char *p = text;
	bool neg = false;
	uint64_t v;
	int r;

	if (!text || !ret) {
		return -EINVAL;
	}
	if (*p == '-') {
		neg = true;
		p++;
	}
	r = parse_u64(&p, &v);
	if (r < 0) {
		return r;
	}
	if (!only_space_left(p)) {
		return -EINVAL;
	}
	/* INT64_MIN's magnitude is one above INT64_MAX. */
	if (v > (uint64_t)INT64_MAX + neg) {
		return -ERANGE;
	}
	*ret = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

int cgroup_rt_throttle_classify(int64_t runtime_us, int64_t period_us,
				enum cgroup_rt_throttle *ret,
				int64_t *ret_left_us)
{
	if (!ret || !ret_left_us) {
		return -EINVAL;
	}
	/* sched-rt-group.rst: period 1..INT_MAX us, runtime -1 or
	 * 0..period (sysctl_sched_rt_runtime is checked against it). */
	if (period_us < 1 || period_us > INT32_MAX || runtime_us < -1 ||
	    runtime_us > period_us) {
		return -EINVAL;
	}
	if (runtime_us < 0) {
		*ret = CGROUP_RT_THROTTLE_OFF;
		*ret_left_us = 0;
	} else if (runtime_us == period_us) {
		*ret = CGROUP_RT_THROTTLE_FULL;
		*ret_left_us = 0;
	} else if (runtime_us == 0) {
		*ret = CGROUP_RT_THROTTLE_STARVED;
		*ret_left_us = period_us;
	} else {
		*ret = CGROUP_RT_THROTTLE_ON;
		*ret_left_us = period_us - runtime_us;
	}
	return 0;
}

int cgroup_parse_cpulist(const char *text, uint64_t *ret_mask, size_t n_words)
{
	const char *p = text;
	uint64_t first, last, c;
	size_t i;
	int count = 0;
	int r;

	if (!text || (!ret_mask && n_words > 0)) {
		return -EINVAL;
	}
	/* Validate everything before writing: ret_mask untouched on error. */
	for (int pass = 0; pass < 2; pass++) {
		p = text;
		count = 0;
		if (pass == 1) {
			for (i = 0; i < n_words; i++) {
				ret_mask[i] = 0;
			}
		}
		while (!only_space_left(p)) {
			r = parse_u64(&p, &first);
			if (r < 0) {
				return r;
			}
			last = first;
			if (*p == '-') {
				p++;
				r = parse_u64(&p, &last);
				if (r < 0) {
					return r;
				}
				if (last < first) {
					return -EINVAL;
				}
			}
			if (last / 64 >= n_words) {
				return -ERANGE;
			}
			for (c = first; pass == 1 && c <= last; c++) {
				uint64_t bit = UINT64_C(1) << (c % 64);

				if (!(ret_mask[c / 64] & bit)) {
					count++;
				}
				ret_mask[c / 64] |= bit;
			}
			if (*p == ',') {
				p++;
				if (only_space_left(p)) {
					return -EINVAL;
				}
			} else if (!only_space_left(p)) {
				return -EINVAL;
			}
		}
	}
	return count;
}

bool cgroup_parse_has_controller(const char *controllers, const char *name)
{
	const char *p = controllers;
	size_t n;

	if (!controllers || !name || !*name) {
		return false;
	}
	n = strlen(name);
	while (*p) {
		size_t w;

		while (*p == ' ' || *p == '\n' || *p == '\t') {
			p++;
		}
		w = strcspn(p, " \n\t");
		if (w == n && memcmp(p, name, n) == 0) {
			return true;
		}
		p += w;
	}
	return false;
}
