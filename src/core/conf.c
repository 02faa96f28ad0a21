/* SPDX-License-Identifier: MIT */
#include "core/conf.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/macro.h"

enum conf_type {
	T_INT,    /* int, range [min, max] */
	T_U32,    /* uint32_t, range [min, max] */
	T_U16,    /* uint16_t, range [min, max] */
	T_NS,     /* uint64_t ns, written in `unit` ns steps, range in units */
	T_BOOL,
	T_STR,    /* char[size] */
	T_ENUM,   /* int-sized enum from `names` */
	T_MAC,    /* BD_ADDR text */
};

struct conf_key {
	const char *section; /* "link" matches link.left and link.right */
	const char *key;
	enum conf_type type;
	size_t offset;       /* in struct conf, or in struct conf_link */
	size_t size;         /* T_STR */
	int64_t min, max;
	uint64_t unit;       /* T_NS: ns per unit (1000 = the value is in us) */
	const char *const *names; /* T_ENUM, NULL-terminated, index = value */
};

static const char *const transport_names[] = {
	"none", "unix", "hci-uart", "l2cap", NULL,
};
static const char *const codec_names[] = { "pcm", "lc3", NULL };
static const char *const source_names[] = { "tone", "pipewire", NULL };

#define C(field) offsetof(struct conf, field)
#define L(field) offsetof(struct conf_link, field)
#define SZ(field) sizeof(((struct conf *)0)->field)

