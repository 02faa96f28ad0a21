/* SPDX-License-Identifier: MIT */
/*
 * One pair on the engine's loop and wheel: its channels (a socket, or
 * an ear of a shared hci-uart dongle), then the pair (links, plan,
 * stream) built on them and wired to the engine's histograms; and its
 * teardown. Runs on the RT thread at set-up and at engine_free().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/macro.h"
#include "daemon/ashapair.h"
#include "daemon/chan.h"
#include "daemon/dongle.h"
#include "daemon/engine_private.h"
#include "daemon/lathist.h"
#include "daemon/pair.h"
#include "daemon/sockchan.h"

/* The channel an ear's link talks through, by transport. */
static int engine_chan_new(struct engine *e, struct engine_pair *ep,
			   enum conf_ear ear, struct chan **ret)
{
	const struct conf_link *cl = &ep->view.link[ear];

	switch (cl->transport) {
	case CONF_TRANSPORT_UNIX:
	case CONF_TRANSPORT_L2CAP:
		return sockchan_new(e->loop, &ep->view, cl, ret);
	case CONF_TRANSPORT_HCI_UART: {
		unsigned i;
		int r;

		/* Ears on the same tty share one dongle and its host (the
		 * configuration lets a tty serve one pair only). */
		for (i = 0; i < ENGINE_MAX_DONGLES; i++) {
			if (e->dongles[i] && dongle_serves(e->dongles[i], cl)) {
				return dongle_chan_new(e->dongles[i], ear, cl,
						       ret);
			}
		}
		i = 0;
		while (e->dongles[i]) {
			i++; /* one dongle per ear at most: always room */
		}
		r = dongle_new(e->loop, e->wheel, &ep->view, cl, e->capture,
			       &e->dongles[i]);
		if (r < 0) {
			return r;
		}
		return dongle_chan_new(e->dongles[i], ear, cl, ret);
	}
	case CONF_TRANSPORT_NONE:
		break;
	}
	return -EINVAL;
}

/* Where one pair's links and stream record (engine.h says what each
 * is); the frame clock's wakeup and handoff are the daemon's, shared. */
static void engine_hists_wire(struct engine *e, struct engine_pair *ep)
{
	unsigned i, g = engine_global_hist0(e);

#define engine_ear_hist(e, i, id)                                              \
	lathist_live((e)->hists, engine_ear_hist_index(ep->index, (i), (id)))
	for (i = 0; i < CONF_N_EARS; i++) {
		struct link_hists h = {
			.residual = engine_ear_hist(e, i, ENGINE_EH_RESIDUAL),
			.delivery = engine_ear_hist(e, i, ENGINE_EH_DELIVERY),
			.rx_transport =
				engine_ear_hist(e, i, ENGINE_EH_RX_TRANSPORT),
			.rx_kernel = engine_ear_hist(e, i, ENGINE_EH_RX_KERNEL),
			.rx_loop = engine_ear_hist(e, i, ENGINE_EH_RX_LOOP),
			.rx_handler =
				engine_ear_hist(e, i, ENGINE_EH_RX_HANDLER),
			.tx_submit = engine_ear_hist(e, i, ENGINE_EH_TX_SUBMIT),
			.tx_kernel = engine_ear_hist(e, i, ENGINE_EH_TX_KERNEL),
			.tx_done = engine_ear_hist(e, i, ENGINE_EH_TX_DONE),
		};

		if (ep->links[i]) {
			link_set_hists(ep->links[i], &h);
		}
	}
#undef engine_ear_hist
	stream_set_hists(ep->stream,
			 lathist_live(e->hists, g + ENGINE_GH_WAKEUP),
			 lathist_live(e->hists, g + ENGINE_GH_HANDOFF));
}

/*
 * RT thread: this pair's tick started a PipeWire cycle; its quantum will
 * come with a loop_wake() within a fraction of the cycle. Until it does,
 * the loop's waits end at the first completion (no receive coalescing),
 * so the quantum is cut at once.
 */
