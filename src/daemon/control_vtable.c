/* SPDX-License-Identifier: MIT */
/*
 * The control API's objects: org.ttws.Daemon1 on /org/ttws/Daemon and
 * org.ttws.Ear1 on /org/ttws/Daemon/ear/{left,right}; their properties
 * (from the engine's snapshot and the running configuration) and methods.
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

#define CONTROL_ERR_INVALID "org.ttws.Error.InvalidConfig"
#define CONTROL_ERR_UNKNOWN_KEY "org.ttws.Error.UnknownKey"
#define CONTROL_ERR_RESTART "org.ttws.Error.NeedsRestart"
#define CONTROL_ERR_BUSY "org.ttws.Error.Busy"
#define CONTROL_ERR_TIMEOUT "org.ttws.Error.Timeout"

static struct control *ctl_of(void *userdata)
{
	return ((struct control_conn *)userdata)->ctl;
}

/* ---- org.ttws.Daemon1 properties ---------------------------------------- */

static int prop_version(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", TTWS_VERSION);
}

static int prop_uptime(sd_bus *bus, const char *path, const char *iface,
		       const char *prop, sd_bus_message *reply,
		       void *userdata, sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);

	return sd_bus_message_append(reply, "t",
				     (uint64_t)((rt_now_ns() -
						 c->host.start_ns) /
						NSEC_PER_USEC));
}

static int prop_backend(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	const struct engine_snapshot *s = control_snapshot(ctl_of(userdata));

	return sd_bus_message_append(reply, "s",
				     loop_backend_name(s->backend));
}

static int prop_conf_str(sd_bus *bus, const char *path, const char *iface,
			 const char *prop, sd_bus_message *reply,
			 void *userdata, sd_bus_error *error)
{
	const struct conf *c = reconf_running(ctl_of(userdata)->host.reconf);
	const char *v = "?";

	if (strcmp(prop, "Source") == 0) {
		v = conf_source_name(c->stream.source);
	} else if (strcmp(prop, "Codec") == 0) {
		v = conf_codec_name(c->stream.codec);
	} else if (strcmp(prop, "Estimator") == 0) {
		v = c->servo.estimator;
	}
	return sd_bus_message_append(reply, "s", v);
}

static int prop_delay(sd_bus *bus, const char *path, const char *iface,
		      const char *prop, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	const struct engine_snapshot *s = control_snapshot(ctl_of(userdata));

	return sd_bus_message_append(reply, "t",
				     s->stream.delay_ns / NSEC_PER_USEC);
}

/*
 * rt's text report has one "item: status: detail" line per item; the API
 * gives (item, ok|warning|failed|not requested, detail).
 */
static int prop_rt(sd_bus *bus, const char *path, const char *iface,
		   const char *prop, sd_bus_message *reply, void *userdata,
		   sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	char text[8192], *line, *save = NULL;
	int r;

	if (rt_report_format_text(engine_rt_report(c->host.engine), text,
				  sizeof(text)) < 0) {
		text[0] = '\0';
	}
	r = sd_bus_message_open_container(reply, 'a', "(sss)");
	for (line = strtok_r(text, "\n", &save); line && r >= 0;
	     line = strtok_r(NULL, "\n", &save)) {
		char *st = strstr(line, ": "), *detail;
		const char *status;

		if (!st) {
			continue;
		}
		*st = '\0';
		st += 2;
		detail = strstr(st, ": ");
		if (detail) {
			*detail = '\0';
			detail += 2;
		}
		status = strcmp(st, "ok") == 0	    ? "ok" :
			 strcmp(st, "warn") == 0    ? "warning" :
			 strcmp(st, "FAILED") == 0 ? "failed" :
						      st;
		r = sd_bus_message_append(reply, "(sss)", line, status,
					  detail ? detail : "");
	}
	if (r >= 0) {
		r = sd_bus_message_close_container(reply);
	}
	return r;
}

/* ---- org.ttws.Ear1 properties ------------------------------------------- */

static const struct engine_ear *ear_of(void *userdata, enum conf_ear *ret)
{
	struct control_ear *x = userdata;
	const struct engine_snapshot *s = control_snapshot(x->conn->ctl);

	*ret = x->ear;
	return &s->ear[x->ear];
}

