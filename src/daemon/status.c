/* SPDX-License-Identifier: MIT */
#include "daemon/status.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/macro.h"
#include "core/proto.h"
#include "daemon/bounds.h"
#include "daemon/log.h"
#include "daemon/notify.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

/* The decode errors of core/proto, for labelled counters. */
/* A JSON string: quotes, backslashes and control characters escaped. */
static void status_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			fprintf(f, "\\%c", ch);
		} else if (ch < 0x20) {
			fprintf(f, "\\u%04x", ch);
		} else {
			fputc(ch, f);
		}
	}
	fputc('"', f);
}

/* One histogram (ns) as a percentile table in us. */
static void status_hist_json(FILE *f, const char *name, const struct hist *h)
{
	struct hist_summary s;

	status_str(f, name);
	if (hist_summarize(h, &s) < 0) {
		fprintf(f, ":{\"count\":0}");
		return;
	}
	fprintf(f,
		":{\"count\":%" PRIu64 ",\"min_us\":%.3f,\"p50_us\":%.3f"
		",\"p90_us\":%.3f,\"p99_us\":%.3f,\"p999_us\":%.3f"
		",\"max_us\":%.3f,\"mean_us\":%.3f}",
		s.count, (double)s.min / 1e3, (double)s.p50 / 1e3,
		(double)s.p90 / 1e3, (double)s.p99 / 1e3,
		(double)s.p999 / 1e3, (double)s.max / 1e3, s.mean / 1e3);
}

/* The ear histograms of pair: ",\"left\":{...},\"right\":{...}". */
static void status_ear_hists_json(FILE *f, struct engine *e,
				  const struct conf *c, unsigned pair,
				  struct hist *h)
{
	unsigned ear, id;

	for (ear = 0; ear < CONF_N_EARS; ear++) {
		if (conf_pair_link(c, pair, ear)->transport ==
		    CONF_TRANSPORT_NONE) {
			continue;
		}
		fprintf(f, ",\"%s\":{", conf_ear_name(ear));
		for (id = 0; id < ENGINE_N_EAR_HISTS; id++) {
			if (engine_pair_hist_get(e, pair, ear, id, h) == 0) {
				fprintf(f, "%s", id ? "," : "");
				status_hist_json(f, engine_ear_hist_name(id),
						 h);
			}
		}
		fprintf(f, "}");
	}
}

static void status_hists_json(FILE *f, struct engine *e,
			      const struct conf *c)
{
	struct hist *h = malloc(sizeof(*h)); /* ~30 KiB: not on the stack */
	unsigned id;

	if (!h) {
		return;
	}
	fprintf(f, ",\"histograms\":{");
	for (id = 0; id < ENGINE_N_GLOBAL_HISTS; id++) {
		if (engine_hist_get(e, CONF_N_EARS, id, h) == 0) {
			fprintf(f, "%s", id ? "," : "");
			status_hist_json(f, engine_global_hist_name(id), h);
		}
	}
	status_ear_hists_json(f, e, c, 0, h);
	fprintf(f, "}");
	free(h);
}

/* Send stamps of one kind: count and send() -> stamp delay, us. */
static void status_tx_lat_json(FILE *f, const char *name,
			       const struct link_tx_lat *t)
{
	fprintf(f, "\"%s\":{\"stamps\":%" PRIu64, name, t->stamps);
	if (t->timed) {
		fprintf(f, ",\"mean_us\":%.1f,\"min_us\":%.1f,\"max_us\":%.1f",
			(double)t->sum_ns / (double)t->timed / 1e3,
			(double)t->min_ns / 1e3, (double)t->max_ns / 1e3);
	}
	fprintf(f, "},");
}

static void status_servo_json(FILE *f, const char *key,
			      const struct servo_status *s)
{
	fprintf(f,
		"\"%s\":{\"state\":\"%s\",\"offset_ns\":%" PRId64
		",\"rate_ppb\":%" PRId64 ",\"samples\":%" PRIu64
		",\"rejected\":%" PRIu64 ",\"steps\":%" PRIu64
		",\"last_residual_ns\":%" PRId64 "}",
		key, servo_state_name(s->state), s->offset_ns, s->rate_ppb,
		s->samples, s->rejected, s->steps, s->last_residual_ns);
}

