/* SPDX-License-Identifier: MIT */
#include "sim/report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hist.h"

struct report_row {
	uint64_t pts;
	uint64_t naive_pts;
	uint64_t render;   /* true host ns of the sound, 0 = not rendered */
	uint64_t pts_host; /* true host ns the ear's clock read pts */
	uint8_t sent;
	uint8_t received;
	uint8_t late;
};

struct report_ear {
	struct report_row *rows;
	size_t n; /* allocated rows, indexed by seq */
};

/* The histograms of one report, in ns: one allocation (~30 KiB each). */
struct report_hists {
	struct hist mapping, acoustic, naive;
};

static int report_row(struct report_ear *e, uint64_t seq,
		      struct report_row **ret)
{
	if (seq > 100000000) {
		return -ERANGE; /* 11 days of 10 ms frames: a corrupt log */
	}
	if (seq >= e->n) {
		size_t n = e->n ? e->n : 1024;
		struct report_row *rows;

		while (n <= seq) {
			n *= 2;
		}
		rows = realloc(e->rows, n * sizeof(*rows));
		if (!rows) {
			return -ENOMEM;
		}
		memset(rows + e->n, 0, (n - e->n) * sizeof(*rows));
		e->rows = rows;
		e->n = n;
	}
	*ret = &e->rows[seq];
	return 0;
}

static int report_ear_index(const char *name)
{
	if (strcmp(name, "left") == 0) {
		return 0;
	}
	if (strcmp(name, "right") == 0) {
		return 1;
	}
	return -1;
}

/*
 * One render log line into its row. pts_host_ns (the 7th column) is
 * optional: a 6-column log has one instant per frame, used for both.
 * Returns the number of fields read (6 or 7), or -EINVAL.
 */
static int report_parse_render(const char *line, char *ear,
			       unsigned long long v[6])
{
	/* ear,seq,pts_ear_ns,rx_ear_ns,render_host_ns,late[,pts_host_ns] */
	int r = sscanf(line, "%15[^,],%llu,%llu,%llu,%llu,%llu,%llu", ear,
		       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);

	if (r == 6) {
		v[5] = v[3];
	}
	return r == 6 || r == 7 ? r : -EINVAL;
}

/* One frame log line: ear,seq,tx_host_ns,pts_ear_ns,naive_pts_ear_ns */
static int report_parse_frame(const char *line, char *ear,
			      unsigned long long v[6])
{
	int r = sscanf(line, "%15[^,],%llu,%llu,%llu,%llu", ear, &v[0],
		       &v[1], &v[2], &v[3]);

	return r == 5 ? r : -EINVAL;
}

static void report_fill_row(struct report_row *row, bool render,
			    const unsigned long long v[6])
{
	if (render) {
		row->received = 1;
		row->render = v[3];
		row->late = v[4] != 0;
		row->pts_host = v[5];
	} else {
		row->sent = 1;
		row->pts = v[2];
		row->naive_pts = v[3];
	}
}

/*
 * Read one log into ears. pts_host_seen (render logs only): set to true
 * when a line had the pts_host_ns column.
 */
static int report_read(const char *path, bool render, struct report_ear *ears,
		       bool *pts_host_seen, char *err, size_t err_size)
{
	char line[512], ear[16];
	unsigned long long v[6];
	struct report_row *row;
	unsigned lineno = 0;
	FILE *f;
	int idx, r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return r;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (lineno == 1) {
			continue; /* header */
		}
		r = render ? report_parse_render(line, ear, v) :
			     report_parse_frame(line, ear, v);
		idx = r < 0 ? -1 : report_ear_index(ear);
		if (idx < 0) {
			snprintf(err, err_size, "%s:%u: malformed line", path,
				 lineno);
			fclose(f);
			return -EINVAL;
		}
		if (render && r == 7) {
			*pts_host_seen = true;
		}
		r = report_row(&ears[idx], v[0], &row);
		if (r < 0) {
			snprintf(err, err_size, "%s:%u: %s", path, lineno,
				 strerror(-r));
			fclose(f);
			return r;
		}
		report_fill_row(row, render, v);
	}
	fclose(f);
	return 0;
}

static double report_us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

static uint64_t report_abs(int64_t d)
{
	return d < 0 ? -(uint64_t)d : (uint64_t)d;
}

/* Per ear: what was sent, received, rendered, late, lost. */
static void report_tally(const struct report_ear *ears, uint64_t skip,
			 struct report_result *res)
{
	size_t seq;
	int i;

