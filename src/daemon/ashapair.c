/* SPDX-License-Identifier: MIT */
/*
 * An ASHA pair (daemon/ashapair.h): the two aids' start-up and side
 * check, the 20 ms slot clock, the balancing rule and the send skew.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "core/ashabal.h"
#include "core/hcihost.h"
#include "core/hist.h"
#include "core/macro.h"
#include "core/wheel.h"
#include "daemon/ashapair.h"
#include "daemon/chan.h"
#include "daemon/log.h"
#include "daemon/codec_g722.h"


/* ASHA's aids give 8 credits (Android assumes as much: AOSP
 * hearing_aid.cc), and Android flushes an ear whose L2CAP queue holds
 * more than 8 SDUs. Our host holds at most HCIHOST_TX_QUEUE (4) per
 * channel, so an ear is behind here when it holds more than half that
 * (over 40 ms of audio waiting). A drop on both at most every 2 s
 * (IsBelowDropFrequency's 10 s is for logging; we drop as needed but not
 * in bursts). */
#define ASHAPAIR_CREDITS 8
#define ASHAPAIR_FLUSH_THRESHOLD (HCIHOST_TX_QUEUE / 2)
#define ASHAPAIR_DROP_GAP_NS (2 * NSEC_PER_SEC)
/* Slots remembered for the send skew: completions come within a few
 * connection events; 16 slots is 320 ms. */
#define ASHAPAIR_SKEW_SLOTS 16
/* The tone's level: -12 dBFS, clear of G.722's clipping. */
#define ASHAPAIR_TONE_AMPLITUDE 8192.0
/* G.722's QMF analysis and synthesis: 22 samples at 16 kHz end to end
 * (measured by tests/unit/test-g722.c against spandsp's decoder). */
#define ASHAPAIR_G722_DELAY_NS (22 * NSEC_PER_SEC / G722_RATE_HZ)

struct ashapair_slot {
	uint64_t sent_ns;  /* when the slot's SDUs were queued */
	uint32_t id[CONF_N_EARS];
	uint64_t done_ns[CONF_N_EARS];
	uint8_t sent;  /* ears the slot's SDU went to (bit per ear) */
	uint8_t done;  /* ... and completed */
};

struct ashapair {
	struct wheel *wheel;
	const struct conf *conf;
	const char *name;
	unsigned index;
	struct ashaear *ear[CONF_N_EARS];
	struct g722enc *enc[CONF_N_EARS];
	struct ashabal bal;
	struct wheel_timer slot_timer;
	bool clock_on;
	uint64_t slot_due_ns; /* the next slot's deadline */
	uint64_t samples;     /* tone phase: samples cut so far */
	int volume;
	/* Sides checked: the props of each aid, once read. */
	bool have_props[CONF_N_EARS];
	struct asha_props props[CONF_N_EARS];
	/* What this aid was last told of the other (its Start's "other
	 * side connected", then Status), while it streams. */
	bool told_other[CONF_N_EARS];
	struct ashapw *pw;    /* source = pipewire, else NULL */
	struct ashapair_slot ring[ASHAPAIR_SKEW_SLOTS];
	unsigned ring_head;   /* the slot being filled */
	struct hist *skew;
	struct hist *tx_done[CONF_N_EARS]; /* not owned, may be NULL */
	int16_t pcm[CONF_N_EARS][G722_FRAME_SAMPLES];
	uint8_t sdu[ASHA_SDU_SIZE];
	struct ashapair_stats st;
};

/* ---- the aids' events ---------------------------------------------- */

