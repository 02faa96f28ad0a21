/* SPDX-License-Identifier: MIT */
/*
 * The per-ear families (ear="left"/"right", and pair="NAME" with
 * [pair.NAME] sections; none for an ear whose transport is none) and the
 * per-dongle ones (path="/dev/tty..."), for metrics_write_as() in
 * metrics.c; and the pairs both read.
 */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/macro.h"
#include "core/proto.h"
#include "core/servo.h"
#include "daemon/metrics_private.h"
#include "daemon/omtext.h"

unsigned metrics_pairs(const struct metrics_input *in,
		       struct metrics_pair ret[CONF_MAX_PAIRS])
{
	const struct engine_snapshot *s = in->snap;
	unsigned i, n = 1;

	if (s->n_pairs) {
		n = MIN(MIN(s->n_pairs, conf_n_pairs(in->conf)),
			(unsigned)CONF_MAX_PAIRS);
	}
	for (i = 0; i < n; i++) {
		ret[i] = (struct metrics_pair){
		    .index = i,
		    /* The old form's one pair keeps its label-less series. */
		    .name = in->conf->n_pairs ? conf_pair_name(in->conf, i)
					      : NULL,
		    .ear = s->n_pairs ? s->pairs[i].ear : s->ear,
		    .stream = s->n_pairs ? &s->pairs[i].stream : &s->stream,
		    .pw = i ? in->pair_pw[i] : in->pw,
		    .asha = s->n_pairs && s->pairs[i].is_asha ?
				    &s->pairs[i].asha :
				    NULL,
		};
	}
	return n;
}

size_t metrics_ear_labels(const struct metrics_pair *p, unsigned e,
			  struct omtext_label *l)
{
	size_t n = 0;

	if (p->name) {
		l[n++] = (struct omtext_label){"pair", p->name};
	}
	l[n++] = (struct omtext_label){"ear", conf_ear_name(e)};
	return n;
}

bool metrics_ear_on(const struct metrics_input *in,
		    const struct metrics_pair *p, unsigned e)
{
	const struct conf_link *l = conf_pair_link(in->conf, p->index, e);

	/* An ASHA aid has no link of ttws-link's: its own families. */
	return l && l->transport != CONF_TRANSPORT_NONE && !p->asha;
}

static void metrics_ear_states(struct omtext *w, const struct metrics_input *in,
			       const struct metrics_pair *pairs, unsigned np)
{
	static const struct omtext_family link = {
	    "ttws_link_state", OMTEXT_STATESET, "", "Link state"};
	static const struct omtext_family servo = {
	    "ttws_servo_state", OMTEXT_STATESET, "", "Clock servo state"};
	/* LINK_ST_STREAMING is the last state. */
	const char *ls[LINK_ST_STREAMING + 1], *ss[8];
	struct omtext_label l[2];
	size_t nl, ns = 0, st, n;
	unsigned e, p;

	for (nl = 0; nl < ARRAY_SIZE(ls); nl++) {
		ls[nl] = link_state_name((enum link_state)nl);
	}
	while (ns < ARRAY_SIZE(ss) && servo_state_name((enum servo_state)ns)) {
		ss[ns] = servo_state_name((enum servo_state)ns);
		ns++;
	}
	for (p = 0; p < np; p++) {
		for (e = 0; e < CONF_N_EARS; e++) {
			n = metrics_ear_labels(&pairs[p], e, l);
			st = pairs[p].ear[e].link.state;
			if (metrics_ear_on(in, &pairs[p], e) && st < nl) {
				omtext_stateset(w, &link, l, n, ls, nl, st);
			}
		}
	}
	for (p = 0; p < np; p++) {
		for (e = 0; e < CONF_N_EARS; e++) {
			n = metrics_ear_labels(&pairs[p], e, l);
			st = pairs[p].ear[e].servo.state;
			if (metrics_ear_on(in, &pairs[p], e) && st < ns) {
				omtext_stateset(w, &servo, l, n, ss, ns, st);
			}
		}
	}
}

enum metrics_ear_counter {
	EC_FRAMES_SENT,
	EC_FRAMES_LOST,
	EC_FRAMES_LATE,
	EC_UNDERRUNS,
	EC_CONNECTS,
	EC_CONNECT_FAILS,
	EC_DISCONNECTS,
	EC_HELLO_TIMEOUTS,
	EC_SEND_ERRORS,
	EC_SYNC_SENT,
	EC_SYNC_SAMPLES,
	EC_SYNC_LOST,
	EC_REPORTS,
	EC_UNEXPECTED,
	EC_OUT_OF_RANGE,
	EC_SERVO_SAMPLES,
	EC_SERVO_REJECTED,
	EC_SERVO_STEPS,
	EC_N,
};

