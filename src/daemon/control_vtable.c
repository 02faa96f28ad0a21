/* SPDX-License-Identifier: MIT */
/*
 * The control API's objects: org.ttws.Daemon1 on /org/ttws/Daemon,
 * org.ttws.Ear1 on /org/ttws/Daemon/ear/{left,right} (the first pair's
 * ears), and per pair org.ttws.Pair1 on /org/ttws/Daemon/pair/NAME with
 * its ears on .../pair/NAME/ear/{left,right} (their vtables; the
 * properties are in control_props.c, the methods in control_methods.c),
 * and the bus driver's answers for bus clients on the private socket.
 * ttwsd(8), "CONTROL API", is the reference.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/macro.h"
#include "daemon/control_private.h"
#include "daemon/log.h"
#include "daemon/reconf.h"
#include "os/rt.h"


/* ---- the bus driver's part, for clients that expect a bus ------------------ */

/*
 * busctl --address=... and other bus clients start with Hello() and may
 * ask the driver who owns a name. On the private socket ttwsd is the only
 * peer: it answers what a bus with one service would, so such tools work
 * unchanged (DBus spec, "Message Bus Messages").
 */
static int driver_hello(sd_bus_message *m, void *userdata,
			sd_bus_error *error)
{
	struct control_conn *conn = userdata;
	char name[32];

	snprintf(name, sizeof(name), ":1.%u", conn->serial);
	return sd_bus_reply_method_return(m, "s", name);
}

static int driver_get_name_owner(sd_bus_message *m, void *userdata,
				 sd_bus_error *error)
{
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0) {
		return r;
	}
	if (strcmp(name, CONTROL_BUS_NAME) != 0) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_NAME_HAS_NO_OWNER,
					 "only %s is here", CONTROL_BUS_NAME);
	}
	return sd_bus_reply_method_return(m, "s", ":1.0");
}

static int driver_name_has_owner(sd_bus_message *m, void *userdata,
				 sd_bus_error *error)
{
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0) {
		return r;
	}
	return sd_bus_reply_method_return(m, "b",
					  strcmp(name, CONTROL_BUS_NAME) == 0);
}

static int driver_list_names(sd_bus_message *m, void *userdata,
			     sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, "as", 2, "org.freedesktop.DBus",
					  CONTROL_BUS_NAME);
}

/* Signals reach every client of the socket anyway: matches are local. */
static int driver_match(sd_bus_message *m, void *userdata,
			sd_bus_error *error)
{
	return sd_bus_reply_method_return(m, NULL);
}

