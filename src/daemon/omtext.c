/* SPDX-License-Identifier: MIT */
#include "daemon/omtext.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"

/*
 * Histogram boundaries, ns and the "le" text. The text is hard-coded in
 * the spec's canonical form (Go's %g, ".0" added to a bare integer; see
 * "Considerations: Canonical Numbers"), which the spec allows for a fixed
 * set: printf has no such mode. Every value here below 128 ns or at the
 * top of its core/hist bucket would be counted exactly; the others are
 * bucket starts (1000 ns opens [1000, 1007]), so a sample equal to the
 * boundary is counted under the next one (see omtext.h).
 */
static const struct {
	uint64_t ns;
	const char *le;
} omtext_le[] = {
    {100, "1e-07"},	 {200, "2e-07"},     {500, "5e-07"},
    {1000, "1e-06"},	 {2000, "2e-06"},    {5000, "5e-06"},
    {10000, "1e-05"},	 {20000, "2e-05"},   {50000, "5e-05"},
    {100000, "0.0001"},	 {200000, "0.0002"}, {500000, "0.0005"},
    {1000000, "0.001"},	 {2000000, "0.002"}, {5000000, "0.005"},
    {10000000, "0.01"},	 {20000000, "0.02"}, {50000000, "0.05"},
    {100000000, "0.1"},	 {200000000, "0.2"}, {500000000, "0.5"},
    {1000000000, "1.0"},
};

/* Length of the valid UTF-8 sequence at p (RFC 3629, 4), or 0. */
static unsigned omtext_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	unsigned len, i;

	if (*p >= 0xc2 && *p <= 0xdf) {
		len = 2;
	} else if (*p >= 0xe0 && *p <= 0xef) {
		len = 3;
		lo = *p == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
		hi = *p == 0xed ? 0x9f : 0xbf; /* no surrogates */
	} else if (*p >= 0xf0 && *p <= 0xf4) {
		len = 4;
		lo = *p == 0xf0 ? 0x90 : 0x80;
		hi = *p == 0xf4 ? 0x8f : 0xbf; /* up to U+10FFFF */
	} else {
		return 0;
	}
	/* A NUL fails the range check, so this never reads past it. */
	for (i = 1; i < len; i++) {
		if (p[i] < (i == 1 ? lo : 0x80) ||
		    p[i] > (i == 1 ? hi : 0xbf)) {
			return 0;
		}
	}
	return len;
}

/*
 * A label value: backslash, double quote and newline escaped as the
 * ABNF's escaped-string wants (the Prometheus format escapes the same
 * three); OpenMetrics requires UTF-8, so each byte of an invalid
 * sequence becomes U+FFFD.
 */
static void omtext_escaped(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned len;

	while (*p) {
		if (*p == '\\' || *p == '"') {
			fputc('\\', f);
			fputc(*p++, f);
		} else if (*p == '\n') {
			fputs("\\n", f);
			p++;
		} else if (*p < 0x80) {
			fputc(*p++, f);
		} else if ((len = omtext_utf8_len(p)) > 0) {
			fwrite(p, 1, len, f);
			p += len;
		} else {
			fputs("\xef\xbf\xbd", f);
			p++;
		}
	}
}

/*
 * The shortest of %.15g .. %.17g that reads back as v: exact, and 0.1
 * stays "0.1" (the spec warns that plain %g keeps six digits). ttwsd
 * never calls setlocale(), so the decimal point is '.'.
 */
static void omtext_double(FILE *f, double v)
{
	char buf[40];
	int prec;

	if (isnan(v)) {
		fputs("NaN", f);
		return;
	}
	if (isinf(v)) {
		fputs(v > 0 ? "+Inf" : "-Inf", f);
		return;
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v) {
			break;
		}
	}
	fputs(buf, f);
}

/* The sample name's suffix for a family's plain value. */
static const char *omtext_suffix(enum omtext_type t)
{
	switch (t) {
	case OMTEXT_COUNTER:
		return "_total";
	case OMTEXT_INFO:
		return "_info";
	case OMTEXT_GAUGE:
	case OMTEXT_STATESET:
	case OMTEXT_HISTOGRAM:
		break;
	}
	return "";
}

static const char *omtext_type_name(enum omtext_type t, bool openmetrics)
{
	switch (t) {
	case OMTEXT_COUNTER:
		return "counter";
	case OMTEXT_GAUGE:
		return "gauge";
	case OMTEXT_STATESET:
		return openmetrics ? "stateset" : "gauge";
	case OMTEXT_INFO:
		return openmetrics ? "info" : "gauge";
	case OMTEXT_HISTOGRAM:
		return "histogram";
	}
	return "unknown";
}