#define C(name, help)                                                          \
	{                                                                      \
		name, OMTEXT_COUNTER, "", help                                 \
	}
static const struct omtext_family metrics_ear_counters[EC_N] = {
    [EC_FRAMES_SENT] = C("ttws_link_frames_sent", "AUDIO frames sent"),
    [EC_FRAMES_LOST] = C("ttws_link_frames_lost",
			 "Frames not delivered: ear not ready, or send failed"),
    [EC_FRAMES_LATE] =
	C("ttws_ear_frames_late", "Frames the earbud reported late"),
    [EC_UNDERRUNS] =
	C("ttws_ear_underruns", "Output underruns the earbud reported"),
    [EC_CONNECTS] = C("ttws_link_connects",
		      "Successful connects; reconnects are connects - 1"),
    [EC_CONNECT_FAILS] = C("ttws_link_connect_failures", "Failed connects"),
    [EC_DISCONNECTS] = C("ttws_link_disconnects", "Disconnects"),
    [EC_HELLO_TIMEOUTS] =
	C("ttws_link_hello_timeouts", "HELLO exchanges that timed out"),
    [EC_SEND_ERRORS] = C("ttws_link_send_errors", "Link sends that failed"),
    [EC_SYNC_SENT] = C("ttws_link_sync_requests", "Timing exchanges started"),
    [EC_SYNC_SAMPLES] = C("ttws_link_sync_samples",
			  "Timing exchanges completed and fed to the servo"),
    [EC_SYNC_LOST] =
	C("ttws_link_sync_lost", "Timing exchanges never completed"),
    [EC_REPORTS] = C("ttws_link_render_reports", "RENDER_REPORTs received"),
    [EC_UNEXPECTED] = C("ttws_link_unexpected_messages",
			"Well-formed messages wrong for the link state"),
    [EC_OUT_OF_RANGE] = C("ttws_link_out_of_range_messages",
			  "Messages with a value out of its range, dropped"),
    [EC_SERVO_SAMPLES] =
	C("ttws_servo_samples", "Timing samples the servo accepted"),
    [EC_SERVO_REJECTED] =
	C("ttws_servo_rejected_samples", "Timing samples the servo gated out"),
    [EC_SERVO_STEPS] = C("ttws_servo_steps", "Servo resynchronisations"),
};
#undef C

static void metrics_ear_counter_values(const struct metrics_pair *p,
				       unsigned e, uint64_t v[EC_N])
{
	const struct link_stats *l = &p->ear[e].link;
	const struct servo_status *sv = &p->ear[e].servo;

	v[EC_FRAMES_SENT] = l->frames_sent;
	/* As the D-Bus FramesLost property counts them. */
	v[EC_FRAMES_LOST] = p->stream->skipped[e] + l->send_errors;
	v[EC_FRAMES_LATE] = l->ear_late;
	v[EC_UNDERRUNS] = l->ear_underruns;
	v[EC_CONNECTS] = l->connects;
	v[EC_CONNECT_FAILS] = l->connect_fails;
	v[EC_DISCONNECTS] = l->disconnects;
	v[EC_HELLO_TIMEOUTS] = l->hello_timeouts;
	v[EC_SEND_ERRORS] = l->send_errors;
	v[EC_SYNC_SENT] = l->sync_sent;
	v[EC_SYNC_SAMPLES] = l->sync_samples;
	v[EC_SYNC_LOST] = l->sync_lost;
	v[EC_REPORTS] = l->reports;
	v[EC_UNEXPECTED] = l->unexpected;
	v[EC_OUT_OF_RANGE] = l->out_of_range;
	v[EC_SERVO_SAMPLES] = sv->samples;
	v[EC_SERVO_REJECTED] = sv->rejected;
	v[EC_SERVO_STEPS] = sv->steps;
}

enum metrics_ear_gauge {
	EG_OFFSET,
	EG_OFFSET_SD,
	EG_RATE,
	EG_RESIDUAL,
	EG_BATTERY,
	EG_BUFFER,
	EG_CI,
	EG_N,
};

#define G(name, unit, help)                                                    \
	{                                                                      \
		name, OMTEXT_GAUGE, unit, help                                 \
	}
static const struct omtext_family metrics_ear_gauges[EG_N] = {
    [EG_OFFSET] = G("ttws_servo_offset_seconds", "seconds",
		    "Earbud minus host clock at the servo's model origin"),
    [EG_OFFSET_SD] = G("ttws_servo_offset_sd_seconds", "seconds",
		       "Servo's standard error of the offset, 0 if unlocked"),
    [EG_RATE] = G("ttws_servo_rate_error_ratio", "ratio",
		  "Earbud clock rate error, d ear / d host - 1"),
    [EG_RESIDUAL] = G("ttws_servo_last_residual_seconds", "seconds",
		      "Newest timing sample's disagreement with the model"),
    [EG_BATTERY] = G("ttws_ear_battery_ratio", "ratio",
		     "Earbud battery charge; absent while unknown"),
    [EG_BUFFER] =
	G("ttws_ear_buffer_frames", "frames", "Frames buffered at the earbud"),
    [EG_CI] = G("ttws_link_connection_interval_seconds", "seconds",
		"Bluetooth connection interval"),
};
#undef G

