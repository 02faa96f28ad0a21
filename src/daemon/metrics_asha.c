/* SPDX-License-Identifier: MIT */
/*
 * The ASHA pairs' families (profile = asha), for metrics_write_as() in
 * metrics.c: per pair (pair="NAME" in the pair form) its slots and what
 * the balancing did, the send skew between the aids and the latency it
 * publishes; per aid (ear="left"/"right") its state, its Start answers,
 * its links and its SDUs. The ttws-link ear families have no series for
 * an aid (metrics_ear_on()).
 */
#include <stddef.h>

#include "core/macro.h"
#include "daemon/ashapair.h"
#include "daemon/metrics_private.h"
#include "daemon/omtext.h"

#define P(field, name, help)                                                   \
	METRICS_FIELD(struct ashapair_stats, field, name, "", help)
static const struct metrics_field metrics_asha_pair[] = {
    P(slots, "ttws_asha_slots", "20 ms slots with an aid to send to"),
    P(dropped_slots, "ttws_asha_dropped_slots",
      "Slots the balancing dropped on both aids"),
    P(credit_stalls, "ttws_asha_credit_stalls",
      "SDUs refused: an aid's queue was full"),
    P(mono_slots, "ttws_asha_mono_slots",
      "Slots sent to one aid alone (the downmix)"),
    P(silent_slots, "ttws_asha_silent_slots",
      "Slots with no audio waiting: silence sent"),
    P(late_slots, "ttws_asha_late_slots",
      "Slot clock behind by a whole slot"),
    P(encode_errors, "ttws_asha_encode_errors", "G.722 encode errors"),
    P(pair_mismatches, "ttws_asha_pair_mismatches",
      "Aids refused: not this pair's other side"),
};
#undef P

#define A(field, name, help)                                                   \
	METRICS_FIELD(struct ashaear_stats, field, name, "", help)
static const struct metrics_field metrics_asha_aid[] = {
    A(connects, "ttws_asha_aid_connects", "LE links up"),
    A(disconnects, "ttws_asha_aid_disconnects",
      "Links lost after the aid was ready"),
    A(discoveries, "ttws_asha_aid_discoveries", "GATT discoveries done"),
    A(discovery_failures, "ttws_asha_aid_discovery_failures",
      "GATT discoveries that failed"),
    A(starts, "ttws_asha_aid_starts", "Start writes"),
    A(start_failures, "ttws_asha_aid_start_failures",
      "Starts refused or unanswered"),
    A(start_timeouts, "ttws_asha_aid_start_timeouts",
      "Starts without an AudioStatus in time"),
    A(sdus_sent, "ttws_asha_aid_sdus", "Audio SDUs queued"),
    A(tx_full, "ttws_asha_aid_tx_full", "Audio SDUs refused: queue full"),
    A(att_malformed, "ttws_asha_aid_att_malformed",
      "ATT PDUs from the aid refused"),
};
#undef A

static void metrics_asha_gauges(struct omtext *w,
				const struct ashapair_stats *s,
				const struct omtext_label *l, size_t n)
{
	static const struct omtext_family skew50 = {
	    "ttws_asha_send_skew_p50_seconds", OMTEXT_GAUGE, "seconds",
	    "Median difference between the aids' TX completions of a slot"};
	static const struct omtext_family skew99 = {
	    "ttws_asha_send_skew_p99_seconds", OMTEXT_GAUGE, "seconds",
	    "99th percentile of that difference"};
	static const struct omtext_family skewmax = {
	    "ttws_asha_send_skew_max_seconds", OMTEXT_GAUGE, "seconds",
	    "Largest such difference"};
	static const struct omtext_family latency = {
	    "ttws_asha_latency_seconds", OMTEXT_GAUGE, "seconds",
	    "Aids' RenderDelay + queued frames + G.722, as published"};

	omtext_f64(w, &skew50, l, n, metrics_ns_to_s((int64_t)s->skew_p50_ns));
	omtext_f64(w, &skew99, l, n, metrics_ns_to_s((int64_t)s->skew_p99_ns));
	omtext_f64(w, &skewmax, l, n,
		   metrics_ns_to_s((int64_t)s->skew_max_ns));
	omtext_f64(w, &latency, l, n, metrics_ns_to_s((int64_t)s->latency_ns));
}

static void metrics_asha_states(struct omtext *w,
				const struct metrics_pair *pairs, unsigned np)
{
	static const struct omtext_family fam = {
	    "ttws_asha_aid_state", OMTEXT_STATESET, "", "ASHA aid state"};
	const char *names[ASHAEAR_STOPPING + 1];
	struct omtext_label l[2];
	unsigned p, e, k;

	for (k = 0; k < ARRAY_SIZE(names); k++) {
		names[k] = ashaear_state_name((enum ashaear_state)k);
	}
	for (p = 0; p < np; p++) {
		for (e = 0; pairs[p].asha && e < CONF_N_EARS; e++) {
			size_t n = metrics_ear_labels(&pairs[p], e, l);
			unsigned st = pairs[p].asha->ear[e].state;

			if (st < ARRAY_SIZE(names)) {
				omtext_stateset(w, &fam, l, n, names,
						ARRAY_SIZE(names), st);
			}
		}
	}
}

void metrics_asha(struct omtext *w, const struct metrics_input *in)
{
	struct metrics_pair pairs[CONF_MAX_PAIRS];
	struct omtext_label l[2];
	unsigned np = metrics_pairs(in, pairs), p, e;
	size_t k, n;

	/* Family by family (each family's series together). */
	for (k = 0; k < ARRAY_SIZE(metrics_asha_pair); k++) {
		for (p = 0; p < np; p++) {
			if (!pairs[p].asha) {
				continue;
			}
			n = pairs[p].name ? 1 : 0;
			l[0] = (struct omtext_label){"pair", pairs[p].name};
			metrics_fields(w, &metrics_asha_pair[k], 1,
				       pairs[p].asha, l, n);
		}
	}
	for (p = 0; p < np; p++) {
		if (pairs[p].asha) {
			n = pairs[p].name ? 1 : 0;
			l[0] = (struct omtext_label){"pair", pairs[p].name};
			metrics_asha_gauges(w, pairs[p].asha, l, n);
		}
	}
	metrics_asha_states(w, pairs, np);
	for (k = 0; k < ARRAY_SIZE(metrics_asha_aid); k++) {
		for (p = 0; p < np; p++) {
			for (e = 0; pairs[p].asha && e < CONF_N_EARS; e++) {
				n = metrics_ear_labels(&pairs[p], e, l);
				metrics_fields(w, &metrics_asha_aid[k], 1,
					       &pairs[p].asha->ear[e], l, n);
			}
		}
	}
}
