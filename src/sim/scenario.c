/* SPDX-License-Identifier: MIT */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/macro.h"
#include "sim/scenario.h"

enum scenario_section {
	SECTION_NONE = -1,
	SECTION_RUN = 0,
	SECTION_DONGLE,
	SECTION_LEFT,
	SECTION_RIGHT,
	SECTION_COUNT,
};

static const char *const section_names[SECTION_COUNT] = {
	[SECTION_RUN] = "run",
	[SECTION_DONGLE] = "dongle",
	[SECTION_LEFT] = "left",
	[SECTION_RIGHT] = "right",
};

enum key_type {
	KEY_DOUBLE,
	KEY_U64,
	KEY_U32,
	KEY_CI, /* a uint32_t BLE interval: in range and in 1.25 ms units */
	KEY_JITTER,
};

/*
 * One row per key. For the ear sections the offset is into struct
 * scenario_ear, otherwise into struct scenario. The range is checked
 * here; rules between keys in scenario_check().
 */
struct key_desc {
	enum scenario_section section; /* SECTION_LEFT: either ear */
	const char *name;
	enum key_type type;
	size_t offset;
	double min;
	double max;
	bool min_open; /* the range is (min, max] */
	bool zero_ok;  /* 0 is accepted too, meaning "none" (KEY_CI) */
};

#define RUN_KEY(n, t, lo, hi)                                                 \
	{ SECTION_RUN, #n, t, offsetof(struct scenario, n), lo, hi, false,   \
	  false }
#define EAR_KEY(n, t, lo, hi)                                                 \
	{ SECTION_LEFT, #n, t, offsetof(struct scenario_ear, n), lo, hi,     \
	  false, false }

static const struct key_desc keys[] = {
	{ SECTION_RUN, "duration_s", KEY_DOUBLE,
	  offsetof(struct scenario, duration_s), 0.0, 1e6, true, false },
	RUN_KEY(seed, KEY_U64, 0.0, 0.0),
	RUN_KEY(frame_ms, KEY_DOUBLE, 1.0, 100.0),
	RUN_KEY(pair_ppm_spread, KEY_DOUBLE, 0.0, SCENARIO_PAIR_PPM_SPREAD_MAX),
	{ SECTION_DONGLE, "ppm", KEY_DOUBLE,
	  offsetof(struct scenario, dongle_ppm), -1000.0, 1000.0, false,
	  false },
	EAR_KEY(ppm, KEY_DOUBLE, -1000.0, 1000.0),
	EAR_KEY(wander_ppb_per_s, KEY_DOUBLE, 0.0, 1000.0),
	EAR_KEY(offset_ms, KEY_DOUBLE, -1e7, 1e9),
	EAR_KEY(ci_us, KEY_CI, SIMLINK_CI_MIN_US, SIMLINK_CI_MAX_US),
	EAR_KEY(anchor_phase_us, KEY_U32, 0.0, SIMLINK_CI_MAX_US),
	EAR_KEY(loss, KEY_DOUBLE, 0.0, 0.9),
	EAR_KEY(hci_jitter_dist, KEY_JITTER, 0.0, 0.0),
	EAR_KEY(hci_jitter_us, KEY_DOUBLE, 0.0, 1e5),
	EAR_KEY(drop_at_s, KEY_DOUBLE, 0.0, 1e6),
	EAR_KEY(drop_for_s, KEY_DOUBLE, 0.0, 1e6),
	EAR_KEY(ts_res_ns, KEY_U32, 1.0, 1e6),
	EAR_KEY(anchor_jitter_us, KEY_DOUBLE, 0.0,
		SIMLINK_ANCHOR_JITTER_MAX_US),
	EAR_KEY(render_res_us, KEY_DOUBLE, 0.0, 1000.0),
	EAR_KEY(ppm_step_at_s, KEY_DOUBLE, 0.0, 1e6),
	EAR_KEY(ppm_step, KEY_DOUBLE, -1000.0, 1000.0),
	EAR_KEY(ci_change_at_s, KEY_DOUBLE, 0.0, 1e6),
	{ SECTION_LEFT, "ci_change_to_us", KEY_CI,
	  offsetof(struct scenario_ear, ci_change_to_us), SIMLINK_CI_MIN_US,
	  SIMLINK_CI_MAX_US, false, true },
	EAR_KEY(freeze_at_s, KEY_DOUBLE, 0.0, 1e6),
	EAR_KEY(freeze_for_s, KEY_DOUBLE, 0.0, 1e6),
};

#define KEY_COUNT ARRAY_SIZE(keys)