/*
 * The PipeWire path: the RT thread's side (framing, pacing, hand-over)
 * from the snapshot, the node's side (data thread) from the sink.
 */
static void status_pw_json(FILE *f, const struct stream_stats *st,
			   const struct pw_sink_stats *pw, uint64_t now_ns)
{
	fprintf(f,
		"\"pipewire\":{\"quanta\":%" PRIu64 ",\"underruns\":%" PRIu64
		",\"discont_frames\":%" PRIu64 ",\"no_clock_frames\":%" PRIu64
		",\"bad_records\":%" PRIu64 ",\"triggers\":%" PRIu64
		",\"idle_ticks\":%" PRIu64 ",\"driving\":%s"
		",\"rate_diff\":%.9f,\"ring_bytes\":%" PRIu64
		",\"ring_max_bytes\":%" PRIu64
		",\"handoff_us\":{\"count\":%" PRIu64
		",\"p50\":%.1f,\"p99\":%.1f,\"max\":%.1f}",
		st->pw_quanta, st->pw_underruns, st->pw_discont,
		st->pw_no_clock, st->pw_bad_records, st->pw_triggers,
		st->pw_idle_ticks, st->driving ? "true" : "false",
		st->rate_diff, st->ring_bytes, st->ring_max_bytes,
		st->handoff_count, (double)st->handoff_p50_ns / 1e3,
		(double)st->handoff_p99_ns / 1e3,
		(double)st->handoff_max_ns / 1e3);
#if HAVE_PIPEWIRE
	if (pw) {
		fprintf(f,
			",\"sink\":{\"node_id\":%u,\"streaming\":%s"
			",\"driving\":%s,\"error\":%s,\"quantum\":%u"
			",\"latency_ns\":%" PRIu64 ",\"process_calls\":%" PRIu64
			",\"quanta\":%" PRIu64 ",\"samples\":%" PRIu64
			",\"overruns\":%" PRIu64 ",\"overrun_samples\":%" PRIu64
			",\"underruns\":%" PRIu64 ",\"oversize\":%" PRIu64
			",\"triggers\":%" PRIu64 ",\"triggers_idle\":%" PRIu64
			",\"cycles\":%" PRIu64 ",\"late_cycles\":%" PRIu64
			",\"dropped\":%" PRIu64 ",\"stuck\":%" PRIu64
			",\"trigger_errors\":%" PRIu64,
			pw->node_id, pw->streaming ? "true" : "false",
			pw->driving ? "true" : "false",
			pw->error ? "true" : "false", pw->quantum,
			pw->latency_ns, pw->process_calls, pw->quanta,
			pw->samples, pw->overruns, pw->overrun_samples,
			pw->underruns, pw->oversize, pw->triggers,
			pw->triggers_idle, pw->cycles, pw->late_cycles,
			pw->dropped, pw->stuck, pw->trigger_errors);
		/* PipeWire gone and back (src/pw/sink_reconnect.c). */
		fprintf(f,
			",\"registered\":%s,\"gone\":%s,\"gone_for_s\":%.1f"
			",\"disconnects\":%" PRIu64 ",\"reconnects\":%" PRIu64
			",\"connect_attempts\":%" PRIu64
			",\"last_connect_error\":%d}",
			pw->registered ? "true" : "false",
			pw->gone_since_ns ? "true" : "false",
			pw->gone_since_ns && now_ns > pw->gone_since_ns ?
				(double)(now_ns - pw->gone_since_ns) / 1e9 :
				0.0,
			pw->disconnects, pw->reconnects, pw->connect_attempts,
			pw->last_connect_error);
	}
#endif
	fprintf(f, "},");
}

/*
 * A dongle's Security Manager and bonds (core/hcihost_sec, dongle_keys):
 * ",\"hardware_errors\":N,\"security\":{...}", counters since start (or
 * the last statistics reset); "encrypted" is each ear's link right now.
 */
