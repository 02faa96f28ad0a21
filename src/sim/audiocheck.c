/* SPDX-License-Identifier: MIT */
#include "sim/audiocheck.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AC_TONE_AMP 0.24
#define AC_CHIRP_AMP 0.24
#define AC_CHIRP_LEN 960u      /* 20 ms */
#define AC_TONE_START 4800u    /* the opening chirp plays alone 100 ms */
#define AC_CHIRP_EVERY 24000u  /* 0.5 s */
#define AC_F_LOW 500.0
#define AC_F_HIGH 5000.0
/* Alignment: the opening chirp (plus a little silence before it) is
 * searched for within this many samples of the first loud output sample,
 * which finds it whatever the codec's delay or pre-echo. */
#define AC_SEG_LEN 1024
#define AC_SEARCH 2048
#define AC_ONSET_LEVEL 200
/* A run of silence this long where the input has signal may be inserted
 * silence: PipeWire plays whole quanta of it (480 samples, one frame, in
 * ttws.sink's graph) when a client misses a cycle. Silence is |sample| <=
 * AC_QUIET: LC3 rings some tens of LSB into silent frames (up to 59 in
 * the demo's runs); the tones cross 64 within a sample. */
#define AC_QUANTUM 480
#define AC_SILENCE_RUN (AC_QUANTUM / 2)
#define AC_QUIET 64

static const double ac_tone_hz[2] = { 440.0, 660.0 };

/* Chirp sample j (0..AC_CHIRP_LEN) of channel ch: up on the left, down on
 * the right, so the two channels never correlate. Hann-windowed. */
static double ac_chirp(unsigned ch, uint64_t j)
{
	double t = (double)j / AUDIOCHECK_RATE;
	double dur = (double)AC_CHIRP_LEN / AUDIOCHECK_RATE;
	double f0 = ch == 0 ? AC_F_LOW : AC_F_HIGH;
	double f1 = ch == 0 ? AC_F_HIGH : AC_F_LOW;
	double w = sin(M_PI * (double)j / AC_CHIRP_LEN);

	/* Phase of a linear sweep: 2 pi (f0 t + (f1 - f0) t^2 / (2 dur)). */
	return w * w *
	       sin(2.0 * M_PI * (f0 * t + (f1 - f0) * t * t / (2.0 * dur)));
}

int16_t audiocheck_sample(unsigned ch, uint64_t k)
{
	/* The right ear's periodic chirps sit between the left's. */
	uint64_t off = ch == 0 ? 0 : AC_CHIRP_EVERY / 2;
	double v = 0.0;

	if (k < AC_CHIRP_LEN) {
		v += AC_CHIRP_AMP * ac_chirp(ch, k);
	} else if (k >= AC_CHIRP_EVERY &&
		   (k - off) % AC_CHIRP_EVERY < AC_CHIRP_LEN && k >= off) {
		v += AC_CHIRP_AMP * ac_chirp(ch, (k - off) % AC_CHIRP_EVERY);
	}
	if (k >= AC_TONE_START) {
		v += AC_TONE_AMP *
		     sin(2.0 * M_PI * ac_tone_hz[ch & 1] * (double)k /
			 AUDIOCHECK_RATE);
	}
	return (int16_t)lrint(v * 32768.0);
}

int audiocheck_generate(double seconds, double lead_s, double tail_s,
			int16_t **ret_pcm, size_t *ret_frames)
{
	size_t lead, n, tail, i;
	int16_t *pcm;

	if (!(seconds > 0) || !(lead_s >= 0) || !(tail_s >= 0) ||
	    seconds + lead_s + tail_s > 3600) {
		return -EINVAL;
	}
	lead = (size_t)(lead_s * AUDIOCHECK_RATE);
	n = (size_t)(seconds * AUDIOCHECK_RATE);
	tail = (size_t)(tail_s * AUDIOCHECK_RATE);
	pcm = calloc(2 * (lead + n + tail), sizeof(*pcm));
	if (!pcm) {
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		pcm[2 * (lead + i)] = audiocheck_sample(0, i);
		pcm[2 * (lead + i) + 1] = audiocheck_sample(1, i);
	}
	*ret_pcm = pcm;
	*ret_frames = lead + n + tail;
	return 0;
}

static double ac_norm(double xy, double xx, double yy)
{
	return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0;
}

/* Normalized correlation of input channel ch [i0, i1) with out at lag. */
static double ac_corr(const int16_t *in, unsigned ch, size_t i0, size_t i1,
		      const int16_t *out, size_t out_n, int64_t lag)
{
	double xy = 0, xx = 0, yy = 0;
	size_t i;

	for (i = i0; i < i1; i++) {
		int64_t j = (int64_t)i + lag;
		double x = in[2 * i + ch], y;

		if (j < 0 || (uint64_t)j >= out_n) {
			/* Missing output counts against the match. */
			xx += x * x;
			continue;
		}
		y = out[j];
		xy += x * y;
		xx += x * x;
		yy += y * y;
	}
	return ac_norm(xy, xx, yy);
}

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

