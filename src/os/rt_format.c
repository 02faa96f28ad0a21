/* SPDX-License-Identifier: MIT */
/*
 * The RT report as text (one "item: status: detail" line per item, which
 * the control API splits) and as one JSON object.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/cgroup_parse.h"
#include "os/rt_private.h"

/* snprintf into a fixed buffer; len counts what would have been written. */
struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void out_printf(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
	size_t avail = o->len < o->size ? o->size - o->len : 0;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(avail ? o->buf + o->len : NULL, avail, fmt, ap);
	va_end(ap);
	if (n > 0) {
		o->len += (size_t)n;
	}
}

static int out_finish(struct out *o)
{
	if (o->len >= o->size) {
		return -ENOBUFS;
	}
	if (o->len > INT_MAX) {
		return -EOVERFLOW;
	}
	return (int)o->len;
}

static const char *status_word(const struct rt_item *it)
{
	if (!it->requested) {
		return "not requested";
	}
	if (!it->obtained) {
		return "FAILED";
	}
	return it->fix[0] ? "warn" : "ok";
}

static void text_item_begin(struct out *o, const char *name,
			    const struct rt_item *it)
{
	out_printf(o, "%s: %s: ", name, status_word(it));
}

static void text_item_end(struct out *o, const struct rt_item *it)
{
	if (it->err) {
		out_printf(o, "; error %s (%s)", rt_errno_name(it->err),
			   rt_errno_desc(it->err));
	}
	if (it->fix[0]) {
		out_printf(o, "; fix: %s", it->fix);
	}
	out_printf(o, "\n");
}

static void text_partition(struct out *o, const struct rt_report *r)
{
	const struct cgroup_partition *p = &r->partition.state;

	if (r->partition.joined[0]) {
		out_printf(o, "joined \"%s\", ", r->partition.joined);
	} else {
		out_printf(o, "no cgroup joined, ");
	}
	if (!r->partition.raw[0]) {
		out_printf(o, "cpuset.cpus.partition not read");
		return;
	}
	out_printf(o, "cpuset.cpus.partition \"%s\" (%s, %s", r->partition.raw,
		   cgroup_partition_type_name(p->type),
		   p->valid ? "valid" : "INVALID");
	if (p->reason[0]) {
		out_printf(o, ": %s", p->reason);
	}
	out_printf(o, ")");
	if (r->partition.cpus_exclusive[0]) {
		out_printf(o, ", exclusive CPUs %s", r->partition.cpus_exclusive);
	}
}

/* The throttling figures and what they mean for a runaway RT loop. */
static void text_throttle(struct out *o, const struct rt_report *r)
{
	enum cgroup_rt_throttle t;
	int64_t left;

	if (r->throttle.item.err) {
		out_printf(o, "not read");
		return;
	}
	out_printf(o, "sched_rt_runtime_us %" PRId64 " of sched_rt_period_us %"
		   PRId64, r->throttle.runtime_us, r->throttle.period_us);
	if (cgroup_rt_throttle_classify(r->throttle.runtime_us,
					r->throttle.period_us, &t,
					&left) < 0) {
		return;
	}
	switch (t) {
	case CGROUP_RT_THROTTLE_ON:
		out_printf(o, ": each period leaves %" PRId64 " us of every "
			      "CPU to non-RT tasks, the bound on a runaway "
			      "SCHED_FIFO loop", left);
		return;
	case CGROUP_RT_THROTTLE_OFF:
		out_printf(o, ": no RT throttling");
		return;
	case CGROUP_RT_THROTTLE_FULL:
		out_printf(o, ": RT throttling leaves nothing to others");
		return;
	case CGROUP_RT_THROTTLE_STARVED:
		out_printf(o, ": SCHED_FIFO never runs");
		return;
	}
}