static void status_dongle_security_json(FILE *f, const struct dongle_stats *d)
{
	fprintf(f,
		",\"hardware_errors\":%" PRIu64 ",\"security\":{"
		"\"pairings\":%" PRIu64 ",\"pairing_failures\":%" PRIu64
		",\"smp_timeouts\":%" PRIu64 ",\"bad_public_keys\":%" PRIu64
		",\"smp_errors\":%" PRIu64 ",\"encryptions\":%" PRIu64
		",\"encrypt_failures\":%" PRIu64 ",\"key_missing\":%" PRIu64
		",\"unencrypted_refusals\":%" PRIu64
		",\"encrypted\":{\"left\":%s,\"right\":%s}"
		",\"bonds\":{\"loaded\":%" PRIu64 ",\"corrupt\":%" PRIu64
		",\"saved\":%" PRIu64 ",\"save_errors\":%" PRIu64 "}}",
		d->hardware_errors, d->pairings, d->pairing_failures,
		d->smp_timeouts, d->bad_public_keys, d->smp_errors,
		d->encryptions, d->encrypt_failures, d->key_missing,
		d->unencrypted_refusals,
		d->encrypted[CONF_EAR_LEFT] ? "true" : "false",
		d->encrypted[CONF_EAR_RIGHT] ? "true" : "false", d->bonds_loaded,
		d->bonds_corrupt, d->bonds_saved, d->bond_save_errors);
}

/* hci-uart dongles, in the order the engine made them: one per distinct
 * tty, by pair and ear. */