static int ashapair_discovered(void *user_data, unsigned ear,
			       const struct asha_props *props,
			       const char **why)
{
	struct ashapair *p = user_data;
	unsigned other = ear ^ 1u;
	char mine[17], theirs[17];
	int r;

	if (props->right != (ear == CONF_EAR_RIGHT)) {
		p->st.pair_mismatches++;
		*why = ear == CONF_EAR_RIGHT ?
			       "configured as the right ear, the aid says left" :
			       "configured as the left ear, the aid says right";
		return -EINVAL;
	}
	if (!props->binaural) {
		p->st.pair_mismatches++;
		*why = "a monaural aid cannot be one ear of a pair";
		return -EINVAL;
	}
	if (p->have_props[other]) {
		r = asha_props_pair(props, &p->props[other]);
		if (r < 0) {
			asha_hisyncid_format(props->hisyncid, mine);
			asha_hisyncid_format(p->props[other].hisyncid, theirs);
			p->st.pair_mismatches++;
			log_rt_pair_event(LOG_ERR, LOG_EV_NONE, p->name, (int)ear,
					  NULL, 0,
					  "%s aid: HiSyncId %s is not the %s "
					  "aid's %s: not one pair",
					  conf_ear_name(ear), mine,
					  conf_ear_name(other), theirs);
			*why = "another set's aid (HiSyncId differs)";
			return r;
		}
	}
	p->props[ear] = *props;
	p->have_props[ear] = true;
	return 0;
}

static void ashapair_clock_start(struct ashapair *p, uint64_t now_ns);

/* Whether the other aid counts as connected for ASHA's "other side":
 * its audio channel is open (Android: the other device is connected). */
static bool ashapair_other_up(const struct ashapair *p, unsigned ear)
{
	enum ashaear_state s = ashaear_state(p->ear[ear ^ 1u]);

	return s >= ASHAEAR_READY && s <= ASHAEAR_STREAMING;
}

/* Tell a streaming aid what changed about the other, if it changed. */
static void ashapair_tell(struct ashapair *p, unsigned ear, bool other_up,
			  uint64_t now_ns)
{
	if (ashaear_state(p->ear[ear]) != ASHAEAR_STREAMING ||
	    p->told_other[ear] == other_up) {
		return;
	}
	if (ashaear_status(p->ear[ear],
			   other_up ? ASHA_UPDATE_OTHER_CONNECTED :
				      ASHA_UPDATE_OTHER_DISCONNECTED,
			   now_ns) == 0) {
		p->told_other[ear] = other_up;
	}
}

static void ashapair_ready(void *user_data, unsigned ear, uint64_t now_ns)
{
	struct ashapair *p = user_data;
	bool other = ashapair_other_up(p, ear);

	if (ashaear_audio_start(p->ear[ear], other, p->volume, now_ns) == 0) {
		p->told_other[ear] = other;
	}
	/* The other aid hears of this one once it plays. */
}

static void ashapair_started(void *user_data, unsigned ear, int err,
			     int8_t status, uint64_t now_ns)
{
	struct ashapair *p = user_data;
	unsigned other = ear ^ 1u;

	(void)status;
	if (err < 0) {
		return;
	}
	/* The aid's decoder starts afresh: so does its encoder. */
	g722enc_reset(p->enc[ear]);
	/* Each aid knows of the other as it is now. */
	ashapair_tell(p, other, true, now_ns);
	ashapair_tell(p, ear, ashapair_other_up(p, ear), now_ns);
	ashapair_clock_start(p, now_ns);
}

static void ashapair_gone(void *user_data, unsigned ear, int err,
			  uint64_t now_ns)
{
	struct ashapair *p = user_data;
	unsigned other = ear ^ 1u;

	(void)err;
	ashapair_tell(p, other, false, now_ns);
}

static void ashapair_sent(void *user_data, unsigned ear, uint32_t id,
			  uint64_t ns)
{
	struct ashapair *p = user_data;

	for (unsigned k = 0; k < ASHAPAIR_SKEW_SLOTS; k++) {
		struct ashapair_slot *s = &p->ring[k];
		uint64_t a, b;

		if (!(s->sent & (1u << ear)) || (s->done & (1u << ear)) ||
		    s->id[ear] != id) {
			continue;
		}
		s->done |= (uint8_t)(1u << ear);
		s->done_ns[ear] = ns;
		if (p->tx_done[ear] && ns > s->sent_ns) {
			hist_record(p->tx_done[ear], ns - s->sent_ns);
		}
		if (s->done == 0x3 && s->sent == 0x3) {
			a = s->done_ns[0];
			b = s->done_ns[1];
			hist_record(p->skew, a > b ? a - b : b - a);
		}
		return;
	}
}

