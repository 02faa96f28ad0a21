/* SPDX-License-Identifier: MIT */
/*
 * What the main thread reports: the status JSON (GetStats, --stats-file),
 * the metrics exposition (GetMetrics, [metrics] textfile) and the summary
 * logged at exit. All from engine snapshots: the RT thread never waits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "daemon/bounds.h"
#include "daemon/daemon_private.h"
#include "daemon/engine.h"
#include "daemon/log.h"
#include "daemon/metrics.h"
#include "daemon/reconf.h"
#include "daemon/status.h"
#include "os/rt.h"

#if HAVE_PIPEWIRE
#include "pw/sink.h"
#endif

/* Everything both documents need, copied once. */
struct daemon_report {
	struct engine_snapshot snap;
#if HAVE_PIPEWIRE
	struct pw_sink_stats pw;
	/* Each pair's sink (pair_pw[0] is pw's). */
	struct pw_sink_stats pair_pw[CONF_MAX_PAIRS];
#endif
	bool have_pw;
	bool have_pair_pw[CONF_MAX_PAIRS];
};

static void daemon_report_take(struct daemon *d, struct daemon_report *r)
{
	unsigned i;

	engine_snapshot(d->engine, &r->snap);
	r->have_pw = false;
	for (i = 0; i < CONF_MAX_PAIRS; i++) {
		r->have_pair_pw[i] = false;
	}
#if HAVE_PIPEWIRE
	if (d->sink) {
		pw_sink_get_stats(d->sink, &r->pw);
		r->have_pw = true;
	}
	for (i = 1; i < CONF_MAX_PAIRS; i++) {
		r->have_pair_pw[i] =
			daemon_pw_pair_stats(d, i, &r->pair_pw[i]);
	}
#endif
}

/* metrics_input.hist_get: any pair's ear histogram, from the engine. */
static int daemon_metrics_hist(void *data, unsigned pair, enum conf_ear ear,
			       unsigned id, struct hist *ret)
{
	return engine_pair_hist_get(data, pair, ear, id, ret);
}

static const struct pw_sink_stats *daemon_report_pw(struct daemon_report *r)
{
#if HAVE_PIPEWIRE
	return r->have_pw ? &r->pw : NULL;
#else
	return NULL;
#endif
}

static int daemon_status(struct daemon *d, FILE *f, bool with_hists)
{
	struct daemon_report *rep = malloc(sizeof(*rep));
	struct status_input in;
	int r;

	if (!rep) {
		return -ENOMEM;
	}
	daemon_report_take(d, rep);
	in = (struct status_input){
		.snap = &rep->snap,
		.conf = reconf_running(d->reconf),
		.backend_note = engine_backend_note(d->engine),
		.pw = daemon_report_pw(rep),
		.engine = with_hists ? d->engine : NULL,
		.rt = engine_rt_report(d->engine),
		.config_path = d->o->config,
		.config_generation = reconf_generation(d->reconf),
		.uptime_s = (double)(rt_now_ns() - d->start_ns) / 1e9,
		.notify = &d->notify,
	};
	for (unsigned i = 0; i < d->n_sinks && i < CONF_MAX_PAIRS; i++) {
		in.sink_node[i] = d->sinks[i].node;
	}
	r = status_write_json(f, &in);
	free(rep);
	return r;
}

/* What write() puts into a memory stream, as malloc'd text in *ret. */
static int daemon_text(struct daemon *d, int (*write)(struct daemon *d,
						     FILE *f),
		       char **ret)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	f = open_memstream(&text, &len);
	if (!f) {
		return -errno;
	}
	r = write(d, f);
	if (fclose(f) != 0 && r == 0) {
		r = -ENOMEM;
	}
	/* The text is bounded by the configuration (8 pairs at most); the
	 * cap says so to a client rather than sending anything larger. */
	if (r == 0 && len > BOUNDS_REPLY_MAX) {
		bounds_count(BOUNDS_CONTROL_REPLY, 1);
		r = -EMSGSIZE;
	}
	if (r < 0) {
		free(text);
		return r;
	}
	*ret = text;
	return 0;
}

