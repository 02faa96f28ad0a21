/* SPDX-License-Identifier: MIT */
/*
 * The control API's properties: org.ttws.Daemon1, org.ttws.Pair1 and
 * org.ttws.Ear1, read from the engine's snapshot and the running
 * configuration.
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

/* ---- org.ttws.Daemon1 properties ---------------------------------------- */

int control_prop_version(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", TTWS_VERSION);
}

int control_prop_uptime(sd_bus *bus, const char *path, const char *iface,
		       const char *prop, sd_bus_message *reply,
		       void *userdata, sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);

	return sd_bus_message_append(reply, "t",
				     (uint64_t)((rt_now_ns() -
						 c->host.start_ns) /
						NSEC_PER_USEC));
}

int control_prop_backend(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	const struct engine_snapshot *s = control_snapshot(ctl_of(userdata));

	return sd_bus_message_append(reply, "s",
				     loop_backend_name(s->backend));
}

int control_prop_conf_str(sd_bus *bus, const char *path, const char *iface,
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

int control_prop_delay(sd_bus *bus, const char *path, const char *iface,
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
int control_prop_rt(sd_bus *bus, const char *path, const char *iface,
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

int control_prop_pairs(sd_bus *bus, const char *path, const char *iface,
		       const char *prop, sd_bus_message *reply, void *userdata,
		       sd_bus_error *error)
{
	struct control *c = ctl_of(userdata);
	unsigned i, n = control_n_pairs(c);
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	for (i = 0; i < n && r >= 0; i++) {
		r = sd_bus_message_append(reply, "s",
					  engine_pair_name(c->host.engine, i));
	}
	if (r >= 0) {
		r = sd_bus_message_close_container(reply);
	}
	return r;
}

/* ---- org.ttws.Pair1 properties ------------------------------------------ */

/* The running configuration as pair i sees it (conf_pair_view(): its
 * links, its codec and delays). ~8 KiB: main thread, heap. */
static struct conf *pair_view(struct control *c, unsigned i)
{
	struct conf *v = malloc(sizeof(*v));

	if (v && conf_pair_view(reconf_running(c->host.reconf), i, v) < 0) {
		free(v);
		v = NULL;
	}
	return v;
}

int control_prop_pair_str(sd_bus *bus, const char *path, const char *iface,
			  const char *prop, sd_bus_message *reply,
			  void *userdata, sd_bus_error *error)
{
	struct control_pair *x = userdata;
	struct control *c = x->conn->ctl;
	const char *name = engine_pair_name(c->host.engine, x->pair);
	struct conf *v = pair_view(c, x->pair);
	char node[CONF_PAIR_NAME_MAX + 16] = "";
	const char *s = "?";
	int r;

	if (!v || !name) {
		free(v);
		return -ENOMEM;
	}
	if (strcmp(prop, "Name") == 0) {
		s = name;
	} else if (strcmp(prop, "SinkNode") == 0) {
		/* daemon_sink_node_name()'s rule: ttws.sink for the pair
		 * "default" (the old form), ttws.sink.NAME otherwise;
		 * no node unless PipeWire is the source. */
		if (v->stream.source == CONF_SOURCE_PIPEWIRE) {
			snprintf(node, sizeof(node), "ttws.sink%s%s",
				 strcmp(name, CONF_PAIR_DEFAULT) ? "." : "",
				 strcmp(name, CONF_PAIR_DEFAULT) ? name : "");
		}
		s = node;
	} else if (strcmp(prop, "Codec") == 0) {
		/* ASHA's one codec: G.722 at 16 kHz. */
		s = v->stream.profile == CONF_PROFILE_ASHA ?
			    "g722" :
			    conf_codec_name(v->stream.codec);
	} else if (strcmp(prop, "Profile") == 0) {
		s = conf_profile_name(v->stream.profile);
	}
	r = sd_bus_message_append(reply, "s", s ? s : "?");
	free(v);
	return r;
}

int control_prop_pair_t(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	struct control_pair *x = userdata;
	struct control *c = x->conn->ctl;
	const struct engine_pair_snapshot *ps = control_pair_snap(c, x->pair);
	const struct stream_stats *st = &ps->stream;
	uint64_t v = 0;

	if (ps->is_asha) {
		/* ASHA: no presentation delay of ours; the latency is the
		 * aids' RenderDelay, the queue and G.722; frames are slots. */
		if (strcmp(prop, "LatencyUs") == 0 ||
		    strcmp(prop, "DelayUs") == 0 ||
		    strcmp(prop, "DelayTargetUs") == 0) {
			v = ps->asha.latency_ns / NSEC_PER_USEC;
		} else if (strcmp(prop, "Frames") == 0) {
			v = ps->asha.slots;
		} else if (strcmp(prop, "LateTicks") == 0) {
			v = ps->asha.late_slots;
		}
		return sd_bus_message_append(reply, "t", v);
	}
	if (strcmp(prop, "DelayUs") == 0) {
		v = st->delay_ns / NSEC_PER_USEC;
	} else if (strcmp(prop, "DelayTargetUs") == 0) {
		v = st->delay_target_ns / NSEC_PER_USEC;
	} else if (strcmp(prop, "LatencyUs") == 0) {
		v = st->latency_ns / NSEC_PER_USEC;
	} else if (strcmp(prop, "Frames") == 0) {
		v = st->ticks;
	} else if (strcmp(prop, "LateTicks") == 0) {
		v = st->late_ticks;
	} else {
		struct conf *cv = pair_view(c, x->pair);

		if (!cv) {
			return -ENOMEM;
		}
		if (strcmp(prop, "DelayMinUs") == 0) {
			v = cv->stream.delay_min_ns / NSEC_PER_USEC;
		} else if (strcmp(prop, "DelayMaxUs") == 0) {
			v = cv->stream.delay_max_ns / NSEC_PER_USEC;
		}
		free(cv);
	}
	return sd_bus_message_append(reply, "t", v);
}

/* ---- org.ttws.Ear1 properties ------------------------------------------- */

/* The ear's part of the snapshot, and its link's configuration. */
static const struct engine_ear *ear_of(void *userdata, enum conf_ear *ret,
				       const struct conf_link **ret_cf,
				       uint64_t *ret_skipped)
{
	struct control_ear *x = userdata;
	struct control *c = x->conn->ctl;
	const struct engine_pair_snapshot *ps = control_pair_snap(c, x->pair);
	const struct conf_link *cf =
		conf_pair_link(reconf_running(c->host.reconf), x->pair, x->ear);

	*ret = x->ear;
	if (ret_cf) {
		*ret_cf = cf;
	}
	if (ret_skipped) {
		*ret_skipped = ps->stream.skipped[x->ear];
	}
	return &ps->ear[x->ear];
}

int control_prop_ear_str(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	struct control_ear *x = userdata;
	const struct engine_pair_snapshot *ps =
		control_pair_snap(x->conn->ctl, x->pair);
	const struct conf_link *cf;
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e, &cf, NULL);
	const char *v = "?";

	if (ps->is_asha && strcmp(prop, "Transport") != 0) {
		/* An ASHA aid: its state; no servo (nothing of its clock is
		 * known: ASHA aligns the ears by sequence number only). */
		v = strcmp(prop, "State") == 0 ?
			    ashaear_state_name(ps->asha.ear[e].state) :
			    "none";
		return sd_bus_message_append(reply, "s", v);
	}
	if (strcmp(prop, "State") == 0) {
		v = link_state_name(s->link.state);
	} else if (strcmp(prop, "Transport") == 0) {
		v = cf ? conf_transport_name(cf->transport) : "none";
	} else if (strcmp(prop, "ServoState") == 0) {
		v = servo_state_name(s->servo.state);
	}
	return sd_bus_message_append(reply, "s", v ? v : "?");
}

int control_prop_ear_x(sd_bus *bus, const char *path, const char *iface,
		      const char *prop, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e, NULL, NULL);
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

int control_prop_ear_t(sd_bus *bus, const char *path, const char *iface,
		      const char *prop, sd_bus_message *reply, void *userdata,
		      sd_bus_error *error)
{
	struct control_ear *x = userdata;
	const struct engine_pair_snapshot *ps =
		control_pair_snap(x->conn->ctl, x->pair);
	enum conf_ear e;
	uint64_t skipped;
	const struct engine_ear *s = ear_of(userdata, &e, NULL, &skipped);
	uint64_t v = 0;

	if (ps->is_asha) {
		const struct ashaear_stats *a = &ps->asha.ear[e];

		if (strcmp(prop, "FramesSent") == 0) {
			v = a->sdus_sent;
		} else if (strcmp(prop, "FramesLost") == 0) {
			v = a->tx_full;
		} else if (strcmp(prop, "Reconnects") == 0) {
			v = a->connects > 0 ? a->connects - 1 : 0;
		}
		return sd_bus_message_append(reply, "t", v);
	}
	if (strcmp(prop, "FramesSent") == 0) {
		v = s->link.frames_sent;
	} else if (strcmp(prop, "FramesLate") == 0) {
		v = s->link.ear_late;
	} else if (strcmp(prop, "FramesLost") == 0) {
		v = skipped + s->link.send_errors;
	} else if (strcmp(prop, "Reconnects") == 0) {
		v = control_reconnects(&s->link);
	}
	return sd_bus_message_append(reply, "t", v);
}

int control_prop_battery(sd_bus *bus, const char *path, const char *iface,
			const char *prop, sd_bus_message *reply,
			void *userdata, sd_bus_error *error)
{
	const struct conf_link *cf;
	enum conf_ear e;
	const struct engine_ear *s = ear_of(userdata, &e, &cf, NULL);

	/* An ear without a link has no battery to report: unknown. */
	return sd_bus_message_append(reply, "y",
				     !cf || cf->transport ==
						    CONF_TRANSPORT_NONE ?
					     0xff :
					     s->link.battery_pct);
}
