/* SPDX-License-Identifier: MIT */
/*
 * Latency socket options, applied and read back. See sockopt.h.
 */

#include <errno.h>
#include <liburing.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "core/strbuf.h"
#include "os/sockopt.h"

void sockopt_config_default(struct sockopt_config *ret)
{
	*ret = (struct sockopt_config){
	    .busy_poll_us = -1,
	    .priority = -1,
	    .rcvlowat = -1,
	    .timestamps = false,
	};
}

static int get_int(int fd, int opt, int *ret)
{
	socklen_t len = sizeof(*ret);

	if (getsockopt(fd, SOL_SOCKET, opt, ret, &len) < 0) {
		return -errno;
	}
	return 0;
}

/*
 * Set opt to value when requested, then read it back. expect is what a
 * correct read-back shows (SO_RCVLOWAT stores 0 as 1).
 */
static void one(int fd, int opt, bool requested, int value, int expect,
		struct sockopt_result *r)
{
	*r = (struct sockopt_result){.requested = requested, .value = value};
	if (requested &&
	    setsockopt(fd, SOL_SOCKET, opt, &value, sizeof(value)) < 0) {
		r->err = -errno;
	}
	r->readback_err = get_int(fd, opt, &r->readback);
	r->ok = requested && r->err == 0 && r->readback_err == 0 &&
		r->readback == expect;
}

int sockopt_apply(int fd, const struct sockopt_config *cfg,
		  struct sockopt_report *ret)
{
	struct sockopt_report rep;
	int type, r;

	if (fd < 0 || !cfg || !ret) {
		return -EINVAL;
	}
	r = get_int(fd, SO_TYPE, &type);
	if (r < 0) {
		return r;
	}

	/* Refusals are reported, not fatal: see sockopt.h per option. */
	one(fd, SO_BUSY_POLL, cfg->busy_poll_us >= 0, cfg->busy_poll_us,
	    cfg->busy_poll_us, &rep.busy_poll);
	one(fd, SO_PRIORITY, cfg->priority >= 0, cfg->priority, cfg->priority,
	    &rep.priority);
	one(fd, SO_RCVLOWAT, cfg->rcvlowat >= 0, cfg->rcvlowat,
	    cfg->rcvlowat > 0 ? cfg->rcvlowat : 1, &rep.rcvlowat);
	one(fd, SO_TIMESTAMPNS, cfg->timestamps, 1, 1, &rep.timestamps);
	*ret = rep;
	return 0;
}

unsigned sockopt_report_n_failed(const struct sockopt_report *r)
{
	const struct sockopt_result *all[] = {
	    &r->busy_poll,
	    &r->priority,
	    &r->rcvlowat,
	    &r->timestamps,
	};
	unsigned n = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (all[i]->requested && !all[i]->ok) {
			n++;
		}
	}
	return n;
}

static void put_result(struct strbuf *o, const char *name, const char *unit,
		       const struct sockopt_result *r, bool last)
{
	if (!r->requested) {
		strbuf_put(o, "%s: left", name);
	} else {
		strbuf_put(o, "%s %d%s: ", name, r->value, unit);
		if (r->ok) {
			strbuf_put(o, "ok");
		} else if (r->err) {
			strbuf_put(o, "%s (%s)", strerrorname_np(-r->err) ?: "?",
			    strerror(-r->err));
		} else {
			strbuf_put(o, "set but differs");
		}
	}
	if (r->readback_err) {
		strbuf_put(o, ", read-back %s", strerror(-r->readback_err));
	} else if (!r->ok) {
		strbuf_put(o, ", reads %d", r->readback);
	}
	strbuf_put(o, "%s", last ? "" : "; ");
}

int sockopt_report_format(const struct sockopt_report *r, char *buf,
			  size_t size)
{
	struct strbuf o = {.buf = buf, .size = size};

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	put_result(&o, "busy_poll", " us", &r->busy_poll, false);
	put_result(&o, "priority", "", &r->priority, false);
	put_result(&o, "rcvlowat", " B", &r->rcvlowat, false);
	put_result(&o, "timestamps", "", &r->timestamps, true);
	return o.overflow ? -ENOBUFS : (int)o.len;
}

int sockopt_uring_napi(struct io_uring *ring, unsigned busy_poll_us,
		       bool prefer_busy_poll, struct sockopt_napi_report *ret)
{
	struct sockopt_napi_report rep = {
	    .requested = true,
	    .busy_poll_us = busy_poll_us,
	    .prefer_busy_poll = prefer_busy_poll,
	};

	if (!ring || !ret) {
		return -EINVAL;
	}
#if HAVE_IO_URING_NAPI
	struct io_uring_napi napi = {
	    .busy_poll_to = busy_poll_us,
	    .prefer_busy_poll = prefer_busy_poll,
	};
	int r = io_uring_register_napi(ring, &napi);

	if (r < 0) {
		rep.err = r;
		snprintf(rep.note, sizeof(rep.note),
			 "kernel refused NAPI registration: %s", strerror(-r));
	} else {
		snprintf(rep.note, sizeof(rep.note),
			 "registered: busy poll %u us%s", busy_poll_us,
			 prefer_busy_poll ? ", preferred" : "");
	}
#else
	rep.err = -EOPNOTSUPP;
	snprintf(rep.note, sizeof(rep.note),
		 "not available in liburing %s (needs 2.6)", LIBURING_VERSION);
#endif
	*ret = rep;
	return 0;
}