static int prop_ear_str(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	struct control_ear *x = userdata;
	const struct conf *c = reconf_running(x->conn->ctl->host.reconf);
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e);
	const char *v = "?";

	if (strcmp(prop, "State") == 0) {
		v = link_state_name(s->link.state);
	} else if (strcmp(prop, "Transport") == 0) {
		v = conf_transport_name(c->link[e].transport);
	} else if (strcmp(prop, "ServoState") == 0) {
		v = servo_state_name(s->servo.state);
	}
	return sd_bus_message_append(reply, "s", v ? v : "?");
}

static int prop_ear_x(sd_bus *bus, const char *path, const char *iface,
		      const char *prop, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e);
	int64_t v = 0;

	if (strcmp(prop, "OffsetNs") == 0) {
		v = s->servo.offset_ns;
	} else if (strcmp(prop, "RatePpb") == 0) {
		v = s->servo.rate_ppb;
	} else if (strcmp(prop, "LastResidualNs") == 0) {
		v = s->servo.last_residual_ns;
	}
	return sd_bus_message_append(reply, "x", v);
}

static int prop_ear_t(sd_bus *bus, const char *path, const char *iface,
		      const char *prop, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	struct control_ear *x = userdata;
	const struct engine_snapshot *snap = control_snapshot(x->conn->ctl);
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e);
	uint64_t v = 0;

	if (strcmp(prop, "FramesSent") == 0) {
		v = s->link.frames_sent;
	} else if (strcmp(prop, "FramesLate") == 0) {
		v = s->link.ear_late;
	} else if (strcmp(prop, "FramesLost") == 0) {
		v = snap->stream.skipped[e] + s->link.send_errors;
	} else if (strcmp(prop, "Reconnects") == 0) {
		v = control_reconnects(&s->link);
	}
	return sd_bus_message_append(reply, "t", v);
}

static int prop_battery(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	struct control_ear *x = userdata;
	const struct conf *c = reconf_running(x->conn->ctl->host.reconf);
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e);

	/* An ear without a link has no battery to report: unknown. */
	return sd_bus_message_append(reply, "y",
				     c->link[e].transport ==
						     CONF_TRANSPORT_NONE ?
					     0xff :
					     s->link.battery_pct);
}

/* ---- methods ------------------------------------------------------------- */

static int method_text(sd_bus_message *m, void *userdata,
		       sd_bus_error *error,
		       int (*fn)(void *data, char **ret), const char *what)
{
	struct control *c = ctl_of(userdata);
	char *text = NULL;
	int r;

	if (!fn) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED,
					 "%s: not available in this build",
					 what);
	}
	r = fn(c->host.data, &text);
	if (r < 0) {
		return sd_bus_error_set_errnof(error, -r, "%s: %s", what,
					       strerror(-r));
	}
	r = sd_bus_reply_method_return(m, "s", text);
	free(text);
	return r;
}

static int method_get_stats(sd_bus_message *m, void *userdata,
			    sd_bus_error *error)
{
	return method_text(m, userdata, error,
			   ctl_of(userdata)->host.stats_json, "GetStats");
}

static int method_get_metrics(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	return method_text(m, userdata, error,
			   ctl_of(userdata)->host.metrics_text, "GetMetrics");
}

static int method_get(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	struct conf_key_info ki;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0) {
		return r;
	}
	if (conf_get(reconf_running(c->host.reconf), name, &ki) < 0) {
		return sd_bus_error_setf(error, CONTROL_ERR_UNKNOWN_KEY,
					 "%s: unknown key", name);
	}
	return sd_bus_reply_method_return(m, "s", ki.value);
}

static int method_list_keys(sd_bus_message *m, void *userdata,
			    sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	const struct conf *cf = reconf_running(c->host.reconf);
	sd_bus_message *reply = NULL;
	struct conf_key_info ki;
	unsigned i, n = conf_n_names();
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0) {
		r = sd_bus_message_open_container(reply, 'a', "(ssss)");
	}
	for (i = 0; i < n && r >= 0; i++) {
		conf_key_info(cf, i, &ki);
		r = sd_bus_message_append(reply, "(ssss)", ki.name, ki.value,
					  ki.apply == CONF_LIVE ? "live" :
								  "restart",
					  ki.range);
	}
	if (r >= 0) {
		r = sd_bus_message_close_container(reply);
	}
	if (r >= 0) {
		r = sd_bus_send(NULL, reply, NULL);
	}
	sd_bus_message_unref(reply);
	return r;
}

