/* SPDX-License-Identifier: MIT */
#include "core/protorange.h"

#include <errno.h>
#include <stddef.h>

static int protorange_fail(const char *field, const char **ret_field)
{
	if (ret_field) {
		*ret_field = field;
	}
	return -EDOM;
}

static int protorange_hello_ack(const struct link_hello_ack *a,
				const char **ret_field)
{
	if (a->ci_us != 0 && (a->ci_us < PROTORANGE_CI_MIN_US ||
			      a->ci_us > PROTORANGE_CI_MAX_US)) {
		return protorange_fail("ci_us", ret_field);
	}
	if (a->status != LINK_HELLO_OK) {
		/* A refusal is acted on whatever else it says. */
		return 0;
	}
	/* Only an accepted session needs a clock, a version this side
	 * speaks (the HELLO offered 1..LINK_VERSION) and a codec. */
	if (a->clock_res_ns == 0 ||
	    a->clock_res_ns > PROTORANGE_CLOCK_RES_MAX_NS) {
		return protorange_fail("clock_res_ns", ret_field);
	}
	if (a->version == 0 || a->version > LINK_VERSION) {
		return protorange_fail("version", ret_field);
	}
	if (a->codec != LINK_CODEC_PCM_S16 && a->codec != LINK_CODEC_LC3) {
		return protorange_fail("codec", ret_field);
	}
	return 0;
}

int protorange_check(const struct link_msg *m, const char **ret_field)
{
	switch (m->hdr.type) {
	case LINK_HELLO_ACK:
		return protorange_hello_ack(&m->hello_ack, ret_field);
	case LINK_STATUS:
		if (m->status.battery_pct > 100 &&
		    m->status.battery_pct != PROTORANGE_BATTERY_UNKNOWN) {
			return protorange_fail("battery_pct", ret_field);
		}
		return 0;
	case LINK_CONN_UPDATE:
		/* No 0 here: the message exists to say the new value. */
		if (m->conn_update.ci_us < PROTORANGE_CI_MIN_US ||
		    m->conn_update.ci_us > PROTORANGE_CI_MAX_US) {
			return protorange_fail("ci_us", ret_field);
		}
		return 0;
	default:
		/* The timestamps of the other messages are checked where
		 * their meaning is known: the servo refuses inconsistent
		 * exchanges, the link implausible deliveries. */
		return 0;
	}
}
