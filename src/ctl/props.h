/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_PROPS_H
#define TTWS_CTL_PROPS_H

/*
 * D-Bus values as json-c trees: integers stay integers (t as uint64),
 * strings strings, b booleans, arrays and structs arrays, a{s...}
 * dictionaries objects. The JSON the views read and --json prints.
 */

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "ctl/bus.h"

/* The next complete value of m (of any signature) as JSON, *ret owned by
 * the caller. Returns 0 or -errno. */
int ctl_props_value(sd_bus_message *m, struct json_object **ret);

/* An a{sv} of m (GetAll's reply, PropertiesChanged's changed) into obj,
 * one member per property. Returns 0 or -errno. */
int ctl_props_dict(sd_bus_message *m, struct json_object *obj);

/* GetAll(iface) of path as an object; the exit code, 0 on success. */
int ctl_props_get_all(struct ctl_bus *b, const char *cmd, const char *path,
		      const char *iface, struct json_object **ret);

/* Get(iface, name) of path; the exit code, 0 on success. */
int ctl_props_get(struct ctl_bus *b, const char *cmd, const char *path,
		  const char *iface, const char *name,
		  struct json_object **ret);

#endif
