/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-event.h>

#include "core/macro.h"
#include "ctl/cmd.h"
#include "ctl/props.h"
#include "ctl/view.h"

/*
 * monitor: PropertiesChanged of the daemon and both ears (the first
 * pair's, or with --pair that pair's), one line per
 * changed property with the value before (from a GetAll at start, then
 * from the signals themselves) and after.
 */

struct ctl_watch {
	char path[CTL_OBJ_PATH_MAX];
	const char *iface;
	struct json_object *values; /* property -> last value, owned */
};

struct ctl_monitor {
	struct ctl_bus *bus;
	const struct ctl_args *args;
	sd_event *event;
	struct ctl_watch watch[3];
};

static void ctl_monitor_change(struct ctl_monitor *mon, struct ctl_watch *w,
			       const char *prop, struct json_object *value)
{
	struct json_object *old = NULL;
	struct timespec now;
	int r;

	json_object_object_get_ex(w->values, prop, &old);
	/* The GetAll at start may already hold a change whose signal was
	 * queued behind its reply: no "x -> x" lines. */
	if (old && json_object_equal(old, value)) {
		json_object_put(value);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	r = ctl_monitor_line(stdout, &now, w->path, prop, old, value,
			     mon->args->json);
	/* Replaces (and drops) old: after the line that printed it. */
	json_object_object_add(w->values, prop, value);
	if (r < 0) {
		fprintf(stderr, "ttwsctl: monitor: %s\n", strerror(-r));
		sd_event_exit(mon->event, CTL_EXIT_DAEMON);
	}
}

/* Invalidated properties (values not in the signal): ask for them. */
static int ctl_monitor_invalidated(struct ctl_monitor *mon, struct ctl_watch *w,
				   sd_bus_message *m)
{
	const char *prop;
	int r;

	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "s");
	if (r < 0) {
		return r;
	}
	while ((r = sd_bus_message_read(m, "s", &prop)) > 0) {
		struct json_object *v;

		if (ctl_props_get(mon->bus, "monitor", w->path, w->iface, prop,
				  &v) == 0) {
			ctl_monitor_change(mon, w, prop, v);
		}
	}
	return r < 0 ? r : sd_bus_message_exit_container(m);
}

static int ctl_monitor_signal(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	struct ctl_monitor *mon = userdata;
	struct ctl_watch *w = NULL;
	struct json_object *changed;
	const char *path = sd_bus_message_get_path(m), *iface;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(mon->watch); i++) {
		if (path && strcmp(path, mon->watch[i].path) == 0) {
			w = &mon->watch[i];
		}
	}
	if (!w || sd_bus_message_read(m, "s", &iface) < 0 ||
	    strcmp(iface, w->iface) != 0) {
		return 0;
	}
	changed = json_object_new_object();
	r = changed ? ctl_props_dict(m, changed) : -ENOMEM;
	if (r >= 0) {
		json_object_object_foreach(changed, prop, v)
		{
			ctl_monitor_change(mon, w, prop, json_object_get(v));
		}
		r = ctl_monitor_invalidated(mon, w, m);
	}
	json_object_put(changed);
	if (r < 0) {
		fprintf(stderr,
			"ttwsctl: monitor: bad PropertiesChanged on "
			"%s: %s\n",
			path, strerror(-r));
	}
	return 0;
}

static int ctl_monitor_disconnected(sd_bus_message *m, void *userdata,
				    sd_bus_error *error)
{
	struct ctl_monitor *mon = userdata;

	fprintf(stderr, "ttwsctl: monitor: lost the connection to %s\n",
		mon->bus->where);
	sd_event_exit(mon->event, CTL_EXIT_UNREACHABLE);
	return 0;
}

/* Subscribe first, then read the values: no change falls between. */
static int ctl_monitor_setup(struct ctl_monitor *mon)
{
	struct ctl_bus *b = mon->bus;
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(mon->watch); i++) {
		/* No sender: a peer connection has none, and sd-bus
		 * would compare a well-known name with the unique one. The
		 * paths are ttwsd's own. */
		r = sd_bus_match_signal(b->bus, NULL, NULL, mon->watch[i].path,
					CTL_IFACE_PROPS, "PropertiesChanged",
					ctl_monitor_signal, mon);
		if (r < 0) {
			return ctl_bus_bad_reply("monitor", "AddMatch", r);
		}
	}
	r = sd_bus_match_signal(b->bus, NULL, NULL,
				"/org/freedesktop/DBus/Local",
				"org.freedesktop.DBus.Local", "Disconnected",
				ctl_monitor_disconnected, mon);
	if (r < 0) {
		return ctl_bus_bad_reply("monitor", "AddMatch", r);
	}
	for (i = 0; i < ARRAY_SIZE(mon->watch); i++) {
		r = ctl_props_get_all(b, "monitor", mon->watch[i].path,
				      mon->watch[i].iface,
				      &mon->watch[i].values);
		if (r != 0) {
			return r;
		}
	}
	return 0;
}

static int ctl_monitor_loop(struct ctl_monitor *mon)
{
	int r;

	r = sd_event_default(&mon->event);
	if (r >= 0) {
		r = sd_event_add_signal(mon->event, NULL,
					SIGINT | SD_EVENT_SIGNAL_PROCMASK, NULL,
					NULL);
	}
	if (r >= 0) {
		r = sd_event_add_signal(mon->event, NULL,
					SIGTERM | SD_EVENT_SIGNAL_PROCMASK,
					NULL, NULL);
	}
	if (r >= 0) {
		r = sd_bus_attach_event(mon->bus->bus, mon->event, 0);
	}
	if (r < 0) {
		fprintf(stderr, "ttwsctl: monitor: %s\n", strerror(-r));
		return CTL_EXIT_DAEMON;
	}
	/* The signal sources exit with code 0 (their NULL userdata). */
	r = sd_event_loop(mon->event);
	sd_bus_detach_event(mon->bus->bus);
	mon->event = sd_event_unref(mon->event);
	return r < 0 ? CTL_EXIT_DAEMON : r;
}

int ctl_cmd_monitor(struct ctl_bus *b, const struct ctl_args *args)
{
	struct ctl_monitor mon = {
	    .bus = b,
	    .args = args,
	    .watch =
		{
		    {CTL_PATH_DAEMON, CTL_IFACE_DAEMON, NULL},
		    {CTL_PATH_LEFT, CTL_IFACE_EAR, NULL},
		    {CTL_PATH_RIGHT, CTL_IFACE_EAR, NULL},
		},
	};
	size_t i;
	int r = 0;

	if (args->pair) {
		r = ctl_pair_path(args->pair, "left", mon.watch[1].path,
				  sizeof(mon.watch[1].path));
		if (r >= 0) {
			r = ctl_pair_path(args->pair, "right",
					  mon.watch[2].path,
					  sizeof(mon.watch[2].path));
		}
		if (r < 0) {
			return ctl_cmd_view_failed(args->cmd_name, r);
		}
	}
	r = ctl_monitor_setup(&mon);
	if (r == 0) {
		r = ctl_monitor_loop(&mon);
	}
	for (i = 0; i < ARRAY_SIZE(mon.watch); i++) {
		json_object_put(mon.watch[i].values);
	}
	return r;
}
