/* SPDX-License-Identifier: MIT */
/*
 * audiocheck's walk along one ear (see audiocheck.h): input and output
 * together, sample by sample from the opening lag on, following slips,
 * skipping inserted silence, and resyncing at the next chirp when the
 * output stops lining up. Apart from audiocheck.c (the stimulus, finding
 * the opening lag, the measure between the ears) because it is one state
 * machine with thresholds of its own; it fills an audiocheck_ear and the
 * per-period lags.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/audiocheck_private.h"

/* A run of silence this long where the input has signal may be inserted
 * silence: PipeWire plays whole quanta of it (480 samples, one frame, in
 * ttws.sink's graph) when a client misses a cycle. Silence is |sample| <=
 * AC_QUIET: LC3 rings some tens of LSB into silent frames (up to 59 in
 * the demo's runs); the tones cross 64 within a sample. */
#define AC_QUANTUM 480
#define AC_SILENCE_RUN (AC_QUANTUM / 2)
#define AC_QUIET 64

static bool ac_quiet(int v)
{
	return abs(v) <= AC_QUIET;
}

static size_t ac_quiet_run(const int16_t *y, size_t j, size_t n)
{
	size_t k = j;

	while (k < n && ac_quiet(y[k])) {
		k++;
	}
	return k - j;
}

struct ac_sums {
	double xy, xx, yy, zy, zz;
};

static void ac_add(struct ac_sums *a, double x, double z, double y)
{
	a->xy += x * y;
	a->xx += x * x;
	a->yy += y * y;
	a->zy += z * y;
	a->zz += z * z;
}

/*
 * Slips (see audiocheck.h): ttwsd's plan moves the presentation delay by
 * up to 100 us (4.8 samples) a frame, so AC_SLIP_MAX. Exact output keeps
 * its lag up to the first sample that differs; there, or on a lossy
 * codec's output, the least squared error wins if under AC_SLIP_GAIN of
 * the current lag's and better by AC_SLIP_MIN of the input's energy: a
 * one-sample shift costs 2 (1 - cos(2 pi f / 48000)) of it, 0.0033 for
 * 440 Hz and 0.0075 for 660 Hz; LC3's noise and silence gain nothing.
 */
#define AC_SLIP_MAX 6
#define AC_SLIP_CAND (2 * AC_SLIP_MAX + 1) /* 0, -1, 1, -2, 2, ... */
#define AC_SLIP_GAIN 0.5
#define AC_SLIP_MIN 0.001
#define AC_EXACT_RUN 32

/*
 * Lock: a quantum lines up when its error is under AC_LOCK of the
 * input's energy. After AC_LOST_AFTER that do not (the first may hold
 * the start of a silence yet to be skipped) the walk looks for the
 * channel's next chirp, AC_REACQ_BACK before to AC_REACQ_FWD after the
 * current lag (a resync): the tones cannot say where, as both repeat
 * every 2400 samples (440 and 660 Hz are multiples of 20 Hz).
 */
#define AC_LOCK 0.1
#define AC_LOST_AFTER 2
#define AC_REACQ_BACK AC_QUANTUM
/* Under a chirp period: a channel's chirps, tones included, look alike. */
#define AC_REACQ_FWD (AC_CHIRP_EVERY - 2 * AC_QUANTUM - AC_CHIRP_LEN)
#define AC_REACQ_MIN 0.9

/* One ear's walk: input channel ch at i against output y at j. */
struct ac_walk {
	const int16_t *in;
	size_t in_n;
	unsigned ch;
	const int16_t *y;
	size_t out_n;
	size_t i;
	int64_t j;
	int64_t next;    /* output index of the next re-search */
	int64_t shift;   /* lag - opening lag from slips alone */
	int64_t loud_at; /* output index where silence may be looked at */
	bool locked;     /* the last quantum with signal lined up */
	unsigned bad;    /* quanta with signal in a row that did not */
	struct ac_sums a;
	struct audiocheck_ear *e;
	struct ac_periods *pp;
};