/* A Set or Reload waiting for the RT thread to adopt its snapshot. */
struct control_change {
	sd_bus_message *m;
	char note[256];
};

static void control_change_done(void *data, int err)
{
	struct control_change *w = data;

	if (err == 0) {
		sd_bus_reply_method_return(w->m, "s", w->note);
	} else if (err == -ETIMEDOUT) {
		sd_bus_reply_method_errorf(w->m, CONTROL_ERR_TIMEOUT,
					   "the RT thread did not adopt the "
					   "change in time; the running "
					   "configuration stays");
	} else {
		sd_bus_reply_method_errorf(w->m, SD_BUS_ERROR_FAILED,
					   "change cancelled: %s",
					   strerror(-err));
	}
	sd_bus_message_unref(w->m);
	free(w);
}

static int control_change_error(sd_bus_error *error, int r, const char *why)
{
	switch (r) {
	case -ENOENT:
		return sd_bus_error_set(error, CONTROL_ERR_UNKNOWN_KEY, why);
	case -EPERM:
		return sd_bus_error_set(error, CONTROL_ERR_RESTART, why);
	case -EBUSY:
		return sd_bus_error_set(error, CONTROL_ERR_BUSY, why);
	case -EINVAL:
		return sd_bus_error_set(error, CONTROL_ERR_INVALID, why);
	default:
		return sd_bus_error_set_errnof(error, -r, "%s", why);
	}
}

static int method_change(sd_bus_message *m, void *userdata,
			 sd_bus_error *error, bool reload)
{
	struct control_conn *conn = userdata;
	struct control *c = conn->ctl;
	struct control_change *w;
	const char *name = NULL, *value = NULL;
	char why[CONF_ERR_MAX + CONF_PATH_MAX];
	int r;

	if (!reload) {
		r = sd_bus_message_read(m, "ss", &name, &value);
		if (r < 0) {
			return r;
		}
	}
	r = control_authorize(conn, m, error);
	if (r <= 0) {
		return r;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		return -ENOMEM;
	}
	w->m = sd_bus_message_ref(m);
	if (reload) {
		r = reconf_reload(c->host.reconf, rt_now_ns(), w->note,
				  sizeof(w->note), why, sizeof(why),
				  control_change_done, w);
	} else {
		r = reconf_set(c->host.reconf, rt_now_ns(), name, value, why,
			       sizeof(why), control_change_done, w);
	}
	if (r < 0) {
		sd_bus_message_unref(w->m);
		free(w);
		if (reload) {
			log_main_event(LOG_ERR, LOG_EV_CONFIG_REFUSED,
				       LOG_EAR_NONE, NULL, 0,
				       "reload refused, keeping the running "
				       "configuration: %s",
				       why);
		}
		return control_change_error(error, r, why);
	}
	if (reload) {
		log_main_event(LOG_NOTICE, LOG_EV_CONFIG_RELOAD, LOG_EAR_NONE,
			       NULL, 0, "reload of %s%s%s",
			       reconf_path(c->host.reconf),
			       w->note[0] ? ": " : "", w->note);
	} else {
		log_main_event(LOG_NOTICE, LOG_EV_CONFIG_RELOAD, LOG_EAR_NONE,
			       NULL, 0, "set %s = %s", name, value);
	}
	/* The reply goes when the RT thread has adopted it. */
	return 1;
}

static int method_set(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return method_change(m, userdata, error, false);
}

static int method_reload(sd_bus_message *m, void *userdata,
			 sd_bus_error *error)
{
	return method_change(m, userdata, error, true);
}

static int method_reset_stats(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	struct control_conn *conn = userdata;
	int r;

	r = control_authorize(conn, m, error);
	if (r <= 0) {
		return r;
	}
	if (control_wait_reset(conn->ctl, m) < 0) {
		return sd_bus_error_set(error, CONTROL_ERR_BUSY,
					"too many resets waiting; try again");
	}
	return 1;
}

