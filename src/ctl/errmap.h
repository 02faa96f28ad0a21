/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_ERRMAP_H
#define TTWS_CTL_ERRMAP_H

/*
 * Which exit code a failure gets (ttwsctl(1), EXIT STATUS): the daemon
 * refusing something is 1, not reaching it at all is 3. Pure: takes the
 * errno and the D-Bus error name sd-bus reported.
 */

#include <stdbool.h>

/* connect()/sd_bus_start() failed with -r: always unreachable; a hint
 * for the message ("is ttwsd running?"), never NULL. */
const char *ctl_connect_hint(int r);

/*
 * A method call failed: r is sd-bus's negative errno, error_name the
 * sd_bus_error's name (NULL if unset). Returns CTL_EXIT_UNREACHABLE when
 * the daemon never answered (the connection broke, the call timed out,
 * nobody owns the bus name), else CTL_EXIT_DAEMON.
 */
int ctl_exit_for_call(int r, const char *error_name);

/* A hint appended to the daemon's error message (NULL if the message
 * already says it, or there is none). message may be NULL. */
const char *ctl_call_hint(const char *error_name, const char *message);

#endif