	for (i = 0; i < 2; i++) {
		for (seq = skip; seq < ears[i].n; seq++) {
			const struct report_row *x = &ears[i].rows[seq];

			res->sent[i] += x->sent;
			res->received[i] += x->received;
			res->late[i] += x->received && x->late;
			res->rendered[i] += x->received && !x->late &&
					    x->render;
			res->lost[i] += x->sent && !x->received;
		}
	}
}

/* The inter-ear errors of every frame both ears rendered. */
static void report_pairs(const struct report_ear *ears, uint64_t skip,
			 struct report_hists *h, struct report_result *res)
{
	size_t seq, n = ears[0].n < ears[1].n ? ears[0].n : ears[1].n;

	for (seq = skip; seq < n; seq++) {
		const struct report_row *l = &ears[0].rows[seq];
		const struct report_row *rr = &ears[1].rows[seq];
		int64_t d, dn;

		if (!l->received || !rr->received || !l->render ||
		    !rr->render || l->late || rr->late) {
			continue;
		}
		d = (int64_t)(l->pts_host - rr->pts_host);
		hist_record(&h->mapping, report_abs(d));
		hist_record(&h->acoustic,
			    report_abs((int64_t)(l->render - rr->render)));
		res->both++;
		if (l->sent && rr->sent && l->naive_pts && rr->naive_pts) {
			dn = d + ((int64_t)(l->naive_pts - l->pts) -
				  (int64_t)(rr->naive_pts - rr->pts));
			hist_record(&h->naive, report_abs(dn));
		}
	}
}

static void report_error_of(const struct hist *h, struct report_error *ret)
{
	struct hist_summary s;

	if (hist_summarize(h, &s) == 0) {
		ret->p50_us = report_us(s.p50);
		ret->p99_us = report_us(s.p99);
		ret->p999_us = report_us(s.p999);
		ret->max_us = report_us(s.max);
		ret->mean_abs_us = s.mean / 1000.0;
	}
}

/* Fill ret's errors from h. */
static void report_errors(const struct report_hists *h,
			  struct report_result *ret)
{
	struct report_error naive = { 0 };

	report_error_of(&h->mapping, &ret->mapping);
	report_error_of(&h->acoustic, &ret->acoustic);
	report_error_of(&h->naive, &naive);
	ret->naive_p50_us = naive.p50_us;
	ret->naive_p99_us = naive.p99_us;
	ret->naive_max_us = naive.max_us;
}

/* One pair's logs into *ret and h (reset here). */
static int report_one(const char *render_log, const char *frame_log,
		      uint64_t skip_frames, struct report_hists *h,
		      struct report_result *ret, char *err, size_t err_size)
{
	struct report_ear ears[2] = { { 0 } };
	struct report_result res = { 0 };
	int r;

	hist_init(&h->mapping);
	hist_init(&h->acoustic);
	hist_init(&h->naive);
	r = report_read(render_log, true, ears, &res.pts_host, err,
			err_size);
	if (r == 0) {
		r = report_read(frame_log, false, ears, NULL, err, err_size);
	}
	if (r == 0) {
		report_tally(ears, skip_frames, &res);
		report_pairs(ears, skip_frames, h, &res);
		report_errors(h, &res);
		*ret = res;
	}
	free(ears[0].rows);
	free(ears[1].rows);
	return r;
}