/* NAN: no sample. */
static void metrics_ear_gauge_values(const struct metrics_pair *p, unsigned e,
				     double v[EG_N])
{
	const struct link_stats *l = &p->ear[e].link;
	const struct servo_status *sv = &p->ear[e].servo;

	v[EG_OFFSET] = metrics_ns_to_s(sv->offset_ns);
	v[EG_OFFSET_SD] = metrics_ns_to_s((int64_t)sv->offset_sd_ns);
	v[EG_RATE] = (double)sv->rate_ppb / 1e9;
	v[EG_RESIDUAL] = metrics_ns_to_s(sv->last_residual_ns);
	/* 255 = unknown (ttws-link(7), STATUS). */
	v[EG_BATTERY] = l->battery_pct <= 100 ? l->battery_pct / 100.0 : NAN;
	v[EG_BUFFER] = l->ear_buffer;
	v[EG_CI] = (double)l->ci_us / 1e6;
}

/*
 * Decode error names by counter index. proto.h maps an errno to both but
 * not an index back, so every errno is looked up rather than the table
 * copied (status.c's copy has to be kept in step by hand).
 */
static void metrics_proto_error_names(const char *ret[PROTO_N_ERRORS])
{
	int err, i;

	for (i = 0; i < PROTO_N_ERRORS; i++) {
		ret[i] = NULL;
	}
	for (err = 1; err < 4096; err++) {
		i = proto_error_index(-err);
		if (i >= 0 && i < PROTO_N_ERRORS) {
			ret[i] = proto_error_name(-err);
		}
	}
}

void metrics_ears(struct omtext *w, const struct metrics_input *in)
{
	static const struct omtext_family malformed = {
	    "ttws_link_malformed_messages", OMTEXT_COUNTER, "",
	    "Messages that failed to decode, by decode error"};
	struct metrics_pair pairs[CONF_MAX_PAIRS];
	uint64_t cv[CONF_MAX_PAIRS][CONF_N_EARS][EC_N];
	double gv[CONF_MAX_PAIRS][CONF_N_EARS][EG_N];
	const char *kinds[PROTO_N_ERRORS];
	struct omtext_label l[3];
	unsigned e, k, p, np = metrics_pairs(in, pairs);
	size_t n;

	for (p = 0; p < np; p++) {
		for (e = 0; e < CONF_N_EARS; e++) {
			metrics_ear_counter_values(&pairs[p], e, cv[p][e]);
			metrics_ear_gauge_values(&pairs[p], e, gv[p][e]);
		}
	}
	metrics_ear_states(w, in, pairs, np);
	/* Family by family: neither format lets families interleave. */
	for (k = 0; k < EC_N; k++) {
		for (p = 0; p < np; p++) {
			for (e = 0; e < CONF_N_EARS; e++) {
				n = metrics_ear_labels(&pairs[p], e, l);
				if (metrics_ear_on(in, &pairs[p], e)) {
					omtext_u64(w, &metrics_ear_counters[k],
						   l, n, cv[p][e][k]);
				}
			}
		}
	}
	metrics_proto_error_names(kinds);
	for (p = 0; p < np; p++) {
		for (e = 0; e < CONF_N_EARS; e++) {
			const struct link_stats *ls = &pairs[p].ear[e].link;

			n = metrics_ear_labels(&pairs[p], e, l);
			for (k = 0; k < PROTO_N_ERRORS &&
				    metrics_ear_on(in, &pairs[p], e);
			     k++) {
				if ((l[n].value = kinds[k])) {
					l[n].name = "kind";
					omtext_u64(w, &malformed, l, n + 1,
						   ls->malformed[k]);
				}
			}
		}
	}
	for (k = 0; k < EG_N; k++) {
		for (p = 0; p < np; p++) {
			for (e = 0; e < CONF_N_EARS; e++) {
				n = metrics_ear_labels(&pairs[p], e, l);
				if (metrics_ear_on(in, &pairs[p], e) &&
				    !isnan(gv[p][e][k])) {
					omtext_f64(w, &metrics_ear_gauges[k], l,
						   n, gv[p][e][k]);
				}
			}
		}
	}
}

#define D(field, name, unit, help)                                             \
	METRICS_FIELD(struct dongle_stats, field, name, unit, help)