static const struct conf_key conf_keys[] = {
	{ "rt", "priority", T_INT, C(rt.priority), 0, 0, 99, 0, NULL },
	{ "rt", "cpu", T_INT, C(rt.cpu), 0, -1, 1023, 0, NULL },
	{ "rt", "lock_memory", T_BOOL, C(rt.lock_memory), 0, 0, 0, 0, NULL },
	{ "rt", "dma_latency", T_BOOL, C(rt.dma_latency), 0, 0, 0, 0, NULL },
	{ "rt", "prefault_heap_kib", T_U32, C(rt.prefault_heap_kib), 0, 0,
	  1 << 20, 0, NULL },
	{ "rt", "prefault_stack_kib", T_U32, C(rt.prefault_stack_kib), 0, 0,
	  8192, 0, NULL },
	{ "loop", "backend", T_STR, C(loop.backend), SZ(loop.backend), 0, 0, 0,
	  NULL },
	{ "loop", "spin_guard_us", T_U32, C(loop.spin_guard_us), 0, 0, 1000, 0,
	  NULL },
	{ "loop", "busy_poll_us", T_INT, C(loop.busy_poll_us), 0, -1, 1000000,
	  0, NULL },
	{ "loop", "socket_priority", T_INT, C(loop.socket_priority), 0, -1, 7,
	  0, NULL },
	{ "stream", "source", T_ENUM, C(stream.source), 0, 0, 0, 0,
	  source_names },
	{ "stream", "frame_us", T_NS, C(stream.frame_ns), 0, 7500, 10000,
	  NSEC_PER_USEC, NULL },
	{ "stream", "codec", T_ENUM, C(stream.codec), 0, 0, 0, 0, codec_names },
	{ "stream", "delay_ms", T_NS, C(stream.delay_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL },
	{ "stream", "delay_min_ms", T_NS, C(stream.delay_min_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL },
	{ "stream", "delay_max_ms", T_NS, C(stream.delay_max_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL },
	{ "stream", "delay_margin_ms", T_NS, C(stream.delay_margin_ns), 0, 0,
	  1000, NSEC_PER_MSEC, NULL },
	{ "stream", "mono", T_BOOL, C(stream.mono), 0, 0, 0, 0, NULL },
	{ "stream", "tone_left_hz", T_U32, C(stream.tone_hz[CONF_EAR_LEFT]), 0,
	  20, 20000, 0, NULL },
	{ "stream", "tone_right_hz", T_U32, C(stream.tone_hz[CONF_EAR_RIGHT]),
	  0, 20, 20000, 0, NULL },
	{ "servo", "estimator", T_STR, C(servo.estimator), SZ(servo.estimator),
	  0, 0, 0, NULL },
	{ "servo", "resync_threshold_us", T_NS, C(servo.resync_threshold_ns), 0,
	  1, 10000, NSEC_PER_USEC, NULL },
	{ "servo", "holdover_ms", T_NS, C(servo.holdover_ns), 0, 10, 60000,
	  NSEC_PER_MSEC, NULL },
	{ "servo", "probe_every_events", T_U32, C(servo.probe_every_events), 0,
	  1, 3, 0, NULL },
	{ "servo", "ci_us", T_U32, C(servo.ci_us), 0, 7500, 4000000, 0, NULL },
	{ "reconnect", "backoff_min_ms", T_NS, C(reconnect.backoff_min_ns), 0,
	  10, 60000, NSEC_PER_MSEC, NULL },
	{ "reconnect", "backoff_max_ms", T_NS, C(reconnect.backoff_max_ns), 0,
	  10, 600000, NSEC_PER_MSEC, NULL },
	{ "reconnect", "hello_timeout_ms", T_NS, C(reconnect.hello_timeout_ns),
	  0, 10, 60000, NSEC_PER_MSEC, NULL },
	{ "control", "socket", T_STR, C(control.socket), SZ(control.socket), 0,
	  0, 0, NULL },
	{ "link", "transport", T_ENUM, L(transport), 0, 0, 0, 0,
	  transport_names },
	{ "link", "path", T_STR, L(path), CONF_PATH_MAX, 0, 0, 0, NULL },
	{ "link", "address", T_MAC, L(address), 18, 0, 0, 0, NULL },
	{ "link", "adapter", T_MAC, L(adapter), 18, 0, 0, 0, NULL },
	{ "link", "address_random", T_BOOL, L(address_random), 0, 0, 0, 0,
	  NULL },
	/* Core 5.4, Vol 3, Part A, 4.22: LE PSMs are 0x0001..0x00ff. */
	{ "link", "psm", T_U16, L(psm), 0, 1, 0x00ff, 0, NULL },
	/* Core 5.4, Vol 3, Part A, 4.22: an LE MTU is at least 23. */
	{ "link", "mtu", T_U16, L(mtu), 0, 23, 65535, 0, NULL },
	{ "link", "baud", T_U32, L(baud), 0, 1200, 4000000, 0, NULL },
	{ "link", "flow_control", T_BOOL, L(flow_control), 0, 0, 0, 0, NULL },
	{ "link", "bitrate", T_U32, L(bitrate), 0, 16000, 320000, 0, NULL },
};

void conf_default(struct conf *ret)
{
	unsigned e;

	memset(ret, 0, sizeof(*ret));
	ret->rt.priority = 80;
	ret->rt.cpu = -1;
	ret->rt.lock_memory = true;
	ret->rt.dma_latency = true;
	ret->rt.prefault_heap_kib = 4096;
	ret->rt.prefault_stack_kib = 256;
	snprintf(ret->loop.backend, sizeof(ret->loop.backend), "auto");
	ret->loop.spin_guard_us = 0;
	ret->loop.busy_poll_us = -1;
	ret->loop.socket_priority = -1;
	ret->stream.source = CONF_SOURCE_TONE;
	ret->stream.frame_ns = 10 * NSEC_PER_MSEC;
	ret->stream.codec = CONF_CODEC_PCM;
	ret->stream.delay_ns = 60 * NSEC_PER_MSEC;
	ret->stream.delay_min_ns = 30 * NSEC_PER_MSEC;
	ret->stream.delay_max_ns = 250 * NSEC_PER_MSEC;
	ret->stream.delay_margin_ns = 10 * NSEC_PER_MSEC;
	ret->stream.mono = false;
	ret->stream.tone_hz[CONF_EAR_LEFT] = 440;
	ret->stream.tone_hz[CONF_EAR_RIGHT] = 660;
	snprintf(ret->servo.estimator, sizeof(ret->servo.estimator), "ttws");
	ret->servo.resync_threshold_ns = 15 * NSEC_PER_USEC;
	ret->servo.holdover_ns = NSEC_PER_SEC;
	ret->servo.probe_every_events = 3;
	ret->servo.ci_us = 7500;
	ret->reconnect.backoff_min_ns = 100 * NSEC_PER_MSEC;
	ret->reconnect.backoff_max_ns = 5 * NSEC_PER_SEC;
	ret->reconnect.hello_timeout_ns = 2 * NSEC_PER_SEC;
	snprintf(ret->control.socket, sizeof(ret->control.socket),
		 "/run/ttws/control");
	for (e = 0; e < CONF_N_EARS; e++) {
		ret->link[e].transport = CONF_TRANSPORT_NONE;
		ret->link[e].psm = 0x0080;
		ret->link[e].mtu = 2048;
		ret->link[e].baud = 3000000;
		ret->link[e].flow_control = true;
		ret->link[e].bitrate = 96000;
	}
}

struct conf_parser {
	struct conf conf;
	const char *file;
	char err[CONF_ERR_MAX];
	bool failed;
};

static int conf_fail(struct conf_parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int conf_fail(struct conf_parser *p, const char *fmt, ...)
{
	va_list ap;

	/* Keep the first error: ini_parse_string reports its line. */
	if (!p->failed) {
		va_start(ap, fmt);
		vsnprintf(p->err, sizeof(p->err), fmt, ap);
		va_end(ap);
		p->failed = true;
	}
	return 0;
}

static bool conf_parse_i64(const char *v, int64_t *ret)
{
	char *end;
	long long x;

	errno = 0;
	x = strtoll(v, &end, 0);
	if (errno || end == v || *end != '\0') {
		return false;
	}
	*ret = x;
	return true;
}

static bool conf_parse_bool(const char *v, bool *ret)
{
	static const char *const yes[] = { "1", "yes", "true", "on" };
	static const char *const no[] = { "0", "no", "false", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*ret = true;
			return true;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*ret = false;
			return true;
		}
	}
	return false;
}

static bool conf_valid_mac(const char *v)
{
	int i;

	if (strlen(v) != 17) {
		return false;
	}
	for (i = 0; i < 17; i++) {
		char c = v[i];
		bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F');

		if (i % 3 == 2 ? c != ':' : !hex) {
			return false;
		}
	}
	return true;
}

/* A decimal with an optional fraction ("7.5") in units, to ns. */
static bool conf_parse_units(const char *v, uint64_t unit, int64_t *ret_units,
			     uint64_t *ret_ns)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end != '\0' || x < 0 || x > 1e12) {
		return false;
	}
	*ret_units = (int64_t)x;
	*ret_ns = (uint64_t)(x * (double)unit + 0.5);
	return true;
}

static int conf_set(struct conf_parser *p, const struct conf_key *k, void *base,
		    const char *section, const char *value)
{
	char *field = (char *)base + k->offset;
	char range[64];
	int64_t x;
	uint64_t ns;
	bool b;
	size_t i;

	switch (k->type) {
	case T_INT:
	case T_U32:
	case T_U16:
		if (!conf_parse_i64(value, &x)) {
			return conf_fail(p, "[%s] %s: '%s' is not an integer",
					 section, k->key, value);
		}
		if (x < k->min || x > k->max) {
			snprintf(range, sizeof(range), "%" PRId64 "..%" PRId64,
				 k->min, k->max);
			return conf_fail(p, "[%s] %s: out of range %s", section,
					 k->key, range);
		}
		if (k->type == T_INT) {
			*(int *)field = (int)x;
		} else if (k->type == T_U32) {
			*(uint32_t *)field = (uint32_t)x;
		} else {
			*(uint16_t *)field = (uint16_t)x;
		}
		return 1;
	case T_NS:
		if (!conf_parse_units(value, k->unit, &x, &ns)) {
			return conf_fail(p, "[%s] %s: '%s' is not a number",
					 section, k->key, value);
		}
		if (ns < (uint64_t)k->min * k->unit ||
		    ns > (uint64_t)k->max * k->unit) {
			snprintf(range, sizeof(range), "%" PRId64 "..%" PRId64,
				 k->min, k->max);
			return conf_fail(p, "[%s] %s: out of range %s", section,
					 k->key, range);
		}
		*(uint64_t *)field = ns;
		return 1;
	case T_BOOL:
		if (!conf_parse_bool(value, &b)) {
			return conf_fail(p,
					 "[%s] %s: '%s' is not a boolean "
					 "(yes/no, true/false, 1/0, on/off)",
					 section, k->key, value);
		}
		*(bool *)field = b;
		return 1;
	case T_STR:
		if (strlen(value) >= k->size) {
			return conf_fail(p, "[%s] %s: value too long", section,
					 k->key);
		}
		memcpy(field, value, strlen(value) + 1);
		return 1;
	case T_ENUM:
		for (i = 0; k->names[i]; i++) {
			if (strcmp(value, k->names[i]) == 0) {
				*(int *)field = (int)i;
				return 1;
			}
		}
		return conf_fail(p, "[%s] %s: unknown value '%s'", section,
				 k->key, value);
	case T_MAC:
		if (!conf_valid_mac(value)) {
			return conf_fail(p,
					 "[%s] %s: '%s' is not a Bluetooth "
					 "address (AA:BB:CC:DD:EE:FF)",
					 section, k->key, value);
		}
		memcpy(field, value, 18);
		return 1;
	}
	return conf_fail(p, "[%s] %s: internal error", section, k->key);
}

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parser *p = user;
	const char *match = section;
	void *base = &p->conf;
	size_t i;

	if (p->failed) {
		return 1; /* only the first error is reported */
	}
	if (strcmp(section, "link.left") == 0 ||
	    strcmp(section, "link.right") == 0) {
		enum conf_ear e = strcmp(section, "link.left") == 0 ?
					  CONF_EAR_LEFT :
					  CONF_EAR_RIGHT;

		match = "link";
		base = &p->conf.link[e];
	}
	if (!name) {
		/* libinih calls with name NULL for a section header only when
		 * INI_CALL_HANDLER_ON_NEW_SECTION is set; be safe anyway. */
		return 1;
	}
	for (i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (strcmp(conf_keys[i].section, match) == 0 &&
		    strcmp(conf_keys[i].key, name) == 0) {
			return conf_set(p, &conf_keys[i], base, section, value);
		}
	}
	for (i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (strcmp(conf_keys[i].section, match) == 0) {
			return conf_fail(p, "[%s] unknown key '%s'", section,
					 name);
		}
	}
	if (section[0] == '\0') {
		return conf_fail(p, "key '%s' outside any [section]", name);
	}
	return conf_fail(p, "unknown section [%s] (key '%s')", section, name);
}

