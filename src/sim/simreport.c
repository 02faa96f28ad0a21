/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "core/hist.h"
#include "core/macro.h"
#include "sim/simreport.h"

static const char *const json_names[SIMVIRT_ESTIMATORS] = {
	[SERVO_NAIVE] = "naive",
	[SERVO_MEDIAN_IIR] = "median_iir",
	[SERVO_TTWS] = "ttws",
	[SERVO_LUCKY_PI] = "lucky_pi",
};

/* Both ears' share of one fate, and the delay, over the counted frames. */
struct rep_fracs {
	uint64_t counted; /* frames judged after the warm-up (per ear) */
	double late; /* fractions of 2 * counted; NAN if none counted */
	double lost;
	double unsent;
	double delay_ms; /* mean over the counted frames; NAN if none */
	double delay_max_ms; /* over the counted frames; NAN if none */
	double delay_end_ms;
};

static void rep_fracs_of(const struct simvirt_estimator *e,
			 struct rep_fracs *ret)
{
	const struct simvirt_ear *l = &e->ear[SCENARIO_LEFT];
	const struct simvirt_ear *r = &e->ear[SCENARIO_RIGHT];
	/* Every counted frame gets one fate per ear (simvirt.c sv_count). */
	uint64_t counted = l->rendered + l->late + l->lost + l->unsent;
	double both = 2.0 * (double)counted;

	*ret = (struct rep_fracs){
		.counted = counted,
		.late = NAN,
		.lost = NAN,
		.unsent = NAN,
		.delay_ms = NAN,
		.delay_max_ms = NAN,
		.delay_end_ms = (double)e->delay_ns / 1e6,
	};
	if (counted == 0) {
		return;
	}
	ret->delay_max_ms = (double)e->delay_max_ns / 1e6;
	ret->late = (double)(l->late + r->late) / both;
	ret->lost = (double)(l->lost + r->lost) / both;
	ret->unsent = (double)(l->unsent + r->unsent) / both;
	ret->delay_ms = e->delay_sum_ns / (double)counted / 1e6;
}

/*
 * Relock time of an estimator over both ears: the slowest ear. Returns
 * 0 when no ear was disrupted, else 1 and *ret_s: -1 never, or seconds.
 */
static int relock_of(const struct simvirt_estimator *e, double *ret_s)
{
	bool dropped = false;
	double worst = 0.0;

	for (int s = 0; s < SCENARIO_SIDES; s++) {
		if (!e->ear[s].dropped) {
			continue;
		}
		dropped = true;
		if (!e->ear[s].relocked) {
			*ret_s = -1.0;
			return 1;
		}
		worst = MAX(worst, e->ear[s].relock_s);
	}
	*ret_s = worst;
	return dropped ? 1 : 0;
}

static bool render_on_grid(const struct scenario *sc)
{
	return sc->ear[SCENARIO_LEFT].render_res_us > 0.0 ||
	       sc->ear[SCENARIO_RIGHT].render_res_us > 0.0;
}

/* ---- JSON --------------------------------------------------------------- */

/* A JSON string; scenario names come from file names. */
static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c < 0x20) {
			fprintf(f, "\\u%04x", c);
		} else {
			fputc(c, f);
		}
	}
	fputc('"', f);
}

/* A percentile of h (ns) in us, null when h is empty. */
static void json_us_value(FILE *f, const struct hist *h, double p)
{
	uint64_t v;

	if (hist_percentile(h, p, &v) < 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "%.3f", (double)v / 1e3);
}

static void json_us(FILE *f, const char *key, const struct hist *h, double p)
{
	fprintf(f, ",\"%s\":", key);
	json_us_value(f, h, p);
}

/* ,"key": then false, or null and true when v is not finite. */
static bool json_key_null(FILE *f, const char *key, double v)
{
	fprintf(f, ",\"%s\":", key);
	if (isfinite(v)) {
		return false;
	}
	fputs("null", f);
	return true;
}

/* v with that many decimals. */
static void json_num(FILE *f, const char *key, double v, int decimals)
{
	if (!json_key_null(f, key, v)) {
		fprintf(f, "%.*f", decimals, v);
	}
}