int report_compute(const char *render_log, const char *frame_log,
		   uint64_t skip_frames, struct report_result *ret,
		   char *err, size_t err_size)
{
	struct report_hists *h;
	int r;

	h = malloc(sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	r = report_one(render_log, frame_log, skip_frames, h, ret, err,
		       err_size);
	free(h);
	return r;
}

/* The counts of one pair added to all's. */
static void report_add(struct report_result *all,
		       const struct report_result *one)
{
	int i;

	all->both += one->both;
	all->pts_host = all->pts_host && one->pts_host;
	for (i = 0; i < 2; i++) {
		all->sent[i] += one->sent[i];
		all->received[i] += one->received[i];
		all->rendered[i] += one->rendered[i];
		all->late[i] += one->late[i];
		all->lost[i] += one->lost[i];
	}
}

int report_compute_pairs(unsigned n, const char *const render_logs[],
			 const char *const frame_logs[],
			 uint64_t skip_frames, struct report_result ret[],
			 struct report_result *ret_all, char *err,
			 size_t err_size)
{
	struct report_result all = { .pts_host = true };
	struct report_hists *h;
	unsigned i;
	int r = 0;

	h = malloc(2 * sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	hist_init(&h[1].mapping);
	hist_init(&h[1].acoustic);
	hist_init(&h[1].naive);
	for (i = 0; i < n && r == 0; i++) {
		r = report_one(render_logs[i], frame_logs[i], skip_frames,
			       &h[0], &ret[i], err, err_size);
		if (r < 0) {
			break;
		}
		report_add(&all, &ret[i]);
		/* The same bucket layout on both sides: cannot fail. */
		(void)hist_merge(&h[1].mapping, &h[0].mapping);
		(void)hist_merge(&h[1].acoustic, &h[0].acoustic);
		(void)hist_merge(&h[1].naive, &h[0].naive);
	}
	if (r == 0) {
		report_errors(&h[1], &all);
		*ret_all = all;
	}
	free(h);
	return r;
}

static void report_print_error(const char *what,
			       const struct report_error *e)
{
	printf("  %-7s p50 %.2f us  p99 %.2f us  p99.9 %.2f us  max %.2f "
	       "us\n",
	       what, e->p50_us, e->p99_us, e->p999_us, e->max_us);
}

static void report_json_error(const char *key, const struct report_error *e)
{
	printf("\"%s\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,"
	       "\"max\":%.3f}",
	       key, e->p50_us, e->p99_us, e->p999_us, e->max_us);
}

/* The report's JSON members, without the braces. */
static void report_json_members(const struct report_result *r)
{
	report_json_error("inter_ear_error_us", &r->mapping);
	printf(",");
	report_json_error("acoustic_error_us", &r->acoustic);
	printf(",\"naive_p99_us\":%.3f,"
	       "\"frames\":{\"sent\":%" PRIu64 ",\"rendered_left\":%" PRIu64
	       ",\"rendered_right\":%" PRIu64 ",\"late\":%" PRIu64
	       ",\"lost\":%" PRIu64 ",\"both\":%" PRIu64 "}",
	       r->naive_p99_us, r->sent[0] + r->sent[1], r->rendered[0],
	       r->rendered[1], r->late[0] + r->late[1], r->lost[0] + r->lost[1],
	       r->both);
}

/* The text report of one pair (or of all). */
static void report_text(const struct report_result *r)
{
	printf("inter-ear error of the mapping (true, from the render log: "
	       "where each ear's clock read pts), %" PRIu64
	       " frames rendered by both ears:\n",
	       r->both);
	report_print_error("ttws", &r->mapping);
	printf("  naive   p50 %.2f us  p99 %.2f us  max %.2f us  (same run, "
	       "same samples)\n",
	       r->naive_p50_us, r->naive_p99_us, r->naive_max_us);
	printf("acoustic (where the sound started: the mapping plus the "
	       "earbud's sample grid)%s:\n",
	       r->pts_host ? "" : " (6-column log: the same instants)");
	report_print_error("ttws", &r->acoustic);
	printf("frames: sent %" PRIu64 "/%" PRIu64 " (left/right), rendered %"
	       PRIu64 "/%" PRIu64 ", late %" PRIu64 "/%" PRIu64
	       ", lost %" PRIu64 "/%" PRIu64 "\n",
	       r->sent[0], r->sent[1], r->rendered[0], r->rendered[1],
	       r->late[0], r->late[1], r->lost[0], r->lost[1]);
}

void report_print(const struct report_result *r, bool json)
{
	report_text(r);
	if (json) {
		printf("{");
		report_json_members(r);
		printf("}\n");
	}
}

void report_print_pairs(unsigned n, const char *const names[],
			const struct report_result r[],
			const struct report_result *all, bool json)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		printf("pair %s: ", names[i]);
		report_text(&r[i]);
	}
	printf("all %u pairs: ", n);
	report_text(all);
	if (!json) {
		return;
	}
	printf("{\"pairs\":[");
	for (i = 0; i < n; i++) {
		/* Names are [a-z0-9_-] (sim/simpairs.h): nothing to
		 * escape. */
		printf("%s{\"name\":\"%s\",", i ? "," : "", names[i]);
		report_json_members(&r[i]);
		printf("}");
	}
	printf("],\"all\":{");
	report_json_members(all);
	printf("}}\n");
}