static int conf_accept_all(void *user, const char *section, const char *name,
			   const char *value)
{
	return 1;
}

/* Checks across keys, after the whole file is read. */
static const char *conf_validate(const struct conf *c)
{
	unsigned e;

	if (c->stream.frame_ns != 7500 * NSEC_PER_USEC &&
	    c->stream.frame_ns != 10000 * NSEC_PER_USEC) {
		return "[stream] frame_us: must be 7500 or 10000";
	}
	if (c->stream.delay_min_ns > c->stream.delay_max_ns) {
		return "[stream] delay_min_ms is above delay_max_ms";
	}
	if (c->stream.delay_ns < c->stream.delay_min_ns ||
	    c->stream.delay_ns > c->stream.delay_max_ns) {
		return "[stream] delay_ms is outside delay_min_ms..delay_max_ms";
	}
	if (c->reconnect.backoff_min_ns > c->reconnect.backoff_max_ns) {
		return "[reconnect] backoff_min_ms is above backoff_max_ms";
	}
	if (strcmp(c->loop.backend, "auto") != 0 &&
	    strcmp(c->loop.backend, "io_uring") != 0 &&
	    strcmp(c->loop.backend, "epoll") != 0) {
		return "[loop] backend: must be auto, io_uring or epoll";
	}
	if (strcmp(c->servo.estimator, "ttws") != 0 &&
	    strcmp(c->servo.estimator, "naive") != 0 &&
	    strcmp(c->servo.estimator, "median-iir") != 0) {
		return "[servo] estimator: must be ttws, naive or median-iir";
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		const struct conf_link *l = &c->link[e];

		switch (l->transport) {
		case CONF_TRANSPORT_NONE:
			break;
		case CONF_TRANSPORT_UNIX:
		case CONF_TRANSPORT_HCI_UART:
			if (l->path[0] == '\0') {
				return e == CONF_EAR_LEFT ?
					       "[link.left] path: required for "
					       "this transport" :
					       "[link.right] path: required for "
					       "this transport";
			}
			break;
		case CONF_TRANSPORT_L2CAP:
			if (l->address[0] == '\0') {
				return e == CONF_EAR_LEFT ?
					       "[link.left] address: required "
					       "for l2cap" :
					       "[link.right] address: required "
					       "for l2cap";
			}
			break;
		}
	}
	return NULL;
}