int rt_report_format_text(const struct rt_report *r, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size};

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';

	text_item_begin(&o, "sched", &r->sched.item);
	out_printf(&o, "%s priority %d%s", rt_policy_name(r->sched.policy),
		   r->sched.priority,
		   r->sched.reset_on_fork ? " reset-on-fork" : "");
	text_item_end(&o, &r->sched.item);

	text_item_begin(&o, "memlock", &r->memlock.item);
	out_printf(&o, "VmLck %" PRIu64 " KiB, RLIMIT_MEMLOCK ",
		   r->memlock.vmlck_kib);
	if (r->memlock.limit_kib == UINT64_MAX) {
		out_printf(&o, "unlimited");
	} else {
		out_printf(&o, "%" PRIu64 " KiB", r->memlock.limit_kib);
	}
	out_printf(&o, ", CAP_IPC_LOCK %s",
		   r->memlock.cap_ipc_lock ? "yes" : "no");
	text_item_end(&o, &r->memlock.item);

	text_item_begin(&o, "stack-prefault", &r->stack.item);
	out_printf(&o, "%u KiB", r->stack.kib);
	text_item_end(&o, &r->stack.item);

	text_item_begin(&o, "heap-prefault", &r->heap.item);
	out_printf(&o, "%u KiB, mallopt %s", r->heap.kib,
		   r->heap.mallopt_ok ? "kept" : "not set");
	text_item_end(&o, &r->heap.item);

	text_item_begin(&o, "affinity", &r->affinity.item);
	if (r->affinity.cpu >= 0) {
		out_printf(&o, "CPU %d%s, ", r->affinity.cpu,
			   r->affinity.cpu_auto ? " (auto)" : "");
	} else if (r->affinity.cpu_auto) {
		out_printf(&o, "auto: not pinned, ");
	}
	out_printf(&o, "affinity %s", r->affinity.cpus);
	text_item_end(&o, &r->affinity.item);

	text_item_begin(&o, "dma-latency", &r->dma.item);
	out_printf(&o, "%s", r->dma.fd >= 0 ? "held" : "not held");
	if (r->dma.value_us >= 0) {
		out_printf(&o, ", effective %" PRId32 " us", r->dma.value_us);
	}
	text_item_end(&o, &r->dma.item);

	text_item_begin(&o, "cgroup", &r->cgroup.item);
	out_printf(&o, "v2 mount \"%s\" path \"%s\" controllers [%s]%s",
		   r->cgroup.mount, r->cgroup.path, r->cgroup.controllers,
		   r->cgroup.hybrid ? ", hybrid v1/v2" : "");
	text_item_end(&o, &r->cgroup.item);

	text_item_begin(&o, "cpuset", &r->cpuset.item);
	out_printf(&o, "%s, cpus.effective \"%s\"",
		   r->cpuset.enabled ? "enabled" : "not enabled",
		   r->cpuset.cpus_effective);
	if (r->cpuset.v1_mount[0]) {
		out_printf(&o, ", v1 at %s", r->cpuset.v1_mount);
	}
	text_item_end(&o, &r->cpuset.item);

	text_item_begin(&o, "partition", &r->partition.item);
	text_partition(&o, r);
	text_item_end(&o, &r->partition.item);

	text_item_begin(&o, "rt-throttle", &r->throttle.item);
	text_throttle(&o, r);
	text_item_end(&o, &r->throttle.item);

	return out_finish(&o);
}

/* A JSON string; invalid UTF-8 bytes become U+FFFD (RFC 8259, 8.1). */
static void json_str(struct out *o, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	out_printf(o, "\"");
	while (*p) {
		unsigned char c = *p;
		size_t n = 0, i;

		if (c == '"' || c == '\\') {
			out_printf(o, "\\%c", c);
			p++;
			continue;
		}
		if (c < 0x20 || c == 0x7f) {
			out_printf(o, "\\u%04x", c);
			p++;
			continue;
		}
		if (c < 0x80) {
			out_printf(o, "%c", c);
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4;
		}
		for (i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
		}
		if (n == 0) {
			out_printf(o, "\\ufffd");
			p++;
			continue;
		}
		out_printf(o, "%.*s", (int)n, (const char *)p);
		p += n;
	}
	out_printf(o, "\"");
}

static void json_str_or_null(struct out *o, const char *s)
{
	if (s[0]) {
		json_str(o, s);
	} else {
		out_printf(o, "null");
	}
}

static void json_item_begin(struct out *o, const char *name,
			    const struct rt_item *it, bool first)
{
	out_printf(o, "%s\"%s\":{\"status\":", first ? "" : ",", name);
	json_str(o, status_word(it));
	out_printf(o, ",\"requested\":%s,\"obtained\":%s,\"errno\":%d,",
		   it->requested ? "true" : "false",
		   it->obtained ? "true" : "false", it->err);
	out_printf(o, "\"error\":");
	if (it->err) {
		json_str(o, rt_errno_name(it->err));
	} else {
		out_printf(o, "null");
	}
	out_printf(o, ",\"fix\":");
	json_str_or_null(o, it->fix);
}

static void json_partition(struct out *o, const struct rt_report *r)
{
	const struct cgroup_partition *p = &r->partition.state;

	out_printf(o, ",\"joined\":");
	json_str_or_null(o, r->partition.joined);
	out_printf(o, ",\"raw\":");
	json_str_or_null(o, r->partition.raw);
	if (r->partition.raw[0]) {
		out_printf(o, ",\"type\":");
		json_str(o, cgroup_partition_type_name(p->type));
		out_printf(o, ",\"valid\":%s", p->valid ? "true" : "false");
	} else {
		out_printf(o, ",\"type\":null,\"valid\":null");
	}
	out_printf(o, ",\"reason\":");
	json_str_or_null(o, p->reason);
	out_printf(o, ",\"cpus_exclusive\":");
	json_str_or_null(o, r->partition.cpus_exclusive);
	out_printf(o, "}");
}

