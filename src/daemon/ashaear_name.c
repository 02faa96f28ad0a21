/* SPDX-License-Identifier: MIT */
/* The names of an ASHA aid's states (daemon/ashaear.h), apart so that the
 * exposition's tests need none of the aid's machinery. */
#include "core/macro.h"
#include "daemon/ashaear.h"

static const char *const ashaear_state_names[] = {
	[ASHAEAR_IDLE] = "idle",
	[ASHAEAR_CONNECTING] = "connecting",
	[ASHAEAR_DISCOVERING] = "discovering",
	[ASHAEAR_OPENING] = "opening",
	[ASHAEAR_READY] = "ready",
	[ASHAEAR_STARTING] = "starting",
	[ASHAEAR_STREAMING] = "streaming",
	[ASHAEAR_BACKOFF] = "backoff",
	[ASHAEAR_STOPPING] = "stopping",
};

const char *ashaear_state_name(enum ashaear_state s)
{
	return (unsigned)s < ARRAY_SIZE(ashaear_state_names) ?
		       ashaear_state_names[s] :
		       "?";
}