static const struct ashaear_ops ashapair_ear_ops = {
	.discovered = ashapair_discovered,
	.ready = ashapair_ready,
	.started = ashapair_started,
	.gone = ashapair_gone,
	.sent = ashapair_sent,
};

/* ---- the slot clock ------------------------------------------------ */

/*
 * 20 ms of each ear's tone at 16 kHz, phase-continuous: the exact phase
 * at the frame's first sample, then a rotation by the step per sample
 * (two trigonometric calls a frame instead of one a sample: the RT
 * thread's profile had sin() at 8 %; the rotation's rounding over 320
 * steps stays far below the 16-bit output's).
 */
static void ashapair_tone(struct ashapair *p)
{
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		double w = 2.0 * M_PI * (double)p->conf->stream.tone_hz[e] /
			   (double)G722_RATE_HZ;
		double ph = fmod(w * (double)p->samples, 2.0 * M_PI);
		double c = cos(ph), s = sin(ph), cw = cos(w), sw = sin(w);

		for (unsigned i = 0; i < G722_FRAME_SAMPLES; i++) {
			double t;

			p->pcm[e][i] =
				(int16_t)lrint(ASHAPAIR_TONE_AMPLITUDE * s);
			/* (c + js) * (cw + j sw) */
			t = c * cw - s * sw;
			s = s * cw + c * sw;
			c = t;
		}
	}
	p->samples += G722_FRAME_SAMPLES;
}

/* One ear alone: it gets both channels, mixed (ASHA's mono case). */
static void ashapair_downmix(struct ashapair *p, unsigned ear)
{
	for (unsigned i = 0; i < G722_FRAME_SAMPLES; i++) {
		int32_t m = ((int32_t)p->pcm[0][i] + p->pcm[1][i]) / 2;

		p->pcm[ear][i] = (int16_t)m;
	}
}

static void ashapair_send(struct ashapair *p, unsigned ear,
			  struct ashapair_slot *s)
{
	uint32_t id;
	int r;

	if (g722enc_frame(p->enc[ear], p->pcm[ear], p->sdu + 1) < 0) {
		p->st.encode_errors++;
		return;
	}
	p->sdu[0] = p->st.seq;
	r = ashaear_send(p->ear[ear], p->sdu, sizeof(p->sdu), &id);
	if (r < 0) {
		/* A full queue despite the balancing: counted, not sent. */
		p->st.credit_stalls++;
		return;
	}
	p->st.sent[ear]++;
	s->id[ear] = id;
	s->sent |= (uint8_t)(1u << ear);
}

