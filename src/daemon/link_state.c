/* SPDX-License-Identifier: MIT */
/*
 * The names of a link's states, as the status, the D-Bus State property
 * and the metrics spell them. Apart from link.c so that what only needs
 * the names (the metrics and their tests) need not link the link.
 */
#include "daemon/link.h"

const char *link_state_name(enum link_state s)
{
	switch (s) {
	case LINK_ST_IDLE:
		return "idle";
	case LINK_ST_CONNECTING:
		return "connecting";
	case LINK_ST_HELLO:
		return "hello";
	case LINK_ST_SYNCING:
		return "syncing";
	case LINK_ST_STREAMING:
		return "streaming";
	}
	return "?";
}