struct parse_ctx {
	FILE *f;
	const char *path;
	struct scenario sc;
	unsigned line;    /* of the line inih is looking at */
	unsigned err_line; /* first error: 0 while none */
	char err[200];
	/* Line of each key given, 0 if not given: for the cross checks. */
	unsigned line_of[SECTION_COUNT][KEY_COUNT];
};

void scenario_default(struct scenario *ret)
{
	memset(ret, 0, sizeof(*ret));
	strcpy(ret->name, "default");
	ret->duration_s = 60.0;
	ret->seed = 1;
	ret->frame_ms = 10.0;
	ret->pair_ppm_spread = SCENARIO_PAIR_PPM_SPREAD_DEFAULT;
	for (int i = 0; i < SCENARIO_SIDES; i++) {
		ret->ear[i].ci_us = SIMLINK_CI_MIN_US;
		ret->ear[i].hci_jitter_dist = SIMLINK_JITTER_EXPONENTIAL;
		ret->ear[i].ts_res_ns = 1;
	}
}

const char *scenario_side_name(enum scenario_side side)
{
	switch (side) {
	case SCENARIO_LEFT:
		return "left";
	case SCENARIO_RIGHT:
		return "right";
	}
	return "invalid";
}

static void ctx_error(struct parse_ctx *c, unsigned line, const char *fmt,
		      ...) __attribute__((format(printf, 3, 4)));