static void engine_pw_triggered(void *data)
{
	struct engine_pair *ep = data;

	ep->e->pw_awaiting |= 1u << ep->index;
	loop_set_expecting(ep->e->loop, true);
}

/* An ASHA pair on its channels (ATT channels: hci-uart). */
static int engine_asha_setup(struct engine *e, struct engine_pair *ep,
			     struct chan *chans[CONF_N_EARS])
{
	struct ashapair_env env = {
		.wheel = e->wheel,
		.conf = &ep->view,
		.name = e->n_pairs > 1 ? ep->name : NULL,
		.index = ep->index,
		.pw = &ep->pw,
	};
	int r;

	r = ashapair_new(&env, chans, &ep->asha);
	if (r == 0) {
		struct hist *tx_done[CONF_N_EARS];

		for (unsigned i = 0; i < CONF_N_EARS; i++) {
			tx_done[i] = lathist_live(
				e->hists, engine_ear_hist_index(
						  ep->index, i, ENGINE_EH_TX_DONE));
		}
		ashapair_set_hists(ep->asha, tx_done);
	}
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "pair %s (asha): %s",
			 ep->name,
			 r == -ENOTSUP ? "this build has no G.722 (libspandsp)" :
					 strerror(-r));
	}
	return r;
}

/* One pair's channels, links, plan and stream, on the engine's loop and
 * wheel. */
int engine_pair_setup(struct engine *e, struct engine_pair *ep, uint64_t now)
{
	const struct conf *v = &ep->view;
	struct chan *chans[CONF_N_EARS] = { NULL, NULL };
	struct pair_env env;
	unsigned i;
	int r;

	for (i = 0; i < CONF_N_EARS; i++) {
		if (v->link[i].transport == CONF_TRANSPORT_NONE) {
			continue;
		}
		r = engine_chan_new(e, ep, i, &chans[i]);
		if (r < 0) {
			snprintf(e->note, sizeof(e->note), "pair %s, %s ear: %s",
				 ep->name, conf_ear_name(i), strerror(-r));
			for (i = 0; i < CONF_N_EARS; i++) {
				chan_free(chans[i]);
			}
			return r;
		}
	}
	if (v->stream.profile == CONF_PROFILE_ASHA) {
		return engine_asha_setup(e, ep, chans);
	}
	env = (struct pair_env){
		.wheel = e->wheel,
		.conf = v,
		.frame_log = e->frame_log,
		.pw = &ep->pw,
		/* Each pair dithers its own timing requests. */
		.seed = now + ep->index * 0x9e3779b97f4a7c15ull,
		.index = ep->index,
	};
	r = pair_new(&env, chans,
		     conf_same_controller(&v->link[CONF_EAR_LEFT],
					  &v->link[CONF_EAR_RIGHT]),
		     now + PAIR_START_LEAD_NS, &ep->pair);
	if (r < 0) {
		snprintf(e->note, sizeof(e->note), "pair %s, stream (%s, %s): %s",
			 ep->name, conf_source_name(v->stream.source),
			 conf_codec_name(v->stream.codec), strerror(-r));
		return r;
	}
	/* The pair owns them; the engine's parts use these names. */
	ep->plan = pair_plan(ep->pair);
	ep->stream = pair_stream(ep->pair);
	for (i = 0; i < CONF_N_EARS; i++) {
		ep->links[i] = pair_link(ep->pair, i);
	}
	stream_set_boundary_fn(ep->stream, engine_boundary, e);
	stream_set_trigger_fn(ep->stream, engine_pw_triggered, ep);
	engine_hists_wire(e, ep);
	return 0;
}

void engine_pair_teardown(struct engine_pair *ep)
{
	ep->e->pw_awaiting &= ~(1u << ep->index);
	ep->asha = ashapair_free(ep->asha);
	ep->pair = pair_free(ep->pair);
	ep->stream = NULL;
	ep->plan = NULL;
	ep->links[CONF_EAR_LEFT] = ep->links[CONF_EAR_RIGHT] = NULL;
}