/* Per 0.5 s chirp period of the input (from its first non-zero sample):
 * the walk's lag summed over the samples with signal compared, how many,
 * and whether the lag jumped there (silence, resync). */
struct ac_period {
	double lag_sum;
	uint64_t count;
	bool skipped;
};

struct ac_periods {
	size_t first; /* input index where period 0 starts */
	size_t n;
	struct ac_period *p;
};

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
static void ac_walk(const int16_t *in, size_t in_n, unsigned ch,
		    const int16_t *y, size_t out_n, struct audiocheck_ear *e,
		    struct ac_periods *pp)
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

static void ac_ear(const int16_t *in, size_t in_n, size_t first, unsigned ch,
		   const int16_t *y, size_t out_n, struct audiocheck_ear *e,
		   struct ac_periods *pp)
{
	size_t seg0 = first > 16 ? first - 16 : 0;
	size_t seg1 = seg0 + AC_SEG_LEN < in_n ? seg0 + AC_SEG_LEN : in_n;
	size_t onset = 0;
	int64_t guess, lag, best_lag = 0;
	double c, best = -2.0;

	memset(e, 0, sizeof(*e));
	while (onset < out_n && abs(y[onset]) < AC_ONSET_LEVEL) {
		onset++;
	}
	if (onset == out_n) {
		return;
	}
	/* The input's first loud sample, for the same level. */
	while (first < in_n && abs(in[2 * first + ch]) < AC_ONSET_LEVEL) {
		first++;
	}
	guess = (int64_t)onset - (int64_t)first;
	for (lag = guess - AC_SEARCH; lag <= guess + AC_SEARCH; lag++) {
		c = ac_corr(in, ch, seg0, seg1, y, out_n, lag);
		if (c > best) {
			best = c;
			best_lag = lag;
		}
	}
	if (best < 0.5) {
		return;
	}
	e->found = true;
	e->lag = best_lag;
	ac_walk(in, in_n, ch, y, out_n, e, pp);
}

/*
 * The per-period measure between the ears: periods where each ear
 * compared at least half the samples (a period an ear skipped as silence
 * or never played says nothing about timing).
 */
static void ac_inter_ear(const struct ac_periods pp[2],
			 struct audiocheck_result *r)
{
	double sum = 0;
	size_t p;

	for (p = 0; p < pp[0].n; p++) {
		const struct ac_period *a = &pp[0].p[p], *b = &pp[1].p[p];
		double diff;

		if (2 * a->count < AC_CHIRP_EVERY || a->skipped ||
		    2 * b->count < AC_CHIRP_EVERY || b->skipped) {
			continue;
		}
		diff = a->lag_sum / (double)a->count -
		       b->lag_sum / (double)b->count;
		sum += diff;
		r->inter_ear_periods++;
		if (fabs(diff) > r->inter_ear_lag_max_mean) {
			r->inter_ear_lag_max_mean = fabs(diff);
		}
	}
	r->inter_ear_lag_max = llround(r->inter_ear_lag_max_mean);
	if (r->inter_ear_periods > 0) {
		r->inter_ear_lag_mean = sum / (double)r->inter_ear_periods;
	}
}

int audiocheck_compare(const int16_t *in, size_t in_frames,
		       const int16_t *const out[2], const size_t out_frames[2],
		       struct audiocheck_result *ret)
{
	struct audiocheck_result r;
	struct ac_periods pp[2];
	size_t first = 0;
	unsigned ch;
	int rc = -ENOMEM;

	memset(&r, 0, sizeof(r));
	memset(pp, 0, sizeof(pp));
	/* Both opening chirps start on the same input sample. */
	while (first < in_frames && in[2 * first] == 0 &&
	       in[2 * first + 1] == 0) {
		first++;
	}
	if (first == in_frames) {
		return -EINVAL;
	}
	for (ch = 0; ch < 2; ch++) {
		pp[ch].first = first;
		pp[ch].n = (in_frames - first) / AC_CHIRP_EVERY + 1;
		pp[ch].p = calloc(pp[ch].n, sizeof(*pp[ch].p));
		if (!pp[ch].p) {
			goto out;
		}
	}
	for (ch = 0; ch < 2; ch++) {
		ac_ear(in, in_frames, first, ch, out[ch], out_frames[ch],
		       &r.ear[ch], &pp[ch]);
	}
	r.inter_ear_lag = r.ear[0].lag - r.ear[1].lag;
	if (r.ear[0].found && r.ear[1].found) {
		ac_inter_ear(pp, &r);
	}
	*ret = r;
	rc = 0;
out:
	for (ch = 0; ch < 2; ch++) {
		free(pp[ch].p);
	}
	return rc;
}