/* Keep the first error only: later ones are usually its consequences. */
static void ctx_error(struct parse_ctx *c, unsigned line, const char *fmt,
		      ...)
{
	va_list ap;

	if (c->err_line) {
		return;
	}
	c->err_line = line ? line : 1;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static enum scenario_section section_from_name(const char *name)
{
	for (int i = 0; i < SECTION_COUNT; i++) {
		if (strcmp(name, section_names[i]) == 0) {
			return (enum scenario_section)i;
		}
	}
	return SECTION_NONE;
}

/*
 * inih's reader hook: hand over one line as fgets() does, counting lines
 * exactly as inih does (one per call), so the handler knows its line;
 * the handler of the stock library gets no line number. Section headers
 * are checked here because inih does not call the handler for an empty
 * section.
 */
static char *ctx_reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	char name[64];
	const char *p, *end;
	size_t len;

	if (!fgets(str, num, c->f)) {
		return NULL;
	}
	c->line++;
	for (p = str; isspace((unsigned char)*p); p++) {
	}
	if (*p != '[') {
		return str;
	}
	p++;
	end = strchr(p, ']');
	if (!end) {
		/* inih reports it as a syntax error on this line. */
		return str;
	}
	while (p < end && isspace((unsigned char)*p)) {
		p++;
	}
	while (end > p && isspace((unsigned char)end[-1])) {
		end--;
	}
	len = (size_t)(end - p);
	if (len >= sizeof(name)) {
		len = sizeof(name) - 1;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	if (section_from_name(name) == SECTION_NONE) {
		ctx_error(c, c->line,
			  "unknown section [%s] (expected run, dongle, left "
			  "or right)",
			  name);
	}
	return str;
}

static int parse_double(const char *value, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (end == value || *end != '\0' || errno != 0 || !isfinite(v)) {
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

static int parse_u64(const char *value, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	/* strtoull accepts "-1" as ULLONG_MAX: refuse signs. */
	if (!isdigit((unsigned char)value[0])) {
		return -EINVAL;
	}
	errno = 0;
	v = strtoull(value, &end, 0);
	if (*end != '\0' || errno != 0) {
		return -EINVAL;
	}
	*ret = v;
	return 0;
}

/* KEY_U32 and KEY_CI: an integer in range, a BLE interval in units. */
static int set_u32(struct parse_ctx *c, const struct key_desc *k,
		   char *field, const char *value)
{
	uint64_t u;
	uint32_t v32;

	if (parse_u64(value, &u) < 0 || u > UINT32_MAX) {
		ctx_error(c, c->line, "%s: '%s' is not an integer", k->name,
			  value);
		return -EINVAL;
	}
	if (k->zero_ok && u == 0) {
		memset(field, 0, sizeof(v32));
		return 0;
	}
	if ((double)u < k->min || (double)u > k->max) {
		ctx_error(c, c->line, "%s: %s is out of range [%g, %g]%s",
			  k->name, value, k->min, k->max,
			  k->zero_ok ? " (or 0: none)" : "");
		return -ERANGE;
	}
	if (k->type == KEY_CI && u % SIMLINK_CI_STEP_US != 0) {
		/* Core 5.4, Vol 6, Part B, 4.5.1: 1.25 ms units. */
		ctx_error(c, c->line,
			  "%s: %s is not a multiple of %u "
			  "(BLE intervals come in 1.25 ms units)",
			  k->name, value, SIMLINK_CI_STEP_US);
		return -ERANGE;
	}
	v32 = (uint32_t)u;
	memcpy(field, &v32, sizeof(v32));
	return 0;
}

static int set_key(struct parse_ctx *c, const struct key_desc *k, void *base,
		   const char *value)
{
	char *field = (char *)base + k->offset;
	double d;
	uint64_t u;

	switch (k->type) {
	case KEY_DOUBLE:
		if (parse_double(value, &d) < 0) {
			ctx_error(c, c->line, "%s: '%s' is not a number",
				  k->name, value);
			return -EINVAL;
		}
		if (d < k->min || d > k->max ||
		    (k->min_open && d <= k->min)) {
			ctx_error(c, c->line, "%s: %s is out of range %c%g, %g]",
				  k->name, value, k->min_open ? '(' : '[',
				  k->min, k->max);
			return -ERANGE;
		}
		memcpy(field, &d, sizeof(d));
		return 0;
	case KEY_U64:
		if (parse_u64(value, &u) < 0) {
			ctx_error(c, c->line,
				  "%s: '%s' is not an unsigned 64-bit integer",
				  k->name, value);
			return -EINVAL;
		}
		memcpy(field, &u, sizeof(u));
		return 0;
	case KEY_U32:
	case KEY_CI:
		return set_u32(c, k, field, value);
	case KEY_JITTER: {
		enum simlink_jitter j;

		if (simlink_jitter_from_string(value, &j) < 0) {
			ctx_error(c, c->line,
				  "%s: '%s' is not exponential, lognormal, "
				  "uniform, pareto or usb",
				  k->name, value);
			return -EINVAL;
		}
		memcpy(field, &j, sizeof(j));
		return 0;
	}
	}
	return -EINVAL;
}

static int ctx_handler(void *user, const char *section, const char *name,
		       const char *value)
{
	struct parse_ctx *c = user;
	enum scenario_section sec;
	enum scenario_section lookup;
	void *base;

	if (section[0] == '\0') {
		ctx_error(c, c->line, "'%s' is outside a section", name);
		return 0;
	}
	sec = section_from_name(section);
	if (sec == SECTION_NONE) {
		/* Already reported by the reader. */
		return 0;
	}
	lookup = sec == SECTION_RIGHT ? SECTION_LEFT : sec;
	for (unsigned i = 0; i < KEY_COUNT; i++) {
		const struct key_desc *k = &keys[i];

		if (k->section != lookup || strcmp(k->name, name) != 0) {
			continue;
		}
		if (c->line_of[sec][i]) {
			ctx_error(c, c->line, "'%s' given twice in [%s]", name,
				  section);
			return 0;
		}
		c->line_of[sec][i] = c->line;
		if (lookup == SECTION_LEFT) {
			base = &c->sc.ear[sec == SECTION_LEFT ? SCENARIO_LEFT :
								SCENARIO_RIGHT];
		} else {
			base = &c->sc;
		}
		return set_key(c, k, base, value) < 0 ? 0 : 1;
	}
	ctx_error(c, c->line, "unknown key '%s' in [%s]", name, section);
	return 0;
}

/*
 * The line a rule between keys a and b (b may be NULL) of one ear is
 * reported at: the later of the two, as the file is read top down.
 */
static unsigned ear_line(const struct parse_ctx *c, int side, const char *a,
			 const char *b)
{
	enum scenario_section sec = side == SCENARIO_LEFT ? SECTION_LEFT :
							    SECTION_RIGHT;
	unsigned line = 0;

	for (unsigned i = 0; i < KEY_COUNT; i++) {
		if (keys[i].section == SECTION_LEFT &&
		    (strcmp(keys[i].name, a) == 0 ||
		     (b && strcmp(keys[i].name, b) == 0))) {
			line = MAX(line, c->line_of[sec][i]);
		}
	}
	return line;
}

/* An event at at_s must fall inside the run to mean anything. */
static void check_inside_run(struct parse_ctx *c, int side, bool used,
			     const char *at_key, const char *other_key,
			     double at_s)
{
	if (used && at_s >= c->sc.duration_s) {
		ctx_error(c, ear_line(c, side, at_key, other_key),
			  "[%s] %s %g is not before the end of the run "
			  "(duration_s %g)",
			  scenario_side_name(side), at_key, at_s,
			  c->sc.duration_s);
	}
}

/*
 * Anchor jitter under a quarter interval keeps events in order
 * (simlink.h). The key ranges imply it today (4 * 1000 us < 7500 us);
 * checked anyway so that widening a range cannot reorder events.
 */
static void check_anchor_jitter(struct parse_ctx *c, int side)
{
	const struct scenario_ear *e = &c->sc.ear[side];

	if (e->anchor_jitter_us * 4.0 >= (double)e->ci_us) {
		ctx_error(c, ear_line(c, side, "anchor_jitter_us", "ci_us"),
			  "[%s] anchor_jitter_us %g must be below a quarter "
			  "of ci_us %u",
			  scenario_side_name(side), e->anchor_jitter_us,
			  e->ci_us);
	}
	if (e->ci_change_to_us != 0 &&
	    e->anchor_jitter_us * 4.0 >= (double)e->ci_change_to_us) {
		ctx_error(c,
			  ear_line(c, side, "anchor_jitter_us",
				   "ci_change_to_us"),
			  "[%s] anchor_jitter_us %g must be below a quarter "
			  "of ci_change_to_us %u",
			  scenario_side_name(side), e->anchor_jitter_us,
			  e->ci_change_to_us);
	}
}

/* Rules between keys, checked once the whole file is read. */
static void scenario_check(struct parse_ctx *c)
{
	for (int i = 0; i < SCENARIO_SIDES; i++) {
		const struct scenario_ear *e = &c->sc.ear[i];

		if (e->anchor_phase_us >= e->ci_us) {
			ctx_error(c, ear_line(c, i, "anchor_phase_us", "ci_us"),
				  "[%s] anchor_phase_us %u must be below "
				  "ci_us %u",
				  scenario_side_name(i), e->anchor_phase_us,
				  e->ci_us);
		}
		check_inside_run(c, i, e->drop_for_s > 0, "drop_at_s",
				 "drop_for_s", e->drop_at_s);
		check_anchor_jitter(c, i);
		/* The crystal stays a crystal after its step. */
		if (fabs(e->ppm + e->ppm_step) > 1000.0) {
			ctx_error(c, ear_line(c, i, "ppm", "ppm_step"),
				  "[%s] ppm %g + ppm_step %g is outside "
				  "[-1000, 1000]",
				  scenario_side_name(i), e->ppm, e->ppm_step);
		}
		check_inside_run(c, i, e->ppm_step != 0.0, "ppm_step_at_s",
				 "ppm_step", e->ppm_step_at_s);
		check_inside_run(c, i, e->ci_change_to_us != 0,
				 "ci_change_at_s", "ci_change_to_us",
				 e->ci_change_at_s);
		check_inside_run(c, i, e->freeze_for_s > 0, "freeze_at_s",
				 "freeze_for_s", e->freeze_at_s);
	}
}

static void scenario_name_from_path(const char *path, char *name,
				    size_t size)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len > 4 && strcmp(base + len - 4, ".ini") == 0) {
		len -= 4;
	}
	if (len >= size) {
		len = size - 1;
	}
	memcpy(name, base, len);
	name[len] = '\0';
}

int scenario_parse(FILE *f, const char *path, struct scenario *ret,
		   char *err, size_t err_size)
{
	struct parse_ctx *c;
	int r;

	/* On the heap: callers may parse from small thread stacks. */
	c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	c->f = f;
	c->path = path;
	scenario_default(&c->sc);
	scenario_name_from_path(path, c->sc.name, sizeof(c->sc.name));
	r = ini_parse_stream(ctx_reader, c, ctx_handler, c);
	if (r > 0 && (c->err_line == 0 || (unsigned)r < c->err_line)) {
		/* inih's own complaint: it reports no reason, only the line. */
		c->err_line = 0;
		ctx_error(c, (unsigned)r,
			  "syntax error (expected [section], key = value "
			  "or a comment)");
	} else if (r < 0) {
		ctx_error(c, c->line, "out of memory while parsing");
	}
	if (!c->err_line) {
		scenario_check(c);
	}
	if (c->err_line) {
		if (err && err_size > 0) {
			snprintf(err, err_size, "%s:%u: %s", path, c->err_line,
				 c->err);
		}
		free(c);
		return -EINVAL;
	}
	*ret = c->sc;
	free(c);
	return 0;
}

int scenario_load(const char *path, struct scenario *ret, char *err,
		  size_t err_size)
{
	FILE *f = fopen(path, "re");
	int r;

	if (!f) {
		r = -errno;
		if (err && err_size > 0) {
			snprintf(err, err_size, "%s: %s", path, strerror(-r));
		}
		return r;
	}
	r = scenario_parse(f, path, ret, err, err_size);
	fclose(f);
	return r;
}