static const sd_bus_vtable control_driver_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD("Hello", NULL, "s", driver_hello,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("GetNameOwner", "s", "s", driver_get_name_owner,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("NameHasOwner", "s", "b", driver_name_has_owner,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("ListNames", NULL, "as", driver_list_names,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("AddMatch", "s", NULL, driver_match,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("RemoveMatch", "s", NULL, driver_match,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

/* ---- vtables -------------------------------------------------------------- */

#define EC SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE
#define CONST SD_BUS_VTABLE_PROPERTY_CONST

static const sd_bus_vtable control_daemon_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", control_prop_version, 0, CONST),
	SD_BUS_PROPERTY("Uptime", "t", control_prop_uptime, 0, 0),
	SD_BUS_PROPERTY("Backend", "s", control_prop_backend, 0, CONST),
	SD_BUS_PROPERTY("Source", "s", control_prop_conf_str, 0, CONST),
	SD_BUS_PROPERTY("Codec", "s", control_prop_conf_str, 0, CONST),
	SD_BUS_PROPERTY("Estimator", "s", control_prop_conf_str, 0, EC),
	SD_BUS_PROPERTY("PresentationDelayUs", "t", control_prop_delay, 0, 0),
	SD_BUS_PROPERTY("RtPlacement", "a(sss)", control_prop_rt, 0, CONST),
	/* Fixed at start: the set of pairs changes only with a restart. */
	SD_BUS_PROPERTY("Pairs", "as", control_prop_pairs, 0, CONST),
	SD_BUS_METHOD_WITH_ARGS("ListPairs", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(so)", pairs),
				control_method_list_pairs,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetStats", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", json), control_method_get_stats,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetMetrics", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", openmetrics),
				control_method_get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Get", SD_BUS_ARGS("s", name),
				SD_BUS_RESULT("s", value), control_method_get,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListKeys", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(ssss)", keys),
				control_method_list_keys, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Set", SD_BUS_ARGS("s", name, "s", value),
				SD_BUS_RESULT("s", note), control_method_set,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", note), control_method_reload,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("ResetStats", NULL, NULL, control_method_reset_stats,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CaptureStart", SD_BUS_ARGS("s", path),
				SD_BUS_NO_RESULT, control_method_capture,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("CaptureStop", NULL, NULL, control_method_capture,
		      SD_BUS_VTABLE_UNPRIVILEGED),
#if HAVE_TEST_HOOKS
	/* Test builds only: a fault hook (control_methods.c). */
	SD_BUS_METHOD_WITH_ARGS("DebugStallRT", SD_BUS_ARGS("u", seconds),
				SD_BUS_NO_RESULT,
				control_method_debug_stall_rt,
				SD_BUS_VTABLE_UNPRIVILEGED),
#endif
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable control_ear_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("State", "s", control_prop_ear_str, 0, EC),
	SD_BUS_PROPERTY("Transport", "s", control_prop_ear_str, 0, CONST),
	SD_BUS_PROPERTY("ServoState", "s", control_prop_ear_str, 0, EC),
	SD_BUS_PROPERTY("OffsetNs", "x", control_prop_ear_x, 0, 0),
	SD_BUS_PROPERTY("RatePpb", "x", control_prop_ear_x, 0, 0),
	SD_BUS_PROPERTY("LastResidualNs", "x", control_prop_ear_x, 0, 0),
	SD_BUS_PROPERTY("FramesSent", "t", control_prop_ear_t, 0, 0),
	SD_BUS_PROPERTY("FramesLate", "t", control_prop_ear_t, 0, 0),
	SD_BUS_PROPERTY("FramesLost", "t", control_prop_ear_t, 0, 0),
	SD_BUS_PROPERTY("Reconnects", "t", control_prop_ear_t, 0, EC),
	SD_BUS_PROPERTY("Battery", "y", control_prop_battery, 0, 0),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable control_pair_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Name", "s", control_prop_pair_str, 0, CONST),
	SD_BUS_PROPERTY("SinkNode", "s", control_prop_pair_str, 0, CONST),
	SD_BUS_PROPERTY("Codec", "s", control_prop_pair_str, 0, 0),
	SD_BUS_PROPERTY("Profile", "s", control_prop_pair_str, 0, CONST),
	SD_BUS_PROPERTY("DelayUs", "t", control_prop_pair_t, 0, 0),
	SD_BUS_PROPERTY("DelayTargetUs", "t", control_prop_pair_t, 0, 0),
	SD_BUS_PROPERTY("DelayMinUs", "t", control_prop_pair_t, 0, 0),
	SD_BUS_PROPERTY("DelayMaxUs", "t", control_prop_pair_t, 0, 0),
	SD_BUS_PROPERTY("LatencyUs", "t", control_prop_pair_t, 0, 0),
	SD_BUS_PROPERTY("Frames", "t", control_prop_pair_t, 0, 0),
	SD_BUS_PROPERTY("LateTicks", "t", control_prop_pair_t, 0, 0),
	SD_BUS_VTABLE_END,
};

/* Pair i's object and its ears' on conn's bus. */
static int control_add_pair(struct control_conn *conn, unsigned i)
{
	char path[CONTROL_OBJ_PATH_MAX];
	unsigned e;
	int r;

	conn->pairs[i].conn = conn;
	conn->pairs[i].pair = i;
	r = control_pair_path(conn->ctl, i, -1, path, sizeof(path));
	if (r >= 0) {
		r = sd_bus_add_object_vtable(conn->bus, NULL, path,
					     CONTROL_PAIR_IFACE,
					     control_pair_vtable,
					     &conn->pairs[i]);
	}
	for (e = 0; e < CONF_N_EARS && r >= 0; e++) {
		conn->pair_ears[i][e].conn = conn;
		conn->pair_ears[i][e].pair = i;
		conn->pair_ears[i][e].ear = e;
		r = control_pair_path(conn->ctl, i, (int)e, path, sizeof(path));
		if (r >= 0) {
			r = sd_bus_add_object_vtable(conn->bus, NULL, path,
						     CONTROL_EAR_IFACE,
						     control_ear_vtable,
						     &conn->pair_ears[i][e]);
		}
	}
	return r;
}

int control_add_objects(struct control_conn *conn)
{
	char path[64];
	unsigned e, i;
	int r;

	r = sd_bus_add_object_vtable(conn->bus, NULL, CONTROL_PATH,
				     CONTROL_IFACE, control_daemon_vtable,
				     conn);
	if (r >= 0 && !conn->system) {
		r = sd_bus_add_object_vtable(conn->bus, NULL,
					     "/org/freedesktop/DBus",
					     "org.freedesktop.DBus",
					     control_driver_vtable, conn);
	}
	for (e = 0; e < CONF_N_EARS && r >= 0; e++) {
		conn->ears[e].conn = conn;
		conn->ears[e].pair = 0;
		conn->ears[e].ear = e;
		snprintf(path, sizeof(path), CONTROL_PATH "/ear/%s",
			 conf_ear_name(e));
		r = sd_bus_add_object_vtable(conn->bus, NULL, path,
					     CONTROL_EAR_IFACE,
					     control_ear_vtable,
					     &conn->ears[e]);
	}
	for (i = 0; i < control_n_pairs(conn->ctl) && r >= 0; i++) {
		r = control_add_pair(conn, i);
	}
	return r;
}
