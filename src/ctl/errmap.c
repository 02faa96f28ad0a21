/* SPDX-License-Identifier: MIT */
#include "ctl/errmap.h"

#include <errno.h>
#include <string.h>

#include "core/macro.h"
#include "ctl/args.h"

/* Errors that mean no daemon answered. sd-bus synthesises NoReply for a
 * method call timeout; the others come from the system bus itself. */
static const char *const ctl_unreachable_names[] = {
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.Timeout",
    "org.freedesktop.DBus.Error.TimedOut",
    "org.freedesktop.DBus.Error.Disconnected",
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.NoServer",
};

/* Local transport failures during a call. */
static bool ctl_errno_lost(int r)
{
	switch (-r) {
	case ECONNRESET:
	case ECONNREFUSED:
	case ENOTCONN:
	case EPIPE:
	case ESHUTDOWN:
	case ETIMEDOUT:
		return true;
	default:
		return false;
	}
}

const char *ctl_connect_hint(int r)
{
	switch (-r) {
	case ENOENT:
	case ECONNREFUSED:
		return "is ttwsd running?";
	case EACCES:
	case EPERM:
		return "no permission to open the socket";
	case ETIMEDOUT:
		return "ttwsd did not answer";
	default:
		return "cannot reach ttwsd";
	}
}

int ctl_exit_for_call(int r, const char *error_name)
{
	size_t i;

	if (error_name) {
		for (i = 0; i < ARRAY_SIZE(ctl_unreachable_names); i++) {
			if (strcmp(error_name, ctl_unreachable_names[i]) == 0) {
				return CTL_EXIT_UNREACHABLE;
			}
		}
		/*
		 * sd-bus names a local errno "System.Error.E..." (or one of
		 * the names above); a name the daemon sent is its answer,
		 * whatever errno sd-bus maps it to (AccessDenied is EACCES).
		 */
		if (strncmp(error_name, "System.Error.", 13) != 0) {
			return CTL_EXIT_DAEMON;
		}
	}
	return ctl_errno_lost(r) ? CTL_EXIT_UNREACHABLE : CTL_EXIT_DAEMON;
}

const char *ctl_call_hint(const char *error_name, const char *message)
{
	if (!error_name) {
		return NULL;
	}
	if (strcmp(error_name, "org.freedesktop.DBus.Error.AccessDenied") ==
		0 &&
	    !(message && strstr(message, "group ttws"))) {
		return "needs root or group ttws";
	}
	if (strcmp(error_name, "org.freedesktop.DBus.Error.ServiceUnknown") ==
		0 ||
	    strcmp(error_name, "org.freedesktop.DBus.Error.NameHasNoOwner") ==
		0) {
		return "is ttwsd running?";
	}
	return NULL;
}