int conf_parse(const char *text, const char *file_name, struct conf *ret,
	       char *err, size_t err_size)
{
	struct conf_parser *p;
	const char *why;
	int line;

	p = calloc(1, sizeof(*p));
	if (!p) {
		return -ENOMEM;
	}
	conf_default(&p->conf);
	p->file = file_name;
	/* libinih keeps going after an error and returns only the first
	 * failing line, without saying whether the syntax or our handler
	 * failed there. A first pass that accepts every key finds syntax
	 * errors alone, so each message names the line it is about. */
	line = ini_parse_string(text, conf_accept_all, NULL);
	if (line == 0) {
		line = ini_parse_string(text, conf_handler, p);
	}
	if (line != 0 || p->failed) {
		if (err) {
			snprintf(err, err_size, "%s:%d: %s", file_name, line,
				 p->failed ? p->err : "syntax error");
		}
		free(p);
		return -EINVAL;
	}
	why = conf_validate(&p->conf);
	if (why) {
		if (err) {
			/* Whole-file checks have no single line. */
			snprintf(err, err_size, "%s: %s", file_name, why);
		}
		free(p);
		return -EINVAL;
	}
	*ret = p->conf;
	free(p);
	return 0;
}

const char *conf_transport_name(enum conf_transport t)
{
	switch (t) {
	case CONF_TRANSPORT_NONE:
	case CONF_TRANSPORT_UNIX:
	case CONF_TRANSPORT_HCI_UART:
	case CONF_TRANSPORT_L2CAP:
		return transport_names[t];
	}
	return "?";
}

const char *conf_codec_name(enum conf_codec c)
{
	switch (c) {
	case CONF_CODEC_PCM:
	case CONF_CODEC_LC3:
		return codec_names[c];
	}
	return "?";
}

const char *conf_source_name(enum conf_source s)
{
	switch (s) {
	case CONF_SOURCE_TONE:
	case CONF_SOURCE_PIPEWIRE:
		return source_names[s];
	}
	return "?";
}

const char *conf_ear_name(enum conf_ear e)
{
	switch (e) {
	case CONF_EAR_LEFT:
		return "left";
	case CONF_EAR_RIGHT:
		return "right";
	case CONF_N_EARS:
		break;
	}
	return "?";
}