struct ac_score {
	size_t n;      /* samples compared */
	size_t prefix; /* leading samples that are exact */
	double pxx;    /* input energy in those */
	double err;    /* sum of squared differences */
	double xx;     /* input energy */
};

/* Input from i against output from j, over the next quantum. */
static void ac_score_at(const struct ac_walk *w, size_t i, size_t j,
			struct ac_score *s)
{
	size_t k;

	memset(s, 0, sizeof(*s));
	for (k = 0; k < AC_QUANTUM && i + k < w->in_n && j + k < w->out_n;
	     k++) {
		double x = w->in[2 * (i + k) + w->ch], v = w->y[j + k];

		if (x == v && s->prefix == k) {
			s->prefix++;
			s->pxx += x * x;
		}
		s->err += (x - v) * (x - v);
		s->xx += x * x;
		s->n++;
	}
}

/* Mean squared error of a under gain times b's. */
static bool ac_less_err(const struct ac_score *a, const struct ac_score *b,
			double gain)
{
	return a->err * (double)b->n < gain * b->err * (double)a->n;
}

/* At a wrong sample of exact output: the candidate with the longest
 * exact run of signal from here, at least AC_EXACT_RUN (the least
 * squared error could pick the wrong one when silence follows soon). */
static bool ac_exact_best(const struct ac_score *s, unsigned *ret_k)
{
	unsigned k, best = 0;

	for (k = 1; k < AC_SLIP_CAND; k++) {
		if (s[k].prefix >= AC_EXACT_RUN && s[k].prefix > s[best].prefix &&
		    s[k].pxx > (double)AC_QUIET * AC_QUIET *
				       (double)s[k].prefix) {
			best = k;
		}
	}
	*ret_k = best;
	return best != 0;
}

/* Candidate k's lag change: 0, -1, 1, -2, 2, ... (nearest first, so
 * ties keep the lag). */
static int ac_slip_d(unsigned k)
{
	return k % 2 ? -(int)(k + 1) / 2 : (int)k / 2;
}

/*
 * The lag change that lines the next quantum up best; *ret_cur: the
 * current lag's score. A positive change skips output samples (the
 * earbud repeated some), a negative one input samples (it dropped some).
 */
static int ac_relag(const struct ac_walk *w, struct ac_score *ret_cur)
{
	struct ac_score s[AC_SLIP_CAND];
	unsigned k, best = 0;
	double gain;

	for (k = 0; k < AC_SLIP_CAND; k++) {
		int d = ac_slip_d(k);
		size_t i = w->i + (size_t)(d < 0 ? -d : 0);
		size_t j = (size_t)w->j + (size_t)(d > 0 ? d : 0);

		ac_score_at(w, i, j, &s[k]);
		if (s[k].n > 0 && ac_less_err(&s[k], &s[best], 1.0)) {
			best = k;
		}
	}
	*ret_cur = s[0];
	if (s[0].n == 0 || s[0].prefix > 0) {
		return 0;
	}
	if (ac_exact_best(s, &k)) {
		return ac_slip_d(k);
	}
	if (best == 0 || !ac_less_err(&s[best], &s[0], AC_SLIP_GAIN)) {
		return 0;
	}
	gain = s[0].err / (double)s[0].n - s[best].err / (double)s[best].n;
	return gain >= AC_SLIP_MIN * s[0].xx / (double)s[0].n ? ac_slip_d(best)
							      : 0;
}

static void ac_slip(struct ac_walk *w, int d)
{
	int64_t drift;

	if (d > 0) {
		w->j += d;
	} else {
		w->i += (size_t)-d;
	}
	w->shift += d;
	drift = w->shift < 0 ? -w->shift : w->shift;
	if (drift > w->e->max_lag_drift) {
		w->e->max_lag_drift = drift;
	}
	w->e->slips++;
}