static void json_throttle(struct out *o, const struct rt_report *r)
{
	static const char *const names[] = {
	    [CGROUP_RT_THROTTLE_ON] = "on",
	    [CGROUP_RT_THROTTLE_OFF] = "off",
	    [CGROUP_RT_THROTTLE_FULL] = "full",
	    [CGROUP_RT_THROTTLE_STARVED] = "starved",
	};
	enum cgroup_rt_throttle t;
	int64_t left;

	if (r->throttle.item.err ||
	    cgroup_rt_throttle_classify(r->throttle.runtime_us,
					r->throttle.period_us, &t,
					&left) < 0) {
		out_printf(o, ",\"runtime_us\":null,\"period_us\":null,"
			      "\"state\":null,\"left_us\":null}");
		return;
	}
	out_printf(o,
		   ",\"runtime_us\":%" PRId64 ",\"period_us\":%" PRId64
		   ",\"state\":\"%s\",\"left_us\":%" PRId64 "}",
		   r->throttle.runtime_us, r->throttle.period_us, names[t],
		   left);
}

int rt_report_format_json(const struct rt_report *r, char *buf, size_t size)
{
	struct out o = {.buf = buf, .size = size};

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	out_printf(&o, "{");

	json_item_begin(&o, "sched", &r->sched.item, true);
	out_printf(&o, ",\"policy\":");
	json_str(&o, rt_policy_name(r->sched.policy));
	out_printf(&o, ",\"priority\":%d,\"reset_on_fork\":%s}",
		   r->sched.priority,
		   r->sched.reset_on_fork ? "true" : "false");

	json_item_begin(&o, "memlock", &r->memlock.item, false);
	out_printf(&o, ",\"vmlck_kib\":%" PRIu64 ",\"limit_kib\":",
		   r->memlock.vmlck_kib);
	if (r->memlock.limit_kib == UINT64_MAX) {
		out_printf(&o, "null");
	} else {
		out_printf(&o, "%" PRIu64, r->memlock.limit_kib);
	}
	out_printf(&o, ",\"cap_ipc_lock\":%s}",
		   r->memlock.cap_ipc_lock ? "true" : "false");

	json_item_begin(&o, "stack_prefault", &r->stack.item, false);
	out_printf(&o, ",\"kib\":%u}", r->stack.kib);

	json_item_begin(&o, "heap_prefault", &r->heap.item, false);
	out_printf(&o, ",\"kib\":%u,\"mallopt_ok\":%s}", r->heap.kib,
		   r->heap.mallopt_ok ? "true" : "false");

	json_item_begin(&o, "affinity", &r->affinity.item, false);
	out_printf(&o, ",\"cpu\":%d,\"auto\":%s,\"cpus\":", r->affinity.cpu,
		   r->affinity.cpu_auto ? "true" : "false");
	json_str(&o, r->affinity.cpus);
	out_printf(&o, "}");

	json_item_begin(&o, "dma_latency", &r->dma.item, false);
	out_printf(&o, ",\"held\":%s,\"value_us\":",
		   r->dma.fd >= 0 ? "true" : "false");
	if (r->dma.value_us >= 0) {
		out_printf(&o, "%" PRId32 "}", r->dma.value_us);
	} else {
		out_printf(&o, "null}");
	}

	json_item_begin(&o, "cgroup", &r->cgroup.item, false);
	out_printf(&o, ",\"mount\":");
	json_str_or_null(&o, r->cgroup.mount);
	out_printf(&o, ",\"path\":");
	json_str_or_null(&o, r->cgroup.path);
	out_printf(&o, ",\"controllers\":");
	json_str(&o, r->cgroup.controllers);
	out_printf(&o, ",\"hybrid\":%s}", r->cgroup.hybrid ? "true" : "false");

	json_item_begin(&o, "cpuset", &r->cpuset.item, false);
	out_printf(&o, ",\"enabled\":%s,\"cpus_effective\":",
		   r->cpuset.enabled ? "true" : "false");
	json_str_or_null(&o, r->cpuset.cpus_effective);
	out_printf(&o, ",\"v1_mount\":");
	json_str_or_null(&o, r->cpuset.v1_mount);
	out_printf(&o, "}");

	json_item_begin(&o, "partition", &r->partition.item, false);
	json_partition(&o, r);

	json_item_begin(&o, "rt_throttle", &r->throttle.item, false);
	json_throttle(&o, r);

	out_printf(&o, ",\"n_failed\":%u}", rt_report_n_failed(r));
	return out_finish(&o);
}