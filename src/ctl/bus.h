/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_BUS_H
#define TTWS_CTL_BUS_H

/*
 * ttwsctl's connection to ttwsd: the private peer-to-peer socket (no bus
 * daemon, no destination) or the system bus (destination org.ttws.Daemon1).
 * Failures are reported on stderr here, once, in ttwsctl's words, and come
 * back as the process exit code (args.h, enum ctl_exit).
 */

#include <systemd/sd-bus.h>

#include "ctl/args.h"

#define CTL_PATH_DAEMON "/org/ttws/Daemon"
#define CTL_PATH_LEFT "/org/ttws/Daemon/ear/left"
#define CTL_PATH_RIGHT "/org/ttws/Daemon/ear/right"
#define CTL_IFACE_DAEMON "org.ttws.Daemon1"
#define CTL_IFACE_EAR "org.ttws.Ear1"
#define CTL_IFACE_PAIR "org.ttws.Pair1"
#define CTL_PATH_PAIRS "/org/ttws/Daemon/pair"
/* Room for any of ttwsd's object paths. */
#define CTL_OBJ_PATH_MAX 160
#define CTL_IFACE_PROPS "org.freedesktop.DBus.Properties"

/* A method call that takes longer than this means ttwsd is stuck (Set
 * waits one frame, Reload parses a file: milliseconds). */
#define CTL_CALL_TIMEOUT_US (10 * 1000000ULL)

struct ctl_bus {
	sd_bus *bus;	   /* owned */
	const char *dest;  /* NULL on the private socket */
	const char *where; /* the socket path or "the system bus", borrowed */
};

/* Connect as args say. Returns 0, or CTL_EXIT_UNREACHABLE after saying
 * which socket and why on stderr. */
int ctl_bus_open(struct ctl_bus *b, const struct ctl_args *args);

void ctl_bus_close(struct ctl_bus *b);

/*
 * Call a method of ttwsd. cmd names the command in messages. On success
 * *ret_reply (if not NULL) owns the reply and 0 is returned; on failure
 * the daemon's error message is printed ("ttwsctl: set: servo.estimator:
 * unknown value 'x'") and the exit code is returned.
 */
int ctl_bus_call(struct ctl_bus *b, const char *cmd, const char *path,
		 const char *iface, const char *member,
		 sd_bus_message **ret_reply, const char *types, ...);

/*
 * The object of the pair named name: CTL_PATH_PAIRS "/" name escaped as
 * ttwsd escapes it (sd_bus_path_encode()), plus "/ear/EAR" when ear is
 * not NULL, into buf (size bytes). 0 or -ENOMEM / -ENAMETOOLONG.
 */
int ctl_pair_path(const char *name, const char *ear, char *buf, size_t size);

/* A reply that does not parse: prints it, returns CTL_EXIT_DAEMON. */
int ctl_bus_bad_reply(const char *cmd, const char *member, int r);

#endif