static int daemon_status_full(struct daemon *d, FILE *f)
{
	return daemon_status(d, f, true);
}

int daemon_stats_json(void *data, char **ret)
{
	return daemon_text(data, daemon_status_full, ret);
}

/* The metrics of now, in fmt, into f. */
static int daemon_metrics(struct daemon *d, FILE *f, enum metrics_format fmt,
			  const char *textfile)
{
	struct daemon_report *rep = malloc(sizeof(*rep));
	struct hist *h = calloc(ENGINE_N_GLOBAL_HISTS, sizeof(*h));
	struct metrics_input in = { 0 };
	struct bounds_table bounds;
	unsigned e, id, k = 0;
	int r;

	if (!rep || !h) {
		free(rep);
		free(h);
		return -ENOMEM;
	}
	daemon_report_take(d, rep);
	in.snap = &rep->snap;
	in.conf = reconf_running(d->reconf);
	in.uptime_ns = rt_now_ns() - d->start_ns;
	in.pw = daemon_report_pw(rep);
#if HAVE_PIPEWIRE
	for (e = 1; e < CONF_MAX_PAIRS; e++) {
		in.pair_pw[e] = rep->have_pair_pw[e] ? &rep->pair_pw[e] : NULL;
	}
#endif
	/* Every pair's ear histograms, one at a time (metrics.h). */
	in.hist_get = daemon_metrics_hist;
	in.hist_data = d->engine;
	bounds_take(&bounds);
	in.bounds = &bounds;
	for (e = 0; e < ENGINE_MAX_DONGLES; e++) {
		in.dongle_path[e] = engine_dongle_path(d->engine, e);
	}
	for (id = 0; id < ENGINE_N_GLOBAL_HISTS; id++, k++) {
		if (engine_hist_get(d->engine, CONF_N_EARS, id, &h[k]) == 0) {
			in.global_hist[id] = &h[k];
		}
	}
	r = textfile ? metrics_write_textfile(textfile, &in) :
		       metrics_write_as(f, &in, fmt);
	free(h);
	free(rep);
	return r;
}

static int daemon_openmetrics(struct daemon *d, FILE *f)
{
	return daemon_metrics(d, f, METRICS_OPENMETRICS, NULL);
}

int daemon_metrics_text(void *data, char **ret)
{
	return daemon_text(data, daemon_openmetrics, ret);
}

void daemon_metrics_textfile(struct daemon *d, uint64_t now_ns)
{
	const struct conf *c = reconf_running(d->reconf);
	int r;

	if (c->metrics.textfile[0] == '\0' || now_ns < d->next_textfile_ns) {
		return;
	}
	d->next_textfile_ns = now_ns + c->metrics.interval_s * NSEC_PER_SEC;
	r = daemon_metrics(d, NULL, METRICS_PROMETHEUS, c->metrics.textfile);
	/* Say it when it starts failing and when it works again, not every
	 * interval. */
	if (r < 0 && r != d->textfile_err) {
		log_warning("metrics: cannot write %s: %s",
			    c->metrics.textfile, strerror(-r));
	} else if (r == 0 && d->textfile_err) {
		log_info("metrics: %s written again", c->metrics.textfile);
	}
	d->textfile_err = r;
}

int daemon_write_stats(struct daemon *d)
{
	struct engine_snapshot *snap = malloc(sizeof(*snap));
	FILE *f;
	int r;

	if (snap) {
		engine_snapshot(d->engine, snap);
		status_log_summary(snap, reconf_running(d->reconf));
		free(snap);
	}
	if (!d->o->stats_file) {
		return 0;
	}
	f = fopen(d->o->stats_file, "we");
	if (!f) {
		log_error("cannot write %s: %s", d->o->stats_file,
			  strerror(errno));
		return -errno;
	}
	r = daemon_status(d, f, true);
	if (fclose(f) != 0 && r == 0) {
		r = -errno;
	}
	return r;
}
