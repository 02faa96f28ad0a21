/* SPDX-License-Identifier: MIT */
/*
 * The keys of ttwsd.conf(5): their table (with whether each can change
 * live) and parsing one value into its field.
 */
#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf_private.h"
#include "core/macro.h"

const char *const conf_transport_names[] = {
	"none", "unix", "hci-uart", "l2cap", NULL,
};
const char *const conf_codec_names[] = { "pcm", "lc3", NULL };
const char *const conf_source_names[] = { "tone", "pipewire", NULL };
const char *const conf_profile_names[] = { "ttws-link", "asha", NULL };
/* Index = enum conf_security. */
const char *const conf_security_names[] = { "none", "medium", "high", NULL };
/* [rt] cpu: "auto" is CONF_RT_CPU_AUTO, the key's min (see T_INT). */
const char *const conf_rt_cpu_names[] = { "auto", NULL };

#define C(field) offsetof(struct conf, field)
#define L(field) offsetof(struct conf_link, field)
#define P(field) offsetof(struct conf_pair, field)
#define SZ(field) sizeof(((struct conf *)0)->field)
#define LIVE CONF_LIVE
#define RESTART CONF_RESTART

/*
 * What may change live is what the RT thread can adopt at a frame
 * boundary without allocating or reopening anything: the delay bounds
 * (core/plan), the estimator (every link keeps one servo of each kind
 * warm), the servo thresholds, the reconnect timing, the tone and the
 * downmix, and the main thread's own metrics file. Anything that opens a
 * socket or a tty, sizes a buffer or places the RT thread needs a
 * restart.
 */