void omtext_init(struct omtext *w, FILE *f, bool openmetrics)
{
	w->f = f;
	w->openmetrics = openmetrics;
	w->open = NULL;
}

/* The family's metadata, once, before its first sample. */
static void omtext_header(struct omtext *w, const struct omtext_family *m)
{
	const char *type = omtext_type_name(m->type, w->openmetrics);
	const char *sfx = omtext_suffix(m->type);

	if (w->open == m) {
		return;
	}
	w->open = m;
	if (w->openmetrics) {
		fprintf(w->f, "# TYPE %s %s\n", m->name, type);
		if (m->unit[0]) {
			fprintf(w->f, "# UNIT %s %s\n", m->name, m->unit);
		}
		fprintf(w->f, "# HELP %s %s\n", m->name, m->help);
		return;
	}
	/* The Prometheus format names a family after its samples. */
	fprintf(w->f, "# HELP %s%s %s\n", m->name, sfx, m->help);
	fprintf(w->f, "# TYPE %s%s %s\n", m->name, sfx, type);
}

/* Everything up to the value: name{a="x",b="y"} and a space. */
static void omtext_begin(struct omtext *w, const struct omtext_family *m,
			 const char *suffix, const struct omtext_label *l,
			 size_t n)
{
	size_t i;

	omtext_header(w, m);
	fputs(m->name, w->f);
	fputs(suffix, w->f);
	for (i = 0; i < n; i++) {
		fprintf(w->f, "%c%s=\"", i ? ',' : '{', l[i].name);
		omtext_escaped(w->f, l[i].value);
		fputc('"', w->f);
	}
	fputs(n ? "} " : " ", w->f);
}

void omtext_u64(struct omtext *w, const struct omtext_family *m,
		const struct omtext_label *l, size_t n, uint64_t v)
{
	omtext_begin(w, m, omtext_suffix(m->type), l, n);
	fprintf(w->f, "%" PRIu64 "\n", v);
}

void omtext_f64(struct omtext *w, const struct omtext_family *m,
		const struct omtext_label *l, size_t n, double v)
{
	omtext_begin(w, m, omtext_suffix(m->type), l, n);
	omtext_double(w->f, v);
	fputc('\n', w->f);
}

void omtext_stateset(struct omtext *w, const struct omtext_family *m,
		     const struct omtext_label *l, size_t n,
		     const char *const *states, size_t n_states, size_t current)
{
	struct omtext_label ll[OMTEXT_MAX_LABELS];
	size_t i;

	if (n >= OMTEXT_MAX_LABELS) {
		return;
	}
	if (n) {
		memcpy(ll, l, n * sizeof(*l));
	}
	/* OpenMetrics, StateSet: the label is named after the family. */
	ll[n].name = m->name;
	for (i = 0; i < n_states; i++) {
		ll[n].value = states[i];
		omtext_u64(w, m, ll, n + 1, i == current);
	}
}

void omtext_hist(struct omtext *w, const struct omtext_family *m,
		 const struct omtext_label *l, size_t n, const struct hist *h)
{
	struct omtext_label ll[OMTEXT_MAX_LABELS];
	uint64_t count = hist_count(h), cum = 0;
	double mean = 0.0;
	size_t i;

	if (n >= OMTEXT_MAX_LABELS) {
		return;
	}
	if (n) {
		memcpy(ll, l, n * sizeof(*l));
	}
	ll[n].name = "le";
	for (i = 0; i < ARRAY_SIZE(omtext_le); i++) {
		/* Cumulative and <= +Inf even from an inconsistent copy. */
		cum = MAX(cum, MIN(hist_count_le(h, omtext_le[i].ns), count));
		ll[n].value = omtext_le[i].le;
		omtext_begin(w, m, "_bucket", ll, n + 1);
		fprintf(w->f, "%" PRIu64 "\n", cum);
	}
	ll[n].value = "+Inf";
	omtext_begin(w, m, "_bucket", ll, n + 1);
	fprintf(w->f, "%" PRIu64 "\n", count);
	omtext_begin(w, m, "_count", l, n);
	fprintf(w->f, "%" PRIu64 "\n", count);
	/* hist keeps the exact sum; its mean is that sum / count. */
	if (hist_mean(h, &mean) < 0) {
		mean = 0.0;
	}
	omtext_begin(w, m, "_sum", l, n);
	omtext_double(w->f, mean * (double)count / 1e9);
	fputc('\n', w->f);
}

int omtext_finish(struct omtext *w)
{
	if (w->openmetrics) {
		fputs("# EOF\n", w->f);
	}
	return ferror(w->f) ? -EIO : 0;
}