static const struct metrics_field metrics_dongle[] = {
    D(opens, "ttws_dongle_opens", "", "Dongle opened and set up"),
    D(open_fails, "ttws_dongle_open_failures", "", "Failed opens or set-ups"),
    D(losses, "ttws_dongle_losses", "", "Dongle lost while open"),
    D(h4_resyncs, "ttws_dongle_h4_resyncs", "",
      "H4 framing resynchronisations"),
    D(h4_bytes_skipped, "ttws_dongle_h4_skipped_bytes", "bytes",
      "Bytes skipped to find H4 framing again"),
    D(evt_errors, "ttws_dongle_event_errors", "", "Malformed HCI events"),
    D(acl_errors, "ttws_dongle_acl_errors", "", "Malformed ACL packets"),
    D(l2cap_errors, "ttws_dongle_l2cap_errors", "", "L2CAP errors"),
    D(cmd_timeouts, "ttws_dongle_command_timeouts", "", "HCI command timeouts"),
    D(trace_drops, "ttws_dongle_capture_drops", "",
      "Packets the btsnoop capture ring dropped"),
    D(hardware_errors, "ttws_dongle_hardware_errors", "",
      "Hardware Error events (the controller is reset and reopened)"),
    D(pairings, "ttws_dongle_pairings", "", "LE Secure Connections pairings"),
    D(pairing_failures, "ttws_dongle_pairing_failures", "",
      "Pairings that failed (the next two among them)"),
    D(smp_timeouts, "ttws_dongle_smp_timeouts", "",
      "Security Manager procedures that timed out (30 s)"),
    D(bad_public_keys, "ttws_dongle_bad_public_keys", "",
      "Peer public keys refused (off the curve, the debug key, ours)"),
    D(smp_errors, "ttws_dongle_smp_errors", "",
      "Malformed or unexpected Security Manager PDUs"),
    D(encryptions, "ttws_dongle_encryptions", "",
      "Links encrypted (Encryption Change, success)"),
    D(encrypt_failures, "ttws_dongle_encryption_failures", "",
      "Encryption Change failures"),
    D(key_missing, "ttws_dongle_key_missing", "",
      "Peers that had lost the bond (PIN or Key Missing)"),
    D(unencrypted_refusals, "ttws_dongle_unencrypted_refusals", "",
      "L2CAP requests refused on links not encrypted"),
    D(bonds_loaded, "ttws_dongle_bonds_loaded", "",
      "Bond files loaded at start"),
    D(bonds_corrupt, "ttws_dongle_bonds_corrupt", "",
      "Bond files found invalid and ignored"),
    D(bonds_saved, "ttws_dongle_bonds_saved", "", "Bond files written"),
    D(bond_save_errors, "ttws_dongle_bond_save_errors", "",
      "Bond files that could not be written"),
};
#undef D

void metrics_dongles(struct omtext *w, const struct metrics_input *in)
{
	static const struct omtext_family open = {
	    "ttws_dongle_open", OMTEXT_GAUGE, "",
	    "1: the dongle's tty is open and its controller set up"};
	static const struct omtext_family line = {
	    "ttws_dongle_line_errors", OMTEXT_COUNTER, "",
	    "UART line errors (TIOCGICOUNT) by kind"};
	static const char *const kinds[] = {"frame", "overrun", "parity",
					    "break", "buffer_overrun"};
	const struct engine_snapshot *s = in->snap;
	unsigned n = MIN(s->n_dongles, (unsigned)ENGINE_MAX_DONGLES), i, k;
	struct omtext_label l[2] = {{"path", NULL}, {"kind", NULL}};

	for (i = 0; i < n; i++) {
		if ((l[0].value = in->dongle_path[i])) {
			omtext_u64(w, &open, l, 1, s->dongle[i].open);
		}
	}
	for (k = 0; k < ARRAY_SIZE(metrics_dongle); k++) {
		for (i = 0; i < n; i++) {
			if ((l[0].value = in->dongle_path[i])) {
				metrics_fields(w, &metrics_dongle[k], 1,
					       &s->dongle[i], l, 1);
			}
		}
	}
	for (i = 0; i < n; i++) {
		const struct dongle_stats *d = &s->dongle[i];
		const uint64_t v[ARRAY_SIZE(kinds)] = {
		    d->line_frame, d->line_overrun, d->line_parity, d->line_brk,
		    d->line_buf_overrun};

		/* Drivers without TIOCGICOUNT (a pty) have no such series. */
		l[0].value = in->dongle_path[i];
		for (k = 0;
		     l[0].value && d->icount_available && k < ARRAY_SIZE(kinds);
		     k++) {
			l[1].value = kinds[k];
			omtext_u64(w, &line, l, 2, v[k]);
		}
	}
}
