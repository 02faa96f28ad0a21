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
	uint64_t render; /* true host ns, 0 = not rendered */
	uint8_t sent;
	uint8_t received;
	uint8_t late;
};

struct report_ear {
	struct report_row *rows;
	size_t n; /* allocated rows, indexed by seq */
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

static int report_read(const char *path, bool render, struct report_ear *ears,
		       char *err, size_t err_size)
{
	char line[512], ear[16];
	unsigned long long a, b, c, d, e;
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
		if (render) {
			/* ear,seq,pts_ear_ns,rx_ear_ns,render_host_ns,late */
			r = sscanf(line, "%15[^,],%llu,%llu,%llu,%llu,%llu",
				   ear, &a, &b, &c, &d, &e);
		} else {
			/* ear,seq,tx_host_ns,pts_ear_ns,naive_pts_ear_ns */
			r = sscanf(line, "%15[^,],%llu,%llu,%llu,%llu", ear,
				   &a, &b, &c, &d);
			r = r == 5 ? 6 : r;
		}
		idx = report_ear_index(ear);
		if (r != 6 || idx < 0) {
			snprintf(err, err_size, "%s:%u: malformed line", path,
				 lineno);
			fclose(f);
			return -EINVAL;
		}
		r = report_row(&ears[idx], a, &row);
		if (r < 0) {
			snprintf(err, err_size, "%s:%u: %s", path, lineno,
				 strerror(-r));
			fclose(f);
			return r;
		}
		if (render) {
			row->received = 1;
			row->render = d;
			row->late = e != 0;
		} else {
			row->sent = 1;
			row->pts = c;
			row->naive_pts = d;
		}
	}
	fclose(f);
	return 0;
}

static double report_us(uint64_t ns)
{
	return (double)ns / 1000.0;
}

int report_compute(const char *render_log, const char *frame_log,
		   uint64_t skip_frames, struct report_result *ret,
		   char *err, size_t err_size)
{
	struct report_ear ears[2] = { { 0 } };
	struct hist *h, *hn;
	struct hist_summary s;
	struct report_result res = { 0 };
	double abs_sum = 0;
	size_t seq, n;
	int r, i;

	h = calloc(2, sizeof(*h));
	if (!h) {
		return -ENOMEM;
	}
	hn = h + 1;
	hist_init(h);
	hist_init(hn);
	r = report_read(render_log, true, ears, err, err_size);
	if (r == 0) {
		r = report_read(frame_log, false, ears, err, err_size);
	}
	if (r < 0) {
		goto out;
	}
	for (i = 0; i < 2; i++) {
		for (seq = skip_frames; seq < ears[i].n; seq++) {
			const struct report_row *x = &ears[i].rows[seq];

			res.sent[i] += x->sent;
			res.received[i] += x->received;
			res.late[i] += x->received && x->late;
			res.rendered[i] += x->received && !x->late &&
					   x->render;
			res.lost[i] += x->sent && !x->received;
		}
	}
	n = ears[0].n < ears[1].n ? ears[0].n : ears[1].n;
	for (seq = skip_frames; seq < n; seq++) {
		const struct report_row *l = &ears[0].rows[seq];
		const struct report_row *rr = &ears[1].rows[seq];
		int64_t d, dn;

		if (!l->received || !rr->received || !l->render ||
		    !rr->render || l->late || rr->late) {
			continue;
		}
		d = (int64_t)(l->render - rr->render);
		hist_record(h, (uint64_t)(d < 0 ? -d : d));
		abs_sum += d < 0 ? -(double)d : (double)d;
		res.both++;
		if (l->sent && rr->sent && l->naive_pts && rr->naive_pts) {
			dn = d + ((int64_t)(l->naive_pts - l->pts) -
				  (int64_t)(rr->naive_pts - rr->pts));
			hist_record(hn, (uint64_t)(dn < 0 ? -dn : dn));
		}
	}
	if (hist_summarize(h, &s) == 0) {
		res.p50_us = report_us(s.p50);
		res.p99_us = report_us(s.p99);
		res.p999_us = report_us(s.p999);
		res.max_us = report_us(s.max);
		res.mean_abs_us = abs_sum / (double)res.both / 1000.0;
	}
	if (hist_summarize(hn, &s) == 0) {
		res.naive_p50_us = report_us(s.p50);
		res.naive_p99_us = report_us(s.p99);
		res.naive_max_us = report_us(s.max);
	}
	*ret = res;
out:
	free(ears[0].rows);
	free(ears[1].rows);
	free(h);
	return r;
}

void report_print(const struct report_result *r, bool json)
{
	printf("inter-ear error (true, from the render log), %" PRIu64
	       " frames rendered by both ears:\n",
	       r->both);
	printf("  ttws    p50 %.2f us  p99 %.2f us  p99.9 %.2f us  max %.2f "
	       "us\n",
	       r->p50_us, r->p99_us, r->p999_us, r->max_us);
	printf("  naive   p50 %.2f us  p99 %.2f us  max %.2f us  (same run, "
	       "same samples)\n",
	       r->naive_p50_us, r->naive_p99_us, r->naive_max_us);
	printf("frames: sent %" PRIu64 "/%" PRIu64 " (left/right), rendered %"
	       PRIu64 "/%" PRIu64 ", late %" PRIu64 "/%" PRIu64
	       ", lost %" PRIu64 "/%" PRIu64 "\n",
	       r->sent[0], r->sent[1], r->rendered[0], r->rendered[1],
	       r->late[0], r->late[1], r->lost[0], r->lost[1]);
	if (json) {
		printf("{\"inter_ear_error_us\":{\"p50\":%.3f,\"p99\":%.3f,"
		       "\"p999\":%.3f,\"max\":%.3f},\"naive_p99_us\":%.3f,"
		       "\"frames\":{\"sent\":%" PRIu64
		       ",\"rendered_left\":%" PRIu64
		       ",\"rendered_right\":%" PRIu64 ",\"late\":%" PRIu64
		       ",\"lost\":%" PRIu64 ",\"both\":%" PRIu64 "}}\n",
		       r->p50_us, r->p99_us, r->p999_us, r->max_us,
		       r->naive_p99_us, r->sent[0] + r->sent[1],
		       r->rendered[0], r->rendered[1], r->late[0] + r->late[1],
		       r->lost[0] + r->lost[1], r->both);
	}
}