/* A fraction: 9 significant digits tell apart any two counts below 1e8. */
static void json_frac(FILE *f, const char *key, double v)
{
	if (!json_key_null(f, key, v)) {
		fprintf(f, "%.9g", v);
	}
}

static void json_estimator(FILE *f, const struct simvirt_result *res,
			   const struct simvirt_estimator *e)
{
	struct rep_fracs fr;
	double relock;

	rep_fracs_of(e, &fr);
	fprintf(f, ",\"%s\":{\"p99_us\":", json_names[e->kind]);
	json_us_value(f, &e->err, 99.0);
	json_us(f, "max_us", &e->err, 100.0);
	json_us(f, "p50_us", &e->err, 50.0);
	json_frac(f, "late_frac", fr.late);
	json_frac(f, "lost_frac", fr.lost);
	json_frac(f, "unsent_frac", fr.unsent);
	json_num(f, "delay_ms", fr.delay_ms, 4);
	json_num(f, "delay_max_ms", fr.delay_max_ms, 4);
	if (e->kind == SERVO_TTWS) {
		if (relock_of(e, &relock)) {
			json_num(f, "relock_s", relock < 0 ? NAN : relock, 3);
		}
		if (render_on_grid(&res->scenario)) {
			json_us(f, "acoustic_p99_us", &e->acoustic, 99.0);
		}
	}
	fputc('}', f);
}

void simreport_json(FILE *f, const struct simvirt_result *res)
{
	double fixed_ms = res->options.fixed_delay_ms;

	fputs("{\"scenario\":", f);
	json_str(f, res->scenario.name);
	json_num(f, "fixed_delay_ms", fixed_ms > 0.0 ? fixed_ms : NAN, 4);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		if (res->est[k].enabled) {
			json_estimator(f, res, &res->est[k]);
		}
	}
	fputs("}\n", f);
}

/* ---- the report for people ---------------------------------------------- */

static void human_us(FILE *f, const struct hist *h, double p)
{
	uint64_t v;

	if (hist_percentile(h, p, &v) < 0) {
		fprintf(f, " %9s", "-");
		return;
	}
	fprintf(f, " %9.3f", (double)v / 1e3);
}

/* Milliseconds, "-" when not a number. */
static void human_ms(FILE *f, double v)
{
	if (!isfinite(v)) {
		fprintf(f, " %9s", "-");
		return;
	}
	fprintf(f, " %9.3f", v);
}

static void human_frac(FILE *f, double v)
{
	if (!isfinite(v)) {
		fprintf(f, " %9s", "-");
		return;
	}
	fprintf(f, " %9.3g", v);
}

static void human_scenario(FILE *f, const struct simvirt_result *res)
{
	const struct scenario *sc = &res->scenario;

	fprintf(f,
		"scenario %s: %.0f s of audio, %llu frames of %g ms, seed "
		"%llu, dongle %+g ppm\n",
		sc->name, sc->duration_s, (unsigned long long)res->frames,
		sc->frame_ms, (unsigned long long)sc->seed, sc->dongle_ppm);
	for (int s = 0; s < SCENARIO_SIDES; s++) {
		const struct scenario_ear *e = &sc->ear[s];
		const struct simlink_stats *l = &res->link[s];

		fprintf(f,
			"  %-5s %+g ppm, wander %g ppb/sqrt(s), ci %g ms, "
			"loss %g, %s jitter %g us%s\n",
			scenario_side_name(s), e->ppm, e->wander_ppb_per_s,
			e->ci_us / 1e3, e->loss,
			simlink_jitter_name(e->hci_jitter_dist),
			e->hci_jitter_us, e->drop_for_s > 0 ? ", drops" : "");
		fprintf(f,
			"        %llu timing exchanges, %llu samples to the "
			"servo; link: %llu packets, %llu lost tries, %llu "
			"refused\n",
			(unsigned long long)res->exchanges[s],
			(unsigned long long)res->samples[s],
			(unsigned long long)l->packets,
			(unsigned long long)l->lost_tries,
			(unsigned long long)l->refused);
	}
	if (res->options.fixed_delay_ms > 0.0) {
		fprintf(f, "presentation delay fixed at %.4g ms\n",
			res->options.fixed_delay_ms);
	} else {
		fputs("presentation delay: ttwsd's adaptive default\n", f);
	}
}

