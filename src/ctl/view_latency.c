/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/macro.h"
#include "ctl/fmt.h"
#include "ctl/jsonpath.h"
#include "ctl/table.h"
#include "ctl/view.h"

/*
 * The layers of DESIGN.md's latency attribution, in packet order: a
 * received packet crosses the transport (controller, UART), the kernel
 * (socket timestamp -> completion), the loop (completion -> handler) and
 * the handler; a sent one is submitted, crosses the kernel, and is done
 * (TX completion).
 */
static const char *const ctl_rx_layers[] = {
    "transport",
    "kernel",
    "loop",
    "handler",
};
static const char *const ctl_tx_layers[] = {
    "submit",
    "kernel",
    "done",
};
static const char *const ctl_ears[] = {"left", "right"};

size_t ctl_latency_layers(struct json_object *ear_hist, enum ctl_dir dir,
			  struct ctl_layer ret[CTL_LAYERS_MAX])
{
	const char *const *names =
	    dir == CTL_DIR_RX ? ctl_rx_layers : ctl_tx_layers;
	size_t i, n = dir == CTL_DIR_RX ? ARRAY_SIZE(ctl_rx_layers)
					: ARRAY_SIZE(ctl_tx_layers);
	char key[32];

	for (i = 0; i < n; i++) {
		struct ctl_layer *l = &ret[i];
		struct json_object *t;

		snprintf(key, sizeof(key), "%s_%s",
			 dir == CTL_DIR_RX ? "rx" : "tx", names[i]);
		t = ctl_json_at(ear_hist, key);
		*l = (struct ctl_layer){.name = names[i]};
		if (ctl_json_int64(t, "count", &l->count) < 0) {
			l->count = 0;
		}
		/* An empty TABLE is {"count": 0}: not a candidate. */
		l->present = l->count > 0 &&
			     ctl_json_double(t, "p99_us", &l->p99_us) == 0;
		if (l->present) {
			if (ctl_json_double(t, "p50_us", &l->p50_us) < 0 ||
			    ctl_json_double(t, "max_us", &l->max_us) < 0) {
				l->present = false;
			}
		}
	}
	return n;
}

int ctl_latency_dominant(const struct ctl_layer *l, size_t n)
{
	int best = -1;
	size_t i;

	for (i = 0; i < n; i++) {
		if (l[i].present &&
		    (best < 0 || l[i].p99_us > l[best].p99_us)) {
			best = (int)i;
		}
	}
	return best;
}

static void ctl_latency_rows(struct ctl_table *t, const char *dir,
			     const struct ctl_layer *l, size_t n)
{
	char buf[CTL_FMT_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		ctl_table_cell(t, "%s", i ? "" : dir);
		ctl_table_cell(t, "%s", l[i].name);
		ctl_table_cell(t, "%" PRId64, l[i].count);
		if (!l[i].present) {
			ctl_table_cell(t, "-");
			ctl_table_cell(t, "-");
			ctl_table_cell(t, "-");
		} else {
			ctl_table_cell(
			    t, "%s",
			    ctl_fmt_hist_us(buf, sizeof(buf), l[i].p50_us));
			ctl_table_cell(
			    t, "%s",
			    ctl_fmt_hist_us(buf, sizeof(buf), l[i].p99_us));
			ctl_table_cell(
			    t, "%s",
			    ctl_fmt_hist_us(buf, sizeof(buf), l[i].max_us));
		}
		ctl_table_end_row(t);
	}
}

/* "rx kernel (p99 45.6 us)" or "rx -". */
static void ctl_latency_tail(FILE *f, const char *dir,
			     const struct ctl_layer *l, size_t n)
{
	int d = ctl_latency_dominant(l, n);
	char buf[CTL_FMT_MAX];

	if (d < 0) {
		fprintf(f, "%s -", dir);
		return;
	}
	fprintf(f, "%s %s (p99 %s us)", dir, l[d].name,
		ctl_fmt_hist_us(buf, sizeof(buf), l[d].p99_us));
}