/* The lag jumps at the walk's input position: its period says nothing
 * of the timing between the ears. */
static void ac_jump(struct ac_walk *w)
{
	if (w->i >= w->pp->first) {
		w->pp->p[(w->i - w->pp->first) / AC_CHIRP_EVERY].skipped = true;
	}
}

/* Input the output does not hold, up to input index end: lost unless
 * silent. */
static void ac_lose(struct ac_walk *w, size_t end)
{
	for (; w->i < end && w->i < w->in_n; w->i++) {
		int16_t x = w->in[2 * w->i + w->ch];

		ac_add(&w->a, x, w->in[2 * w->i + (w->ch ^ 1)], 0);
		w->e->mismatches += x != 0;
	}
}

/* Input index of the start of channel ch's first periodic chirp at or
 * after input index i (see audiocheck_sample()), first: the opening's. */
static size_t ac_next_chirp(size_t first, unsigned ch, size_t i)
{
	size_t c = first + AC_CHIRP_EVERY + (ch ? AC_CHIRP_EVERY / 2 : 0);

	if (i > c) {
		c += (i - c + AC_CHIRP_EVERY - 1) / AC_CHIRP_EVERY *
		     AC_CHIRP_EVERY;
	}
	return c;
}

/* Lock lost: the next chirp after this quantum, at another lag? */
static bool ac_resync(struct ac_walk *w)
{
	size_t c = ac_next_chirp(w->pp->first, w->ch, w->i + AC_QUANTUM);
	int64_t lag = w->j - (int64_t)w->i, l, best_l = lag;
	double best = -2.0;

	if (c + AC_CHIRP_LEN > w->in_n) {
		return false;
	}
	for (l = lag - AC_REACQ_BACK; l <= lag + AC_REACQ_FWD; l++) {
		double v = ac_corr(w->in, w->ch, c, c + AC_CHIRP_LEN, w->y,
				   w->out_n, l);

		if (v > best) {
			best = v;
			best_l = l;
		}
	}
	if (best < AC_REACQ_MIN || best_l == lag) {
		return false;
	}
	ac_jump(w);
	ac_lose(w, c);
	ac_jump(w);
	w->j = (int64_t)c + best_l;
	w->e->resyncs++;
	w->locked = true;
	return true;
}

/* Re-search the lag (see AC_SLIP_MAX, AC_LOCK); true when the walk's
 * position moved. */
static bool ac_follow(struct ac_walk *w)
{
	struct ac_score cur;
	int d = ac_relag(w, &cur);

	w->next = w->j + (int64_t)(cur.prefix > 0 ? cur.prefix : AC_QUANTUM);
	if (d != 0) {
		/* Search again from there: how far is it exact? */
		ac_slip(w, d);
		w->next = w->j;
		return true;
	}
	if (cur.xx <= (double)AC_QUIET * AC_QUIET * (double)cur.n) {
		return false; /* silence says nothing either way */
	}
	if (cur.prefix > 0 || cur.err <= AC_LOCK * cur.xx) {
		/* Lined up (past an exact part, looked at where it ends). */
		w->locked = true;
		w->bad = 0;
		return false;
	}
	if (!w->locked || ++w->bad < AC_LOST_AFTER) {
		return false;
	}
	w->locked = false;
	if (!ac_resync(w)) {
		return false;
	}
	w->next = w->j;
	return true;
}

/* Normalized correlation of the input from i with the output from j,
 * over AC_LOOKAHEAD samples. */
#define AC_LOOKAHEAD (2 * AC_QUANTUM)

static double ac_local(const struct ac_walk *w, size_t i, size_t j)
{
	size_t end = i + AC_LOOKAHEAD < w->in_n ? i + AC_LOOKAHEAD : w->in_n;

	return ac_corr(w->in, w->ch, i, end, w->y, w->out_n,
		       (int64_t)j - (int64_t)i);
}