static void ashapair_slot(struct ashapair *p, uint64_t now_ns)
{
	struct ashabal_ear be[CONF_N_EARS];
	struct ashapair_slot *s;
	unsigned e, verdict, n = 0;

	for (e = 0; e < CONF_N_EARS; e++) {
		unsigned queued, credits;

		/* What Android's rule reads: the SDUs still held by the host
		 * (L2CAP's queue) and the aid's credits left. */
		ashaear_tx_state(p->ear[e], &queued, &credits);
		be[e].present = ashaear_state(p->ear[e]) == ASHAEAR_STREAMING;
		be[e].queued = (uint16_t)MIN(queued, UINT16_MAX);
		be[e].credits = (uint16_t)MIN(credits, UINT16_MAX);
		n += be[e].present;
	}
	if (p->pw) {
		ashapw_set_listening(p->pw, n > 0);
	}
	if (n == 0) {
		return;
	}
	if (!p->pw) {
		ashapair_tone(p);
	} else if (ashapw_frame(p->pw, p->pcm[0], p->pcm[1]) < 0) {
		memset(p->pcm, 0, sizeof(p->pcm));
		p->st.silent_slots++;
	}
	ashabal_decide(&p->bal, be, now_ns, &verdict);
	for (e = 0; e < CONF_N_EARS; e++) {
		unsigned dropped = 0;

		if (!(verdict & (e == 0 ? ASHABAL_FLUSH_LEFT :
					  ASHABAL_FLUSH_RIGHT))) {
			continue;
		}
		/* That ear alone is stuck: what waits for it goes, so that
		 * it plays the newest frames when it catches up. */
		p->st.flushes[e]++;
		if (ashaear_flush(p->ear[e], &dropped) == 0) {
			p->st.flushed_sdus[e] += dropped;
		}
	}
	p->st.slots++;
	if (verdict & ASHABAL_DROP_BOTH) {
		p->st.dropped_slots++;
		return;
	}
	p->ring_head = (p->ring_head + 1) % ASHAPAIR_SKEW_SLOTS;
	s = &p->ring[p->ring_head];
	memset(s, 0, sizeof(*s));
	s->sent_ns = now_ns;
	if (n == 1) {
		p->st.mono_slots++;
	}
	/* Both ears back to back, the same sequence number. */
	for (e = 0; e < CONF_N_EARS; e++) {
		if (!be[e].present) {
			continue;
		}
		if (n == 1) {
			ashapair_downmix(p, e);
		}
		ashapair_send(p, e, s);
	}
	p->st.seq++;
}

static void ashapair_tick(struct wheel_timer *t, uint64_t now_ns)
{
	struct ashapair *p = container_of(t, struct ashapair, slot_timer);

	ashapair_slot(p, now_ns);
	p->slot_due_ns += ASHAPAIR_SLOT_NS;
	if (p->slot_due_ns <= now_ns) {
		/* A whole slot lost (a stall): the aids heard nothing for
		 * it; go on from now rather than burst. */
		p->st.late_slots++;
		p->slot_due_ns = now_ns + ASHAPAIR_SLOT_NS;
	}
	wheel_add(p->wheel, &p->slot_timer, p->slot_due_ns);
}

static void ashapair_clock_start(struct ashapair *p, uint64_t now_ns)
{
	if (p->clock_on) {
		return;
	}
	p->clock_on = true;
	p->slot_due_ns = now_ns + ASHAPAIR_SLOT_NS;
	wheel_add(p->wheel, &p->slot_timer, p->slot_due_ns);
}

/* ---- lifetime ------------------------------------------------------ */

int ashapair_new(const struct ashapair_env *env,
		 struct chan *chans[CONF_N_EARS], struct ashapair **ret)
{
	struct ashabal_cfg bc = {
		.flush_threshold = ASHAPAIR_FLUSH_THRESHOLD,
		.init_credits = ASHAPAIR_CREDITS,
		.min_drop_gap_ns = ASHAPAIR_DROP_GAP_NS,
	};
	struct ashapair *p;
	unsigned e;
	int r = -ENOMEM;

	p = calloc(1, sizeof(*p));
	if (!p) {
		goto fail_chans;
	}
	p->wheel = env->wheel;
	p->conf = env->conf;
	p->name = env->name;
	p->index = env->index;
	p->volume = env->conf->stream.asha_volume;
	wheel_timer_init(&p->slot_timer, WHEEL_HARD, 0, ashapair_tick);
	p->skew = malloc(sizeof(*p->skew));
	if (!p->skew) {
		goto fail;
	}
	hist_init(p->skew);
	r = ashabal_init(&p->bal, &bc);
	if (r < 0) {
		goto fail;
	}
	if (env->conf->stream.source == CONF_SOURCE_PIPEWIRE) {
		r = ashapw_new(env->pw, env->wheel, &p->pw);
		if (r < 0) {
			goto fail;
		}
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		r = g722enc_new(&p->enc[e]);
		if (r < 0) {
			goto fail;
		}
		if (!chans[e]) {
			r = -EINVAL;
			goto fail;
		}
		r = ashaear_new(e, chans[e], env->wheel, env->conf, env->name,
				&ashapair_ear_ops, p, &p->ear[e]);
		chans[e] = NULL; /* the ear's, even when that failed */
		if (r < 0) {
			goto fail;
		}
	}
	*ret = p;
	return 0;
fail:
	ashapair_free(p);
fail_chans:
	for (e = 0; e < CONF_N_EARS; e++) {
		chans[e] = chan_free(chans[e]);
	}
	return r;
}

