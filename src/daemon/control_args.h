/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CONTROL_ARGS_H
#define TTWS_DAEMON_CONTROL_ARGS_H

/*
 * The control API's client arguments (org.ttws.Daemon1: Get, Set,
 * CaptureStart), checked before anything else sees them: a client is
 * outside the trust boundary, and what it sends ends up in the journal
 * ("set NAME = VALUE"), in error replies and in fopen(). D-Bus already
 * guarantees valid UTF-8 without NUL; these bound the length and refuse
 * control characters (a newline would forge a log line). Whether a name
 * exists or a value is in range stays conf_get()/conf_set()'s business.
 *
 * Pure: no allocation, no syscalls. Each returns 0, or -EINVAL with a
 * reason (never echoing the argument) in why (why_size bytes, always
 * terminated; why may be NULL).
 */

#include <stddef.h>

/* A key name: 1 .. CONF_NAME_MAX - 1 characters of [a-z0-9._-] (every
 * name conf_key_info() gives is of that form, ttwsd.conf(5)). */
int control_args_key(const char *name, char *why, size_t why_size);

/* A key's new value: at most CONF_VALUE_MAX - 1 bytes, no control
 * characters (0x00-0x1f, 0x7f). */
int control_args_value(const char *value, char *why, size_t why_size);

/* A capture file: an absolute path of at most CONF_PATH_MAX - 1 bytes,
 * no control characters. */
int control_args_path(const char *path, char *why, size_t why_size);

#endif