static int method_capture(sd_bus_message *m, void *userdata,
			  sd_bus_error *error)
{
	struct control_conn *conn = userdata;
	struct control *c = conn->ctl;
	bool start = strcmp(sd_bus_message_get_member(m), "CaptureStart") == 0;
	const char *path = NULL;
	int r;

	if (start) {
		r = sd_bus_message_read(m, "s", &path);
		if (r < 0) {
			return r;
		}
	}
	r = control_authorize(conn, m, error);
	if (r <= 0) {
		return r;
	}
	if (!c->host.capture_start) {
		return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
					"capture is not available");
	}
	r = start ? c->host.capture_start(c->host.data, path) :
		    c->host.capture_stop(c->host.data);
	if (r == -ENOTSUP) {
		return sd_bus_error_set(error, SD_BUS_ERROR_NOT_SUPPORTED,
					"capture needs an hci-uart dongle "
					"(transport = hci-uart)");
	}
	if (r < 0) {
		return sd_bus_error_set_errnof(error, -r, "%s: %s",
					       start ? path : "capture",
					       strerror(-r));
	}
	return sd_bus_reply_method_return(m, NULL);
}

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
	SD_BUS_PROPERTY("Version", "s", prop_version, 0, CONST),
	SD_BUS_PROPERTY("Uptime", "t", prop_uptime, 0, 0),
	SD_BUS_PROPERTY("Backend", "s", prop_backend, 0, CONST),
	SD_BUS_PROPERTY("Source", "s", prop_conf_str, 0, CONST),
	SD_BUS_PROPERTY("Codec", "s", prop_conf_str, 0, CONST),
	SD_BUS_PROPERTY("Estimator", "s", prop_conf_str, 0, EC),
	SD_BUS_PROPERTY("PresentationDelayUs", "t", prop_delay, 0, 0),
	SD_BUS_PROPERTY("RtPlacement", "a(sss)", prop_rt, 0, CONST),
	SD_BUS_METHOD_WITH_ARGS("GetStats", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", json), method_get_stats,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetMetrics", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", openmetrics),
				method_get_metrics, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Get", SD_BUS_ARGS("s", name),
				SD_BUS_RESULT("s", value), method_get,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListKeys", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("a(ssss)", keys),
				method_list_keys, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Set", SD_BUS_ARGS("s", name, "s", value),
				SD_BUS_RESULT("s", note), method_set,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Reload", SD_BUS_NO_ARGS,
				SD_BUS_RESULT("s", note), method_reload,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("ResetStats", NULL, NULL, method_reset_stats,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("CaptureStart", SD_BUS_ARGS("s", path),
				SD_BUS_NO_RESULT, method_capture,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD("CaptureStop", NULL, NULL, method_capture,
		      SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END,
};

static const sd_bus_vtable control_ear_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("State", "s", prop_ear_str, 0, EC),
	SD_BUS_PROPERTY("Transport", "s", prop_ear_str, 0, CONST),
	SD_BUS_PROPERTY("ServoState", "s", prop_ear_str, 0, EC),
	SD_BUS_PROPERTY("OffsetNs", "x", prop_ear_x, 0, 0),
	SD_BUS_PROPERTY("RatePpb", "x", prop_ear_x, 0, 0),
	SD_BUS_PROPERTY("LastResidualNs", "x", prop_ear_x, 0, 0),
	SD_BUS_PROPERTY("FramesSent", "t", prop_ear_t, 0, 0),
	SD_BUS_PROPERTY("FramesLate", "t", prop_ear_t, 0, 0),
	SD_BUS_PROPERTY("FramesLost", "t", prop_ear_t, 0, 0),
	SD_BUS_PROPERTY("Reconnects", "t", prop_ear_t, 0, EC),
	SD_BUS_PROPERTY("Battery", "y", prop_battery, 0, 0),
	SD_BUS_VTABLE_END,
};

int control_add_objects(struct control_conn *conn)
{
	char path[64];
	unsigned e;
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
		conn->ears[e].ear = e;
		snprintf(path, sizeof(path), CONTROL_PATH "/ear/%s",
			 conf_ear_name(e));
		r = sd_bus_add_object_vtable(conn->bus, NULL, path,
					     CONTROL_EAR_IFACE,
					     control_ear_vtable,
					     &conn->ears[e]);
	}
	return r;
}
