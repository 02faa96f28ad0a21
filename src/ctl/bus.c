/* SPDX-License-Identifier: MIT */
#include "ctl/bus.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/busaddr.h"
#include "ctl/errmap.h"

static int ctl_bus_connect(struct ctl_bus *b, const struct ctl_args *a)
{
	char addr[PATH_MAX * 3 + 16];
	int r;

	if (a->system) {
		return sd_bus_open_system(&b->bus);
	}
	r = ctl_bus_address(a->socket, addr, sizeof(addr));
	if (r < 0) {
		return r;
	}
	r = sd_bus_new(&b->bus);
	if (r < 0) {
		return r;
	}
	/* A peer-to-peer server: no Hello, no bus name (sd_bus_new's
	 * default is already not a bus client; say it). */
	r = sd_bus_set_bus_client(b->bus, 0);
	if (r >= 0) {
		r = sd_bus_set_address(b->bus, addr);
	}
	if (r >= 0) {
		r = sd_bus_start(b->bus);
	}
	return r;
}

int ctl_bus_open(struct ctl_bus *b, const struct ctl_args *a)
{
	int r;

	*b = (struct ctl_bus){
	    .dest = a->system ? CTL_BUS_NAME : NULL,
	    .where = a->system ? "the system bus" : a->socket,
	};
	r = ctl_bus_connect(b, a);
	if (r >= 0) {
		r = sd_bus_set_method_call_timeout(b->bus, CTL_CALL_TIMEOUT_US);
	}
	if (r < 0) {
		fprintf(stderr, "ttwsctl: cannot connect to %s: %s (%s)\n",
			b->where, strerror(-r),
			a->system && r == -ENOENT ? "no system bus here"
						  : ctl_connect_hint(r));
		ctl_bus_close(b);
		return CTL_EXIT_UNREACHABLE;
	}
	return 0;
}

void ctl_bus_close(struct ctl_bus *b)
{
	b->bus = sd_bus_flush_close_unref(b->bus);
}

int ctl_bus_call(struct ctl_bus *b, const char *cmd, const char *path,
		 const char *iface, const char *member,
		 sd_bus_message **ret_reply, const char *types, ...)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *hint;
	va_list ap;
	int r, code;

	va_start(ap, types);
	r = sd_bus_call_methodv(b->bus, b->dest, path, iface, member, &error,
				&reply, types, ap);
	va_end(ap);
	if (r >= 0) {
		if (ret_reply) {
			*ret_reply = reply;
		} else {
			sd_bus_message_unref(reply);
		}
		sd_bus_error_free(&error);
		return 0;
	}
	code = ctl_exit_for_call(r, error.name);
	hint = ctl_call_hint(error.name, error.message);
	if (code == CTL_EXIT_UNREACHABLE) {
		fprintf(stderr, "ttwsctl: %s: no answer from %s: %s%s%s%s\n",
			cmd, b->where,
			error.message ? error.message : strerror(-r),
			hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	} else {
		fprintf(stderr, "ttwsctl: %s: %s%s%s%s\n", cmd,
			error.message ? error.message
			: error.name  ? error.name
				      : strerror(-r),
			hint ? " (" : "", hint ? hint : "", hint ? ")" : "");
	}
	sd_bus_error_free(&error);
	return code;
}

int ctl_bus_bad_reply(const char *cmd, const char *member, int r)
{
	fprintf(stderr, "ttwsctl: %s: cannot read the reply to %s: %s\n", cmd,
		member, strerror(-r));
	return CTL_EXIT_DAEMON;
}

int ctl_pair_path(const char *name, const char *ear, char *buf, size_t size)
{
	char *p = NULL;
	int n, r;

	r = sd_bus_path_encode(CTL_PATH_PAIRS, name, &p);
	if (r < 0) {
		return r;
	}
	n = snprintf(buf, size, "%s%s%s", p, ear ? "/ear/" : "",
		     ear ? ear : "");
	free(p);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}