struct ashapair *ashapair_free(struct ashapair *p)
{
	if (!p) {
		return NULL;
	}
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		p->ear[e] = ashaear_free(p->ear[e]);
		p->enc[e] = g722enc_free(p->enc[e]);
	}
	p->pw = ashapw_free(p->pw);
	free(p->skew);
	free(p);
	return NULL;
}

void ashapair_start(struct ashapair *p, uint64_t now_ns)
{
	if (p->pw) {
		/* The graph runs from the start: applications see a sink
		 * that plays, whether the aids are there yet or not. */
		ashapw_start(p->pw, now_ns);
	}
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		ashaear_connect(p->ear[e], now_ns);
	}
}

void ashapair_stop(struct ashapair *p, uint64_t now_ns)
{
	if (p->clock_on) {
		wheel_cancel(p->wheel, &p->slot_timer);
		p->clock_on = false;
	}
	if (p->pw) {
		ashapw_stop(p->pw);
	}
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		ashaear_close(p->ear[e], now_ns);
	}
}

void ashapair_set_hists(struct ashapair *p,
			struct hist *tx_done[CONF_N_EARS])
{
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		p->tx_done[e] = tx_done[e];
	}
}

bool ashapair_stopped(struct ashapair *p, bool force)
{
	bool done = true;

	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		done &= ashaear_stopped(p->ear[e], force);
	}
	return done;
}

void ashapair_pull(struct ashapair *p)
{
	if (p->pw) {
		ashapw_pull(p->pw);
	}
}

int ashapair_set_volume(struct ashapair *p, int volume, uint64_t now_ns)
{
	if (volume < ASHA_VOLUME_MUTE || volume > ASHA_VOLUME_MAX) {
		return -EINVAL;
	}
	p->volume = volume;
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		if (ashaear_state(p->ear[e]) == ASHAEAR_STREAMING) {
			ashaear_volume(p->ear[e], volume, now_ns);
		}
	}
	return 0;
}

void ashapair_reconf(struct ashapair *p, uint64_t now_ns)
{
	if (p->conf->stream.asha_volume != p->volume) {
		ashapair_set_volume(p, p->conf->stream.asha_volume, now_ns);
	}
}

void ashapair_get_stats(const struct ashapair *p, struct ashapair_stats *ret)
{
	*ret = p->st;
	ret->volume = p->volume;
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		ashaear_get_stats(p->ear[e], &ret->ear[e]);
	}
	uint64_t render = 0;

	if (p->pw) {
		ashapw_get_stats(p->pw, &ret->pw);
	}
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		if (ret->ear[e].have_props) {
			render = MAX(render,
				     (uint64_t)ret->ear[e].props.render_delay_ms *
					     NSEC_PER_MSEC);
		}
	}
	ret->latency_ns = (uint64_t)(ret->pw.queued + 1) * ASHAPAIR_SLOT_NS +
			  ASHAPAIR_G722_DELAY_NS + render;
	ret->skew_count = hist_count(p->skew);
	if (ret->skew_count > 0) {
		hist_percentile(p->skew, 50.0, &ret->skew_p50_ns);
		hist_percentile(p->skew, 99.0, &ret->skew_p99_ns);
		hist_max(p->skew, &ret->skew_max_ns);
	}
}

void ashapair_reset_stats(struct ashapair *p)
{
	uint8_t seq = p->st.seq;

	memset(&p->st, 0, sizeof(p->st));
	p->st.seq = seq;
	hist_reset(p->skew);
	if (p->pw) {
		ashapw_reset_stats(p->pw);
	}
	for (unsigned e = 0; e < CONF_N_EARS; e++) {
		ashaear_reset_stats(p->ear[e]);
	}
}