static int ctl_latency_ear(FILE *f, const char *ear,
			   struct json_object *ear_hist)
{
	struct ctl_layer rx[CTL_LAYERS_MAX], tx[CTL_LAYERS_MAX];
	size_t nrx = ctl_latency_layers(ear_hist, CTL_DIR_RX, rx);
	size_t ntx = ctl_latency_layers(ear_hist, CTL_DIR_TX, tx);
	struct ctl_table *t = ctl_table_new(6);
	unsigned col;
	int r;

	if (!t) {
		return -ENOMEM;
	}
	for (col = 2; col < 6; col++) {
		ctl_table_align(t, col, CTL_ALIGN_RIGHT);
	}
	/* As wide as "right": both ears' tables line up. */
	ctl_table_cell(t, "%-5s", ear);
	ctl_table_cell(t, "%s", "");
	ctl_table_cell(t, "count");
	ctl_table_cell(t, "p50 us");
	ctl_table_cell(t, "p99 us");
	ctl_table_cell(t, "max us");
	ctl_table_end_row(t);
	ctl_latency_rows(t, "rx", rx, nrx);
	ctl_latency_rows(t, "tx", tx, ntx);
	r = ctl_table_print(t, f, 0, CTL_WIDTH);
	ctl_table_free(t);
	if (r < 0) {
		return r;
	}
	fputs("tail: ", f);
	ctl_latency_tail(f, "rx", rx, nrx);
	fputs(", ", f);
	ctl_latency_tail(f, "tx", tx, ntx);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

int ctl_view_latency(FILE *f, struct json_object *stats)
{
	char path[64];
	size_t e;
	int r;

	for (e = 0; e < ARRAY_SIZE(ctl_ears); e++) {
		snprintf(path, sizeof(path), "histograms.%s", ctl_ears[e]);
		if (e) {
			fputc('\n', f);
		}
		r = ctl_latency_ear(f, ctl_ears[e], ctl_json_at(stats, path));
		if (r < 0) {
			return r;
		}
	}
	return 0;
}

static struct json_object *ctl_latency_dir_json(const struct ctl_layer *l,
						size_t n)
{
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; o && i < n; i++) {
		struct json_object *v = NULL;

		if (l[i].present) {
			v = json_object_new_object();
			json_object_object_add(
			    v, "count", json_object_new_int64(l[i].count));
			json_object_object_add(
			    v, "p50_us", json_object_new_double(l[i].p50_us));
			json_object_object_add(
			    v, "p99_us", json_object_new_double(l[i].p99_us));
			json_object_object_add(
			    v, "max_us", json_object_new_double(l[i].max_us));
		}
		json_object_object_add(o, l[i].name, v);
	}
	return o;
}

static struct json_object *ctl_latency_name(const struct ctl_layer *l, size_t n)
{
	int d = ctl_latency_dominant(l, n);

	return d < 0 ? NULL : json_object_new_string(l[d].name);
}

struct json_object *ctl_latency_json(struct json_object *stats)
{
	struct json_object *root = json_object_new_object();
	char path[64];
	size_t e;

	for (e = 0; root && e < ARRAY_SIZE(ctl_ears); e++) {
		struct ctl_layer rx[CTL_LAYERS_MAX], tx[CTL_LAYERS_MAX];
		struct json_object *ear = json_object_new_object();
		size_t nrx, ntx;

		if (!ear) {
			json_object_put(root);
			return NULL;
		}
		snprintf(path, sizeof(path), "histograms.%s", ctl_ears[e]);
		nrx = ctl_latency_layers(ctl_json_at(stats, path), CTL_DIR_RX,
					 rx);
		ntx = ctl_latency_layers(ctl_json_at(stats, path), CTL_DIR_TX,
					 tx);
		json_object_object_add(ear, "rx",
				       ctl_latency_dir_json(rx, nrx));
		json_object_object_add(ear, "tx",
				       ctl_latency_dir_json(tx, ntx));
		json_object_object_add(ear, "dominant_rx",
				       ctl_latency_name(rx, nrx));
		json_object_object_add(ear, "dominant_tx",
				       ctl_latency_name(tx, ntx));
		json_object_object_add(root, ctl_ears[e], ear);
	}
	return root;
}
