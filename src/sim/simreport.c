/* SPDX-License-Identifier: MIT */
#include <math.h>

#include "core/hist.h"
#include "core/macro.h"
#include "sim/simreport.h"

static const char *const json_names[SIMVIRT_ESTIMATORS] = {
	[SERVO_NAIVE] = "naive",
	[SERVO_MEDIAN_IIR] = "median_iir",
	[SERVO_TTWS] = "ttws",
};

static void print_us(FILE *f, const struct hist *h, double p)
{
	uint64_t v;

	if (hist_percentile(h, p, &v) < 0) {
		fputs("null", f);
		return;
	}
	fprintf(f, "%.3f", (double)v / 1e3);
}

/*
 * Relock time of an estimator over both ears: the slowest ear; 0 and no
 * drop, -1 never, or seconds.
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

void simreport_json(FILE *f, const struct simvirt_result *res)
{
	fprintf(f, "{\"scenario\":\"%s\"", res->scenario.name);
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];
		double relock;

		if (!e->enabled) {
			continue;
		}
		fprintf(f, ",\"%s\":{\"p50_us\":", json_names[k]);
		print_us(f, &e->err, 50.0);
		fputs(",\"p99_us\":", f);
		print_us(f, &e->err, 99.0);
		fputs(",\"max_us\":", f);
		print_us(f, &e->err, 100.0);
		fprintf(f, ",\"late\":%llu",
			(unsigned long long)(e->ear[0].late + e->ear[1].late));
		if (k == SERVO_TTWS) {
			fputs(",\"relock_s\":", f);
			if (relock_of(e, &relock)) {
				fprintf(f, "%.3f", relock);
			} else {
				fputs("null", f);
			}
		}
		fputc('}', f);
	}
	fputs("}\n", f);
}

static void human_us(FILE *f, const struct hist *h, double p)
{
	uint64_t v;

	if (hist_percentile(h, p, &v) < 0) {
		fprintf(f, " %9s", "-");
		return;
	}
	fprintf(f, " %9.3f", (double)v / 1e3);
}

void simreport_human(FILE *f, const struct simvirt_result *res)
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
	fprintf(f,
		"inter-ear error |render_L - render_R| (us, host truth), "
		"frames from %.1f s on with both ears playing:\n",
		res->options.warmup_s);
	fprintf(f, "  %-10s %8s %9s %9s %9s %9s %9s %9s %7s\n", "estimator",
		"frames", "p50", "p90", "p99", "p99.9", "max", "mean", ">15us");
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
		fprintf(f, " %+9.3f %7llu\n", mean / 1e3,
			(unsigned long long)e->over_15us);
	}
	fprintf(f, "per ear (left/right): frames late, lost on the link, "
		   "unsent (servo unlocked); relock after the link returned; "
		   "servo at the end:\n");
	for (int k = 0; k < SIMVIRT_ESTIMATORS; k++) {
		const struct simvirt_estimator *e = &res->est[k];
		double relock;

		if (!e->enabled) {
			continue;
		}
		fprintf(f, "  %-10s late %llu/%llu lost %llu/%llu unsent "
			   "%llu/%llu",
			servo_kind_name(e->kind),
			(unsigned long long)e->ear[0].late,
			(unsigned long long)e->ear[1].late,
			(unsigned long long)e->ear[0].lost,
			(unsigned long long)e->ear[1].lost,
			(unsigned long long)e->ear[0].unsent,
			(unsigned long long)e->ear[1].unsent);
		if (relock_of(e, &relock)) {
			if (relock < 0) {
				fputs(" relock never", f);
			} else {
				fprintf(f, " relock %.3f s", relock);
			}
		}
		fprintf(f, " delay %.3f ms\n", (double)e->delay_ns / 1e6);
		for (int s = 0; s < SCENARIO_SIDES; s++) {
			const struct servo_status *st = &e->ear[s].status;

			fprintf(f,
				"  %10s %-5s %s, rate %+.3f ppm, %llu samples, "
				"%llu rejected, %llu steps\n",
				"", scenario_side_name(s),
				servo_state_name(st->state),
				(double)st->rate_ppb / 1e3,
				(unsigned long long)st->samples,
				(unsigned long long)st->rejected,
				(unsigned long long)st->steps);
		}
	}
}