const struct conf_key conf_keys[] = {
	{ "rt", "priority", T_INT, C(rt.priority), 0, 0, 99, 0, NULL,
	  RESTART },
	{ "rt", "cpu", T_INT, C(rt.cpu), 0, CONF_RT_CPU_AUTO, 1023, 0,
	  conf_rt_cpu_names, RESTART },
	{ "rt", "cgroup", T_STR, C(rt.cgroup), SZ(rt.cgroup), 0, 0, 0, NULL,
	  RESTART },
	{ "rt", "lock_memory", T_BOOL, C(rt.lock_memory), 0, 0, 0, 0, NULL,
	  RESTART },
	{ "rt", "dma_latency", T_BOOL, C(rt.dma_latency), 0, 0, 0, 0, NULL,
	  RESTART },
	{ "rt", "prefault_heap_kib", T_U32, C(rt.prefault_heap_kib), 0, 0,
	  1 << 20, 0, NULL, RESTART },
	{ "rt", "prefault_stack_kib", T_U32, C(rt.prefault_stack_kib), 0, 0,
	  8192, 0, NULL, RESTART },
	{ "loop", "backend", T_STR, C(loop.backend), SZ(loop.backend), 0, 0, 0,
	  NULL, RESTART },
	{ "loop", "spin_guard_us", T_U32, C(loop.spin_guard_us), 0, 0, 1000, 0,
	  NULL, RESTART },
	{ "loop", "busy_poll_us", T_U32, C(loop.busy_poll_us), 0, 0, 1000, 0,
	  NULL, RESTART },
	{ "loop", "rx_coalesce_us", T_U32, C(loop.rx_coalesce_us), 0, 0,
	  100000, 0, NULL, RESTART },
	{ "loop", "socket_busy_poll_us", T_INT, C(loop.socket_busy_poll_us), 0,
	  -1, 1000000, 0, NULL, RESTART },
	{ "loop", "socket_priority", T_INT, C(loop.socket_priority), 0, -1, 7,
	  0, NULL, RESTART },
	{ "stream", "source", T_ENUM, C(stream.source), 0, 0, 0, 0,
	  conf_source_names, RESTART },
	{ "stream", "frame_us", T_NS, C(stream.frame_ns), 0, 7500, 10000,
	  NSEC_PER_USEC, NULL, RESTART },
	{ "stream", "codec", T_ENUM, C(stream.codec), 0, 0, 0, 0,
	  conf_codec_names, RESTART },
	{ "stream", "profile", T_ENUM, C(stream.profile), 0, 0, 0, 0,
	  conf_profile_names, RESTART },
	/* ASHA's Volume characteristic: -128 (mute) to 0 (the loudest). */
	{ "stream", "asha_volume", T_INT, C(stream.asha_volume), 0, -128, 0, 0,
	  NULL, LIVE },
	{ "stream", "delay_ms", T_NS, C(stream.delay_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL, RESTART },
	{ "stream", "delay_min_ms", T_NS, C(stream.delay_min_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL, LIVE },
	{ "stream", "delay_max_ms", T_NS, C(stream.delay_max_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL, LIVE },
	{ "stream", "delay_margin_ms", T_NS, C(stream.delay_margin_ns), 0, 0,
	  1000, NSEC_PER_MSEC, NULL, LIVE },
	{ "stream", "mono", T_BOOL, C(stream.mono), 0, 0, 0, 0, NULL, LIVE },
	{ "stream", "tone_left_hz", T_U32, C(stream.tone_hz[CONF_EAR_LEFT]), 0,
	  20, 20000, 0, NULL, LIVE },
	{ "stream", "tone_right_hz", T_U32, C(stream.tone_hz[CONF_EAR_RIGHT]),
	  0, 20, 20000, 0, NULL, LIVE },
	{ "servo", "estimator", T_STR, C(servo.estimator), SZ(servo.estimator),
	  0, 0, 0, NULL, LIVE },
	{ "servo", "resync_threshold_us", T_NS, C(servo.resync_threshold_ns), 0,
	  1, 10000, NSEC_PER_USEC, NULL, LIVE },
	{ "servo", "holdover_ms", T_NS, C(servo.holdover_ns), 0, 10, 60000,
	  NSEC_PER_MSEC, NULL, LIVE },
	{ "servo", "probe_every_events", T_U32, C(servo.probe_every_events), 0,
	  1, 3, 0, NULL, LIVE },
	{ "servo", "ci_us", T_U32, C(servo.ci_us), 0, 7500, 4000000, 0, NULL,
	  RESTART },
	{ "reconnect", "backoff_min_ms", T_NS, C(reconnect.backoff_min_ns), 0,
	  10, 60000, NSEC_PER_MSEC, NULL, LIVE },
	{ "reconnect", "backoff_max_ms", T_NS, C(reconnect.backoff_max_ns), 0,
	  10, 600000, NSEC_PER_MSEC, NULL, LIVE },
	{ "reconnect", "hello_timeout_ms", T_NS, C(reconnect.hello_timeout_ns),
	  0, 10, 60000, NSEC_PER_MSEC, NULL, LIVE },
	{ "sync", "supervision_ms", T_NS, C(sync.supervision_ns), 0, 100, 60000,
	  NSEC_PER_MSEC, NULL, LIVE },
	{ "control", "socket", T_STR, C(control.socket), SZ(control.socket), 0,
	  0, 0, NULL, RESTART },
	{ "control", "socket_mode", T_MODE, C(control.socket_mode), 0, 0, 0777,
	  0, NULL, RESTART },
	{ "metrics", "textfile", T_STR, C(metrics.textfile), SZ(metrics.textfile),
	  0, 0, 0, NULL, LIVE },
	{ "metrics", "interval_s", T_U32, C(metrics.interval_s), 0, 1, 3600, 0,
	  NULL, LIVE },
	/* A [pair.NAME]'s own stream keys; [stream]'s where not set. Live
	 * or not as their [stream] key. */
	{ "pair", "codec", T_ENUM, P(codec), 0, 0, 0, 0, conf_codec_names,
	  RESTART, CONF_PAIR_SET_CODEC },
	{ "pair", "profile", T_ENUM, P(profile), 0, 0, 0, 0,
	  conf_profile_names, RESTART, CONF_PAIR_SET_PROFILE },
	{ "pair", "asha_volume", T_INT, P(asha_volume), 0, -128, 0, 0, NULL,
	  LIVE, CONF_PAIR_SET_ASHA_VOLUME },
	{ "pair", "delay_ms", T_NS, P(delay_ns), 0, 1, 2000, NSEC_PER_MSEC,
	  NULL, RESTART, CONF_PAIR_SET_DELAY },
	{ "pair", "delay_min_ms", T_NS, P(delay_min_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL, LIVE, CONF_PAIR_SET_DELAY_MIN },
	{ "pair", "delay_max_ms", T_NS, P(delay_max_ns), 0, 1, 2000,
	  NSEC_PER_MSEC, NULL, LIVE, CONF_PAIR_SET_DELAY_MAX },
	{ "pair", "delay_margin_ms", T_NS, P(delay_margin_ns), 0, 0, 1000,
	  NSEC_PER_MSEC, NULL, LIVE, CONF_PAIR_SET_DELAY_MARGIN },
	{ "link", "transport", T_ENUM, L(transport), 0, 0, 0, 0,
	  conf_transport_names, RESTART },
	{ "link", "path", T_STR, L(path), CONF_PATH_MAX, 0, 0, 0, NULL,
	  RESTART },
	{ "link", "address", T_MAC, L(address), 18, 0, 0, 0, NULL, RESTART },
	{ "link", "adapter", T_MAC, L(adapter), 18, 0, 0, 0, NULL, RESTART },
	{ "link", "address_random", T_BOOL, L(address_random), 0, 0, 0, 0,
	  NULL, RESTART },
	/* Core 5.4, Vol 3, Part A, 4.22: LE PSMs are 0x0001..0x00ff. */
	{ "link", "psm", T_U16, L(psm), 0, 1, 0x00ff, 0, NULL, RESTART },
	/* Core 5.4, Vol 3, Part A, 4.22: an LE MTU is at least 23. */
	{ "link", "mtu", T_U16, L(mtu), 0, 23, 65535, 0, NULL, RESTART },
	{ "link", "baud", T_U32, L(baud), 0, 1200, 4000000, 0, NULL, RESTART },
	{ "link", "flow_control", T_BOOL, L(flow_control), 0, 0, 0, 0, NULL,
	  RESTART },
	{ "link", "bitrate", T_U32, L(bitrate), 0, 16000, 320000, 0, NULL,
	  RESTART },
	/* BT_SECURITY before connect() (l2cap), SMP (hci-uart): a new
	 * level needs a new connection. */
	{ "link", "security", T_ENUM, L(security), 0, 0, 0, 0,
	  conf_security_names, RESTART, CONF_LINK_SET_SECURITY },
};

const size_t conf_n_key_defs = ARRAY_SIZE(conf_keys);

const struct conf_key *conf_key_find(const char *section, const char *key)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (strcmp(conf_keys[i].section, section) == 0 &&
		    strcmp(conf_keys[i].key, key) == 0) {
			return &conf_keys[i];
		}
	}
	return NULL;
}

bool conf_section_known(const char *section)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(conf_keys); i++) {
		if (strcmp(conf_keys[i].section, section) == 0) {
			return true;
		}
	}
	return false;
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
static bool conf_parse_units(const char *v, uint64_t unit, uint64_t *ret_ns)
{
	char *end;
	double x;

	errno = 0;
	x = strtod(v, &end);
	if (errno || end == v || *end != '\0' || !(x >= 0) || x > 1e12) {
		return false;
	}
	*ret_ns = (uint64_t)(x * (double)unit + 0.5);
	return true;
}

static int conf_key_fail(char *err, size_t err_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int conf_key_fail(char *err, size_t err_size, const char *fmt, ...)
{
	va_list ap;

	if (err && err_size) {
		va_start(ap, fmt);
		vsnprintf(err, err_size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int conf_key_set_int(const struct conf_key *k, char *field,
			    const char *name, const char *value, char *err,
			    size_t err_size)
{
	int64_t x, min = k->min;
	size_t i;

	/* T_INT with names: names[i] spells min + i, numbers start after. */
	for (i = 0; k->names && k->names[i]; i++, min++) {
		if (strcmp(value, k->names[i]) == 0) {
			*(int *)field = (int)min;
			return 0;
		}
	}
	if (!conf_parse_i64(value, &x)) {
		return conf_key_fail(err, err_size,
				     "%s: '%s' is not an integer%s%s", name,
				     value, k->names ? " or " : "",
				     k->names ? k->names[0] : "");
	}
	/* k->min itself is accepted as a number too: it is how the value
	 * reads back wherever a formatter does not know the names. */
	if (x < k->min || x > k->max) {
		return conf_key_fail(err, err_size,
				     "%s: %s out of range [%" PRId64 ", %" PRId64
				     "]%s%s",
				     name, value, min, k->max,
				     k->names ? " or " : "",
				     k->names ? k->names[0] : "");
	}
	if (k->type == T_INT || k->type == T_MODE) {
		*(int *)field = (int)x;
	} else if (k->type == T_U32) {
		*(uint32_t *)field = (uint32_t)x;
	} else {
		*(uint16_t *)field = (uint16_t)x;
	}
	return 0;
}

int conf_key_set(const struct conf_key *k, void *base, const char *name,
		 const char *value, char *err, size_t err_size)
{
	char *field = (char *)base + k->offset;
	uint64_t ns;
	bool b;
	size_t i;

	switch (k->type) {
	case T_INT:
	case T_U32:
	case T_U16:
	case T_MODE:
		return conf_key_set_int(k, field, name, value, err, err_size);
	case T_NS:
		if (!conf_parse_units(value, k->unit, &ns)) {
			return conf_key_fail(err, err_size,
					     "%s: '%s' is not a number", name,
					     value);
		}
		if (ns < (uint64_t)k->min * k->unit ||
		    ns > (uint64_t)k->max * k->unit) {
			return conf_key_fail(err, err_size,
					     "%s: %s out of range [%" PRId64
					     ", %" PRId64 "]",
					     name, value, k->min, k->max);
		}
		*(uint64_t *)field = ns;
		return 0;
	case T_BOOL:
		if (!conf_parse_bool(value, &b)) {
			return conf_key_fail(err, err_size,
					     "%s: '%s' is not a boolean "
					     "(yes/no, true/false, 1/0, on/off)",
					     name, value);
		}
		*(bool *)field = b;
		return 0;
	case T_STR:
		if (strlen(value) >= k->size) {
			return conf_key_fail(err, err_size,
					     "%s: value too long (at most %zu "
					     "bytes)",
					     name, k->size - 1);
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case T_ENUM:
		for (i = 0; k->names[i]; i++) {
			if (strcmp(value, k->names[i]) == 0) {
				*(int *)field = (int)i;
				return 0;
			}
		}
		return conf_key_fail(err, err_size, "%s: unknown value '%s'",
				     name, value);
	case T_MAC:
		if (!conf_valid_mac(value)) {
			return conf_key_fail(err, err_size,
					     "%s: '%s' is not a Bluetooth "
					     "address (AA:BB:CC:DD:EE:FF)",
					     name, value);
		}
		memcpy(field, value, 18);
		return 0;
	}
	return conf_key_fail(err, err_size, "%s: internal error", name);
}
