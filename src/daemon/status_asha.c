/* SPDX-License-Identifier: MIT */
/*
 * The "asha" object of an ASHA pair in status (daemon/status.h): the
 * slot clock, the balancing's verdicts, the send skew and each aid as it
 * described itself. Counters since start or the last statistics reset.
 */
#include <inttypes.h>
#include <stdio.h>

#include "core/asha.h"
#include "daemon/ashapair.h"
#include "daemon/status.h"

static void status_asha_props_json(FILE *f, const struct ashaear_stats *x)
{
	char id[2 * ASHA_HISYNCID_SIZE + 1];

	if (!x->have_props) {
		fprintf(f, ",\"properties\":null,\"psm\":null");
		return;
	}
	asha_hisyncid_format(x->props.hisyncid, id);
	fprintf(f,
		",\"properties\":{\"version\":%u,\"side\":\"%s\""
		",\"binaural\":%s,\"csis\":%s,\"hisyncid\":\"%s\""
		",\"company_id\":%u,\"feature_map\":%u"
		",\"render_delay_ms\":%u,\"codecs\":%u},\"psm\":%u",
		x->props.version, x->props.right ? "right" : "left",
		x->props.binaural ? "true" : "false",
		x->props.csis ? "true" : "false", id, x->props.company_id,
		x->props.feature_map, x->props.render_delay_ms,
		x->props.codecs, x->psm);
}

static void status_asha_ear_json(FILE *f, const char *name,
				 const struct ashaear_stats *x,
				 const struct ashapair_stats *p, unsigned e)
{
	fprintf(f, "\"%s\":{\"state\":\"%s\"", name,
		ashaear_state_name(x->state));
	status_asha_props_json(f, x);
	fprintf(f,
		",\"att_mtu\":%u,\"audio_status\":%d,\"last_error\":%d"
		",\"connects\":%" PRIu64 ",\"disconnects\":%" PRIu64
		",\"discoveries\":%" PRIu64 ",\"discovery_failures\":%" PRIu64
		",\"refusals\":%" PRIu64 ",\"starts\":%" PRIu64
		",\"start_failures\":%" PRIu64 ",\"start_timeouts\":%" PRIu64
		",\"stops\":%" PRIu64 ",\"status_writes\":%" PRIu64
		",\"volume_writes\":%" PRIu64 ",\"sdus_sent\":%" PRIu64
		",\"tx_full\":%" PRIu64 ",\"att_malformed\":%" PRIu64
		",\"flushes\":%" PRIu64 ",\"flushed_sdus\":%" PRIu64
		",\"conn_interval_us\":%u,\"interval_updates\":%" PRIu64
		",\"conn_params_told\":%" PRIu64 "}",
		x->att_mtu, x->last_status, x->last_err, x->connects,
		x->disconnects, x->discoveries, x->discovery_failures,
		x->refusals, x->starts, x->start_failures, x->start_timeouts,
		x->stops, x->status_writes, x->volume_writes, x->sdus_sent,
		x->tx_full, x->att_malformed, p->flushes[e],
		p->flushed_sdus[e], x->conn_interval_us, x->interval_updates,
		x->conn_params_told);
}

void status_asha_json(FILE *f, const struct ashapair_stats *p)
{
	fprintf(f,
		"\"asha\":{\"volume\":%d,\"slots\":%" PRIu64 ",\"seq\":%u"
		",\"dropped_slots\":%" PRIu64 ",\"credit_stalls\":%" PRIu64
		",\"mono_slots\":%" PRIu64 ",\"late_slots\":%" PRIu64
		",\"encode_errors\":%" PRIu64 ",\"pair_mismatches\":%" PRIu64
		",\"send_skew\":{\"slots\":%" PRIu64 ",\"p50_us\":%.1f"
		",\"p99_us\":%.1f,\"max_us\":%.1f",
		p->volume, p->slots, p->seq, p->dropped_slots, p->credit_stalls,
		p->mono_slots, p->late_slots, p->encode_errors,
		p->pair_mismatches, p->skew_count,
		(double)p->skew_p50_ns / 1e3, (double)p->skew_p99_ns / 1e3,
		(double)p->skew_max_ns / 1e3);
	fprintf(f, "},\"silent_slots\":%" PRIu64 ",\"latency_ns\":%" PRIu64,
		p->silent_slots, p->latency_ns);
	fprintf(f,
		",\"pw\":{\"quanta\":%" PRIu64 ",\"bad_records\":%" PRIu64
		",\"frames_in\":%" PRIu64
		",\"frames_out\":%" PRIu64 ",\"underruns\":%" PRIu64
		",\"overruns\":%" PRIu64 ",\"unheard\":%" PRIu64
		",\"triggers\":%" PRIu64
		",\"idle_ticks\":%" PRIu64 ",\"late_ticks\":%" PRIu64
		",\"queued\":%u,\"quantum\":%u,\"graph_rate\":%u}"
		",\"ears\":{",
		p->pw.quanta, p->pw.bad_records,
		p->pw.frames_in, p->pw.frames_out, p->pw.underruns,
		p->pw.overruns, p->pw.unheard, p->pw.triggers, p->pw.idle_ticks,
		p->pw.late_ticks, p->pw.queued, p->pw.quantum,
		p->pw.graph_rate);
	status_asha_ear_json(f, "left", &p->ear[CONF_EAR_LEFT], p,
			     CONF_EAR_LEFT);
	fputc(',', f);
	status_asha_ear_json(f, "right", &p->ear[CONF_EAR_RIGHT], p,
			     CONF_EAR_RIGHT);
	fprintf(f, "}}");
}