static void status_dongles_json(FILE *f, const struct engine_snapshot *s,
				const struct conf *c)
{
	const char *paths[ENGINE_MAX_DONGLES];
	unsigned e, k, n = 0;

	for (e = 0; e < conf_n_pairs(c) * CONF_N_EARS; e++) {
		const struct conf_link *cl =
			conf_pair_link(c, e / CONF_N_EARS, e % CONF_N_EARS);

		if (cl->transport != CONF_TRANSPORT_HCI_UART) {
			continue;
		}
		for (k = 0; k < n && strcmp(paths[k], cl->path); k++) {
		}
		if (k == n && n < ENGINE_MAX_DONGLES) {
			paths[n++] = cl->path;
		}
	}
	fprintf(f, ",\"dongles\":[");
	for (k = 0; k < n && k < s->n_dongles; k++) {
		const struct dongle_stats *d = &s->dongle[k];

		fprintf(f,
			"%s{\"path\":\"%s\",\"open\":%s,\"opens\":%" PRIu64
			",\"open_fails\":%" PRIu64 ",\"losses\":%" PRIu64
			",\"h4_resyncs\":%" PRIu64
			",\"h4_bytes_skipped\":%" PRIu64
			",\"evt_errors\":%" PRIu64 ",\"acl_errors\":%" PRIu64
			",\"l2cap_errors\":%" PRIu64
			",\"cmd_timeouts\":%" PRIu64
			",\"line\":{\"available\":%s,\"frame\":%" PRIu64
			",\"overrun\":%" PRIu64 ",\"parity\":%" PRIu64
			",\"brk\":%" PRIu64 ",\"buf_overrun\":%" PRIu64 "}",
			k ? "," : "", paths[k], d->open ? "true" : "false",
			d->opens, d->open_fails, d->losses, d->h4_resyncs,
			d->h4_bytes_skipped, d->evt_errors, d->acl_errors,
			d->l2cap_errors, d->cmd_timeouts,
			d->icount_available ? "true" : "false", d->line_frame,
			d->line_overrun, d->line_parity, d->line_brk,
			d->line_buf_overrun);
		status_dongle_security_json(f, d);
		fprintf(f,
			",\"att\":{\"tx\":%" PRIu64 ",\"rx\":%" PRIu64
			",\"queue_full\":%" PRIu64 ",\"oversize\":%" PRIu64
			",\"early\":%" PRIu64 "},\"sdus_flushed\":%" PRIu64,
			d->att_tx, d->att_rx, d->att_queue_full,
			d->att_oversize, d->att_early, d->sdus_flushed);
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

/*
 * "bounds": every queue and buffer's bound and what hit it since start
 * (daemon/bounds.h), one object per bound in a fixed order; "bound" is
 * null where it is set elsewhere at run time, "high_water" only for the
 * rings.
 */
static void status_bounds_json(FILE *f)
{
	struct bounds_table t;
	unsigned i;

	bounds_take(&t);
	fprintf(f, ",\"bounds\":[");
	for (i = 0; i < BOUNDS_N; i++) {
		const struct bounds_row *r = &t.row[i];

		fprintf(f,
			"%s{\"queue\":\"%s\",\"where\":\"%s\""
			",\"unit\":\"%s\",\"policy\":\"%s\",\"bound\":",
			i ? "," : "", r->name, r->where, r->unit,
			bounds_policy_name(r->policy));
		if (r->bound) {
			fprintf(f, "%" PRIu64, r->bound);
		} else {
			fprintf(f, "null");
		}
		fprintf(f, ",\"overflows\":%" PRIu64, r->overflows);
		if (r->has_high_water) {
			fprintf(f, ",\"high_water\":%" PRIu64, r->high_water);
		}
		fprintf(f, "}");
	}
	fprintf(f, "]");
}

static void status_head_json(FILE *f, const struct status_input *in)
{
	const struct conf *c = in->conf;
	char rt[16384];

	fprintf(f, "{\"version\":\"%s\",\"uptime_s\":%.3f,", TTWS_VERSION,
		in->uptime_s);
	fprintf(f, "\"backend\":\"%s\",\"backend_note\":",
		loop_backend_name(in->snap->backend));
	status_str(f, in->backend_note);
	fprintf(f, ",\"config\":{\"file\":");
	status_str(f, in->config_path ? in->config_path : "");
	fprintf(f,
		",\"generation\":%" PRIu64 ",\"estimator\":\"%s\""
		",\"delay_min_us\":%" PRIu64 ",\"delay_max_us\":%" PRIu64
		",\"delay_margin_us\":%" PRIu64 "},",
		in->config_generation, c->servo.estimator,
		c->stream.delay_min_ns / NSEC_PER_USEC,
		c->stream.delay_max_ns / NSEC_PER_USEC,
		c->stream.delay_margin_ns / NSEC_PER_USEC);
	if (in->rt) {
		if (rt_report_format_json(in->rt, rt, sizeof(rt)) >= 0) {
			fprintf(f, "\"rt\":%s,", rt);
		} else {
			/* Left out rather than cut: counted. */
			bounds_count(BOUNDS_REPORT_TEXT, 1);
		}
	}
	if (in->notify) {
		const struct notify *n = in->notify;

		/* What the service manager was told (notify.h). */
		fprintf(f,
			"\"service\":{\"ready\":%s,\"status\":",
			n->ready ? "true" : "false");
		status_str(f, n->status);
		fprintf(f,
			",\"watchdog_usec\":%" PRIu64
			",\"watchdog_pings\":%" PRIu64
			",\"watchdog_withheld\":%" PRIu64 "},",
			n->watchdog_ns / NSEC_PER_USEC, n->pings, n->withheld);
	}
}

/* One ear's link and servos (the objects of "ears"). */
static void status_ear_json(FILE *f, const struct engine_ear *x,
			    const struct conf_link *cl, uint64_t skipped)
{
	const struct link_stats *l = &x->link;
	char battery[8];
	unsigned i;

	/* 255: not reported (yet). */
	if (l->battery_pct > 100) {
		snprintf(battery, sizeof(battery), "null");
	} else {
		snprintf(battery, sizeof(battery), "%u", l->battery_pct);
	}
	fprintf(f, "\"transport\":\"%s\",\"state\":\"%s\",",
		conf_transport_name(cl->transport), link_state_name(l->state));
	fprintf(f,
		"\"connects\":%" PRIu64 ",\"connect_fails\":%" PRIu64
		",\"disconnects\":%" PRIu64
		",\"supervision_timeouts\":%" PRIu64
		",\"frames_sent\":%" PRIu64 ",\"frames_lost\":%" PRIu64
		",\"reports\":%" PRIu64
		",\"not_rendered\":%" PRIu64 ",\"ear_late\":%u"
		",\"ear_underruns\":%u,\"ear_buffer\":%u"
		",\"sync_sent\":%" PRIu64 ",\"sync_samples\":%" PRIu64
		",\"sync_lost\":%" PRIu64 ",\"ci_us\":%u"
		",\"battery_pct\":%s"
		",\"unexpected\":%" PRIu64 ",\"out_of_range\":%" PRIu64
		",\"rx_no_kernel_ts\":%" PRIu64 ",\"bad_resets\":%" PRIu64
		",\"rx_seq_gaps\":%" PRIu64 ",\"rx_seq_late\":%" PRIu64
		",\"malformed\":{",
		l->connects, l->connect_fails, l->disconnects,
		l->supervision_timeouts, l->frames_sent,
		skipped + l->send_errors, l->reports, l->not_rendered,
		l->ear_late, l->ear_underruns, l->ear_buffer, l->sync_sent,
		l->sync_samples, l->sync_lost, l->ci_us, battery,
		l->unexpected, l->out_of_range, l->rx_no_kernel_ts,
		l->bad_resets, l->rx_seq_gaps, l->rx_seq_late);
	/* Every kind a message is dropped for (proto.h: decode errors,
	 * out-of-order, replayed), by name. */
	for (i = 0; i < PROTO_N_ERRORS; i++) {
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "",
			proto_error_name(proto_error_at(i)), l->malformed[i]);
	}
	fprintf(f, "},\"mtu_rx\":%u,\"mtu_tx\":%u,\"tx_completion\":\"%s\",",
		l->mtu_rx, l->mtu_tx, chan_txc_name(l->tx_completion));
	status_tx_lat_json(f, "tx_kernel", &l->tx_kernel);
	status_tx_lat_json(f, "tx_done", &l->tx_done);
	fprintf(f,
		"\"t1_from_done\":%" PRIu64 ",\"t1_done_rejected\":%" PRIu64
		",",
		l->t1_from_done, l->t1_done_rejected);
	status_servo_json(f, "servo", &x->servo);
	fprintf(f, ",");
	status_servo_json(f, "naive", &x->shadow);
}

/* "ears": {"left": {...}, "right": {...}} of pair. */
static void status_ears_json(FILE *f, const struct engine_ear *ears,
			     const struct stream_stats *st,
			     const struct conf *c, unsigned pair)
{
	unsigned e;

	fprintf(f, "\"ears\":{");
	for (e = 0; e < CONF_N_EARS; e++) {
		fprintf(f, "%s\"%s\":{", e ? "," : "", conf_ear_name(e));
		status_ear_json(f, &ears[e], conf_pair_link(c, pair, e),
				st->skipped[e]);
		fprintf(f, "}");
	}
	fprintf(f, "}");
}

/*
 * "pairs": one object per pair, in the engine's order: its name, its
 * PipeWire node (null with source = tone), its stream and presentation
 * delay, and its ears as in "ears" (which, with "stream", describe the
 * first pair).
 */
static void status_pairs_json(FILE *f, const struct status_input *in)
{
	const struct engine_snapshot *s = in->snap;
	const struct conf *c = in->conf;
	unsigned i, n = MIN(s->n_pairs, conf_n_pairs(c));
	/* ~30 KiB: not on the stack */
	struct hist *h = in->engine ? malloc(sizeof(*h)) : NULL;

	fprintf(f, ",\"pairs\":[");
	for (i = 0; i < n; i++) {
		const struct engine_pair_snapshot *p = &s->pairs[i];
		struct conf_key_info ki;
		char key[CONF_NAME_MAX];

		fprintf(f, "%s{\"name\":", i ? "," : "");
		status_str(f, conf_pair_name(c, i));
		fprintf(f, ",\"sink\":");
		if (in->sink_node[i]) {
			status_str(f, in->sink_node[i]);
		} else {
			fprintf(f, "null");
		}
		if (p->is_asha) {
			fprintf(f, ",\"profile\":\"asha\",");
			status_asha_json(f, &p->asha);
			/* Its aids' send -> TX completion histograms. */
			if (in->engine && h) {
				fprintf(f, ",\"histograms\":{\"pair\":");
				status_str(f, conf_pair_name(c, i));
				status_ear_hists_json(f, in->engine, c, i, h);
				fprintf(f, "}");
			}
			fprintf(f, "}");
			continue;
		}
		fprintf(f, ",\"profile\":\"ttws-link\"");
		/* The pair's codec: its own or [stream]'s. */
		snprintf(key, sizeof(key), "pair.%s.codec",
			 conf_pair_name(c, i));
		fprintf(f,
			",\"codec\":\"%s\",\"frames\":%" PRIu64
			",\"late_ticks\":%" PRIu64
			",\"delay_us\":%.1f,\"delay_target_us\":%.1f"
			",\"latency_us\":%.1f,",
			c->n_pairs && conf_get(c, key, &ki) == 0 ?
				ki.value :
				conf_codec_name(c->stream.codec),
			p->stream.ticks, p->stream.late_ticks,
			(double)p->stream.delay_ns / 1e3,
			(double)p->stream.delay_target_ns / 1e3,
			(double)p->stream.latency_ns / 1e3);
		status_ears_json(f, p->ear, &p->stream, c, i);
		/* Its ears' histograms (the top-level "histograms" are the
		 * first pair's and the daemon's). */
		if (in->engine && h) {
			fprintf(f, ",\"histograms\":{\"pair\":");
			status_str(f, conf_pair_name(c, i));
			status_ear_hists_json(f, in->engine, c, i, h);
			fprintf(f, "}");
		}
		fprintf(f, "}");
	}
	fprintf(f, "]");
	free(h);
}

int status_write_json(FILE *f, const struct status_input *in)
{
	const struct engine_snapshot *s = in->snap;
	const struct conf *c = in->conf;

	status_head_json(f, in);
	fprintf(f,
		"\"stream\":{\"source\":\"%s\",\"codec\":\"%s\""
		",\"octets\":[%u,%u],\"frames\":%" PRIu64
		",\"late_ticks\":%" PRIu64 ",\"encode_errors\":%" PRIu64
		",\"delay_us\":%.1f,\"delay_target_us\":%.1f"
		",\"latency_us\":%.1f},",
		conf_source_name(c->stream.source),
		conf_codec_name(c->stream.codec),
		s->stream.octets[CONF_EAR_LEFT],
		s->stream.octets[CONF_EAR_RIGHT],
		s->stream.ticks, s->stream.late_ticks, s->stream.encode_errors,
		(double)s->stream.delay_ns / 1e3,
		(double)s->stream.delay_target_ns / 1e3,
		(double)s->stream.latency_ns / 1e3);
	if (c->stream.source == CONF_SOURCE_PIPEWIRE) {
		status_pw_json(f, &s->stream, in->pw, rt_now_ns());
	}
	fprintf(f,
		"\"loop\":{\"wakeups\":%" PRIu64 ",\"rx\":%" PRIu64
		",\"rx_no_kernel_ts\":%" PRIu64 ",\"tx\":%" PRIu64
		",\"tx_errors\":%" PRIu64 ",\"timers_expired\":%" PRIu64
		",\"tx_stamps\":%" PRIu64 ",\"tx_stamps_unmatched\":%" PRIu64
		",\"errqueue_errors\":%" PRIu64 "},",
		s->loop.wakeups, s->loop.rx, s->loop.rx_no_kernel_ts,
		s->loop.tx, s->loop.tx_errors, s->loop.timers_expired,
		s->loop.tx_stamps, s->loop.tx_stamps_unmatched,
		s->loop.errqueue_errors);
	status_ears_json(f, s->ear, &s->stream, c, 0);
	status_pairs_json(f, in);
	status_dongles_json(f, s, c);
	status_bounds_json(f);
	if (in->engine) {
		status_hists_json(f, in->engine, c);
	}
	fprintf(f, "}\n");
	return ferror(f) ? -EIO : 0;
}

void status_log_summary(const struct engine_snapshot *s,
			const struct conf *c)
{
	unsigned e;

	for (e = 0; e < CONF_N_EARS; e++) {
		const struct engine_ear *x = &s->ear[e];

		if (conf_pair_link(c, 0, e)->transport ==
		    CONF_TRANSPORT_NONE) {
			continue;
		}
		log_info("%s ear: %s, servo %s offset %" PRId64
			 " ns rate %+.3f ppm, %" PRIu64 " frames sent, %" PRIu64
			 " reports, %u late at the earbud, %" PRIu64
			 " reconnects",
			 conf_ear_name(e), link_state_name(x->link.state),
			 servo_state_name(x->servo.state), x->servo.offset_ns,
			 (double)x->servo.rate_ppb / 1000.0,
			 x->link.frames_sent, x->link.reports,
			 x->link.ear_late,
			 x->link.connects ? x->link.connects - 1 : 0);
	}
}