/*
 * Silence at the walk's position where the input has signal: inserted
 * (the input resumes after whole quanta near the run's length: a codec's
 * overlap shortens the run), or in place of the input (a frame concealed
 * with silence: both resume `run` samples on)? Whichever lines up better
 * after it; a near tie goes to inserted, the benign case (five quanta of
 * the tones look alike). Returns the output samples to skip, 0: in place.
 */
static size_t ac_inserted(const struct ac_walk *w, size_t run)
{
	size_t j = (size_t)w->j, m0 = (run + AC_QUANTUM / 2) / AC_QUANTUM;
	size_t m, best_m = 0;
	double best = -2.0;

	for (m = m0 > 1 ? m0 - 1 : 1; m <= m0 + 1; m++) {
		double c = ac_local(w, w->i, j + m * AC_QUANTUM);

		if (c > best) {
			best = c;
			best_m = m;
		}
	}
	return best > ac_local(w, w->i + run, j + run) - 0.1
		       ? best_m * AC_QUANTUM
		       : 0;
}

/* Inserted silence at the walk's position: skip it (true) or not (the
 * run is compared as it is, and not looked at again). */
static bool ac_skip_silence(struct ac_walk *w)
{
	size_t run = ac_quiet_run(w->y, (size_t)w->j, w->out_n), skip;

	if (run < AC_SILENCE_RUN || w->j < w->loud_at) {
		return false;
	}
	skip = ac_inserted(w, run);
	if (skip == 0) {
		w->loud_at = w->j + (int64_t)run;
		return false;
	}
	ac_jump(w);
	w->e->inserted_silence += skip;
	w->j += (int64_t)skip;
	return true;
}

/* Compare the sample at the walk's position and step on. */
static void ac_take(struct ac_walk *w)
{
	int16_t x = w->in[2 * w->i + w->ch], v = w->y[w->j];

	ac_add(&w->a, x, w->in[2 * w->i + (w->ch ^ 1)], v);
	w->e->compared++;
	w->e->mismatches += v != x;
	if (w->i >= w->pp->first && !ac_quiet(x)) {
		/* Silent input holds no timing; pp->n covers the input to
		 * its end. */
		struct ac_period *p =
			&w->pp->p[(w->i - w->pp->first) / AC_CHIRP_EVERY];

		p->lag_sum += (double)(w->j - (int64_t)w->i);
		p->count++;
	}
	w->i++;
	w->j++;
}

/*
 * Walk input channel ch and the output together from the lag on, sample
 * by sample, skipping inserted silence and following slips: count what
 * differs and correlate along the same path (with the other channel too,
 * for routing); add the lag of each sample compared to its chirp period.
 */
void ac_walk(const int16_t *in, size_t in_n, unsigned ch, const int16_t *y,
	     size_t out_n, struct audiocheck_ear *e, struct ac_periods *pp)
{
	struct ac_walk w = { .in = in, .in_n = in_n, .ch = ch, .y = y,
			     .out_n = out_n, .j = e->lag, .e = e, .pp = pp };

	if (w.j < 0) {
		/* Input before the output's first sample. */
		ac_lose(&w, (size_t)-w.j);
		w.j = (int64_t)w.i + e->lag;
	}
	w.next = w.j;
	while (w.i < in_n && (uint64_t)w.j < out_n) {
		int16_t x = in[2 * w.i + ch], v = y[w.j];

		if (ac_quiet(v) && !ac_quiet(x) && ac_skip_silence(&w)) {
			w.next = w.j;
			continue;
		}
		if (w.j >= w.next && ac_follow(&w)) {
			continue;
		}
		ac_take(&w);
	}
	ac_lose(&w, in_n);
	e->corr = ac_norm(w.a.xy, w.a.xx, w.a.yy);
	e->cross_corr = ac_norm(w.a.zy, w.a.zz, w.a.yy);
}