static void human_errors(FILE *f, const struct simvirt_result *res)
{
	bool grid = render_on_grid(&res->scenario);

	fprintf(f,
		"inter-ear error |pts_L - pts_R| (us, host truth), frames "
		"from %.1f s on with both ears playing%s:\n",
		res->options.warmup_s,
		grid ? ";\nacoustic: |render_L - render_R|, where the ears "
		       "start on their sample grids" :
		       "");
	fprintf(f, "  %-10s %8s %9s %9s %9s %9s %9s %9s %7s%s\n", "estimator",
		"frames", "p50", "p90", "p99", "p99.9", "max", "mean", ">15us",
		grid ? "  acoustic p99" : "");
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];
		double mean = 0.0;

		if (!e->enabled) {
			continue;
		}
		if (hist_count(&e->err) > 0) {
			mean = e->err_sum_ns / (double)hist_count(&e->err);
		}
		fprintf(f, "  %-10s %8llu", servo_kind_name(e->kind),
			(unsigned long long)hist_count(&e->err));
		human_us(f, &e->err, 50.0);
		human_us(f, &e->err, 90.0);
		human_us(f, &e->err, 99.0);
		human_us(f, &e->err, 99.9);
		human_us(f, &e->err, 100.0);
		fprintf(f, " %+9.3f %7llu", mean / 1e3,
			(unsigned long long)e->over_15us);
		if (grid) {
			fputs("    ", f);
			human_us(f, &e->acoustic, 99.0);
		}
		fputc('\n', f);
	}
}

static void human_frames(FILE *f, const struct simvirt_result *res)
{
	fputs("frames of both ears after the warm-up (fraction late, lost on "
	      "the link, unsent),\npresentation delay (ms: mean, max, at the "
	      "end), relock after a drop or freeze:\n",
	      f);
	fprintf(f, "  %-10s %9s %9s %9s %9s %9s %9s %9s\n", "estimator",
		"late", "lost", "unsent", "delay", "max", "end", "relock");
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];
		struct rep_fracs fr;
		double relock;

		if (!e->enabled) {
			continue;
		}
		rep_fracs_of(e, &fr);
		fprintf(f, "  %-10s", servo_kind_name(e->kind));
		human_frac(f, fr.late);
		human_frac(f, fr.lost);
		human_frac(f, fr.unsent);
		human_ms(f, fr.delay_ms);
		human_ms(f, fr.delay_max_ms);
		human_ms(f, fr.delay_end_ms);
		if (!relock_of(e, &relock)) {
			fprintf(f, " %9s\n", "-");
		} else if (relock < 0) {
			fprintf(f, " %9s\n", "never");
		} else {
			fprintf(f, " %7.3f s\n", relock);
		}
	}
}

static void human_servos(FILE *f, const struct simvirt_result *res)
{
	fputs("per ear at the end of each run: servo, and frames late / lost "
	      "/ unsent:\n",
	      f);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];

		if (!e->enabled) {
			continue;
		}
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			const struct servo_status *st = &e->ear[s].status;
			const struct simvirt_ear *ear = &e->ear[s];

			fprintf(f,
				"  %-10s %-5s %s, rate %+.3f ppm, %llu "
				"samples, %llu rejected, %llu steps; "
				"%llu/%llu/%llu\n",
				s == 0 ? servo_kind_name(e->kind) : "",
				scenario_side_name(s),
				servo_state_name(st->state),
				(double)st->rate_ppb / 1e3,
				(unsigned long long)st->samples,
				(unsigned long long)st->rejected,
				(unsigned long long)st->steps,
				(unsigned long long)ear->late,
				(unsigned long long)ear->lost,
				(unsigned long long)ear->unsent);
		}
	}
}

void simreport_human(FILE *f, const struct simvirt_result *res)
{
	human_scenario(f, res);
	human_errors(f, res);
	human_frames(f, res);
	human_servos(f, res);
}
