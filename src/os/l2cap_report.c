/* SPDX-License-Identifier: MIT */
/*
 * The l2cap options report: how many requested options the kernel did
 * not grant, and the one-line text the daemon logs. Pure. See l2cap.h.
 */

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "core/macro.h"
#include "core/strbuf.h"
#include "os/l2cap.h"

unsigned l2cap_report_n_failed(const struct l2cap_report *r)
{
	const struct sockopt_result *all[] = {
	    &r->security,
	    &r->rx_mtu,
	    &r->tx_mtu,
	    &r->tx_timestamps.opt,
	};
	unsigned n = sockopt_report_n_failed(&r->sock);

	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		if (all[i]->requested && !all[i]->ok) {
			n++;
		}
	}
	return n;
}

static void put_errno(struct strbuf *o, int err)
{
	strbuf_put(o, "%s (%s)", strerrorname_np(-err) ?: "?", strerror(-err));
}

static void put_value(struct strbuf *o, bool hex, int v)
{
	if (hex) {
		strbuf_put(o, "%#x", (unsigned)v);
	} else {
		strbuf_put(o, "%d", v);
	}
}

static void put_result(struct strbuf *o, const char *name, bool hex,
		       const struct sockopt_result *r)
{
	strbuf_put(o, "%s", name);
	if (!r->requested) {
		strbuf_put(o, ": left");
	} else {
		strbuf_put(o, " ");
		put_value(o, hex, r->value);
		strbuf_put(o, ": ");
		if (r->ok) {
			strbuf_put(o, "ok");
		} else if (r->err) {
			put_errno(o, r->err);
		} else {
			strbuf_put(o, "set but differs");
		}
	}
	if (r->readback_err) {
		strbuf_put(o, ", read-back ");
		put_errno(o, r->readback_err);
	} else if (!r->ok) {
		strbuf_put(o, ", reads ");
		put_value(o, hex, r->readback);
	}
}

int l2cap_report_format(const struct l2cap_report *r, char *buf, size_t size)
{
	const struct l2cap_tx_timestamps *ts;
	struct strbuf o = {.buf = buf, .size = size};
	int n;

	if (!r || !buf || size == 0) {
		return -EINVAL;
	}
	ts = &r->tx_timestamps;
	buf[0] = '\0';
	put_result(&o, "security", false, &r->security);
	strbuf_put(&o, "; ");
	put_result(&o, "rx_mtu", false, &r->rx_mtu);
	strbuf_put(&o, "; ");
	put_result(&o, "tx_mtu", false, &r->tx_mtu);
	strbuf_put(&o, "; ");
	put_result(&o, "tx_timestamps", true, &ts->opt);
	if (ts->opt.requested) {
		strbuf_put(&o, ", completion %s", ts->completion ? "on" : "off");
	}
	if (ts->note[0]) {
		strbuf_put(&o, " (%s)", ts->note);
	}
	strbuf_put(&o, "; ");
	if (o.overflow) {
		return -ENOBUFS;
	}
	n = sockopt_report_format(&r->sock, buf + o.len, size - o.len);
	if (n < 0) {
		return n;
	}
	return (int)o.len + n;
}
