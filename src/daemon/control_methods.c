/* SPDX-License-Identifier: MIT */
/*
 * The control API's methods of org.ttws.Daemon1: reading (GetStats,
 * GetMetrics, Get, ListKeys, ListPairs) and changing (Set, Reload, ResetStats,
 * Capture*, which need uid 0 or group ttws), and in test builds the fault
 * hook DebugStallRT (same rule).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/macro.h"
#include "daemon/control_args.h"
#include "daemon/control_private.h"
#include "daemon/log.h"
#include "daemon/reconf.h"
#include "os/rt.h"

#define CONTROL_ERR_INVALID "org.ttws.Error.InvalidConfig"
#define CONTROL_ERR_UNKNOWN_KEY "org.ttws.Error.UnknownKey"
#define CONTROL_ERR_RESTART "org.ttws.Error.NeedsRestart"
#define CONTROL_ERR_BUSY "org.ttws.Error.Busy"
#define CONTROL_ERR_TIMEOUT "org.ttws.Error.Timeout"

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

int control_method_get_stats(sd_bus_message *m, void *userdata,
			    sd_bus_error *error)
{
	return method_text(m, userdata, error,
			   ctl_of(userdata)->host.stats_json, "GetStats");
}

int control_method_get_metrics(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	return method_text(m, userdata, error,
			   ctl_of(userdata)->host.metrics_text, "GetMetrics");
}

int control_method_get(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	struct conf_key_info ki;
	const char *name;
	char why[128];
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0) {
		return r;
	}
	/* Checked before it is looked up or echoed (control_args.h). */
	if (control_args_key(name, why, sizeof(why)) < 0) {
		return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, why);
	}
	if (conf_get(reconf_running(c->host.reconf), name, &ki) < 0) {
		return sd_bus_error_setf(error, CONTROL_ERR_UNKNOWN_KEY,
					 "%s: unknown key", name);
	}
	return sd_bus_reply_method_return(m, "s", ki.value);
}

/* ListPairs(): (name, object path) per pair, in the engine's order. */
int control_method_list_pairs(sd_bus_message *m, void *userdata,
			      sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	sd_bus_message *reply = NULL;
	char path[CONTROL_OBJ_PATH_MAX];
	unsigned i, n = control_n_pairs(c);
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0) {
		r = sd_bus_message_open_container(reply, 'a', "(so)");
	}
	for (i = 0; i < n && r >= 0; i++) {
		r = control_pair_path(c, i, -1, path, sizeof(path));
		if (r >= 0) {
			r = sd_bus_message_append(
				reply, "(so)",
				engine_pair_name(c->host.engine, i), path);
		}
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

int control_method_list_keys(sd_bus_message *m, void *userdata,
			    sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	const struct conf *cf = reconf_running(c->host.reconf);
	sd_bus_message *reply = NULL;
	struct conf_key_info ki;
	unsigned i, n = conf_n_names(cf);
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
		/* Before anything logs or parses them (control_args.h). */
		if (control_args_key(name, why, sizeof(why)) < 0 ||
		    control_args_value(value, why, sizeof(why)) < 0) {
			return sd_bus_error_set(error,
						SD_BUS_ERROR_INVALID_ARGS, why);
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

int control_method_set(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return method_change(m, userdata, error, false);
}

int control_method_reload(sd_bus_message *m, void *userdata,
			 sd_bus_error *error)
{
	return method_change(m, userdata, error, true);
}

int control_method_reset_stats(sd_bus_message *m, void *userdata,
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

int control_method_capture(sd_bus_message *m, void *userdata,
			  sd_bus_error *error)
{
	struct control_conn *conn = userdata;
	struct control *c = conn->ctl;
	bool start = strcmp(sd_bus_message_get_member(m), "CaptureStart") == 0;
	const char *path = NULL;
	char why[128];
	int r;

	if (start) {
		r = sd_bus_message_read(m, "s", &path);
		if (r < 0) {
			return r;
		}
		if (control_args_path(path, why, sizeof(why)) < 0) {
			return sd_bus_error_set(error,
						SD_BUS_ERROR_INVALID_ARGS, why);
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

#if HAVE_TEST_HOOKS
/*
 * DebugStallRT(u seconds), test builds only: the RT thread sleeps that
 * long in its loop (engine_debug_stall()), so the watchdog goes unfed and
 * a service manager restarts ttwsd. 1..ENGINE_STALL_MAX_S seconds.
 */
int control_method_debug_stall_rt(sd_bus_message *m, void *userdata,
				  sd_bus_error *error)
{
	struct control_conn *conn = userdata;
	uint32_t seconds;
	int r;

	r = sd_bus_message_read(m, "u", &seconds);
	if (r < 0) {
		return r;
	}
	r = control_authorize(conn, m, error);
	if (r <= 0) {
		return r;
	}
	if (seconds < 1 || seconds > ENGINE_STALL_MAX_S) {
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
					 "seconds must be 1..%u, not %u",
					 ENGINE_STALL_MAX_S, seconds);
	}
	r = engine_debug_stall(conn->ctl->host.engine, seconds);
	if (r < 0) {
		return sd_bus_error_set_errnof(error, -r, "DebugStallRT: %s",
					       strerror(-r));
	}
	log_main_event(LOG_WARNING, LOG_EV_NONE, LOG_EAR_NONE, NULL, 0,
		       "test hook DebugStallRT: stalling the RT thread for "
		       "%u s",
		       seconds);
	return sd_bus_reply_method_return(m, NULL);
}
#endif
