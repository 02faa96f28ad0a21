/* SPDX-License-Identifier: MIT */
/*
 * ttwsd.conf(5): the defaults, the file parser (libinih plus the section
 * scan of confpair.c), the checks across keys, and the names of the
 * enums. The pairs ([pair.NAME]) and their checks are confpair.c.
 */
#include "core/conf.h"

#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/conf_private.h"
#include "core/macro.h"

void conf_link_default(struct conf_link *l)
{
	l->transport = CONF_TRANSPORT_NONE;
	l->psm = 0x0080;
	l->mtu = 2048;
	l->baud = 3000000;
	l->flow_control = true;
	l->bitrate = 96000;
	l->security = CONF_SECURITY_MEDIUM;
	l->set = 0;
}

void conf_default(struct conf *ret)
{
	unsigned e;

	memset(ret, 0, sizeof(*ret));
	ret->rt.priority = 80;
	ret->rt.cpu = CONF_RT_CPU_AUTO;
	snprintf(ret->rt.cgroup, sizeof(ret->rt.cgroup), "auto");
	ret->rt.lock_memory = true;
	ret->rt.dma_latency = true;
	ret->rt.prefault_heap_kib = 4096;
	ret->rt.prefault_stack_kib = 256;
	snprintf(ret->loop.backend, sizeof(ret->loop.backend), "auto");
	ret->loop.spin_guard_us = 0;
	ret->loop.busy_poll_us = 0;
	ret->loop.rx_coalesce_us = 0; /* off: os/loop.h, man ttwsd.conf(5) */
	ret->loop.socket_busy_poll_us = -1;
	ret->loop.socket_priority = -1;
	ret->stream.source = CONF_SOURCE_TONE;
	ret->stream.frame_ns = 10 * NSEC_PER_MSEC;
	ret->stream.codec = CONF_CODEC_PCM;
	ret->stream.delay_ns = 40 * NSEC_PER_MSEC;
	ret->stream.delay_min_ns = 5 * NSEC_PER_MSEC;
	ret->stream.delay_max_ns = 250 * NSEC_PER_MSEC;
	ret->stream.delay_margin_ns = 1 * NSEC_PER_MSEC;
	ret->stream.mono = false;
	ret->stream.asha_volume = -20;
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
	ret->sync.supervision_ns = NSEC_PER_SEC;
	snprintf(ret->control.socket, sizeof(ret->control.socket),
		 "/run/ttws/control");
	ret->control.socket_mode = 0660;
	ret->metrics.interval_s = 15;
	for (e = 0; e < CONF_N_EARS; e++) {
		conf_link_default(&ret->link[e]);
	}
	ret->n_pairs = 0;
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

/*
 * A link key was set: record that the file named it, and refuse at this
 * line what is wrong whatever the section's other keys say (a security
 * on a unix link: whichever of the two keys comes second).
 */
static int conf_handler_link(struct conf_parser *p, struct conf_link *l,
			     const struct conf_key *k, const char *section,
			     const char *name)
{
	char label[CONF_NAME_MAX + 16], buf[CONF_ERR_MAX];
	const char *dot = strchr(name, '.');
	const char *why;

	l->set |= k->pair_set;
	if (strncmp(section, "pair.", 5) == 0 && dot) {
		/* "[pair.a] left." */
		snprintf(label, sizeof(label), "[%s] %.*s", section,
			 (int)(dot - name + 1), name);
	} else {
		snprintf(label, sizeof(label), "[%s] ", section);
	}
	why = conf_validate_security(l, label, buf, sizeof(buf));
	if (why) {
		snprintf(p->err, sizeof(p->err), "%s", why);
		p->failed = true;
		return 0; /* libinih then reports this line */
	}
	return 1;
}

static const char *conf_validate_words(const struct conf *c);

static int conf_handler(void *user, const char *section, const char *name,
			const char *value)
{
	struct conf_parser *p = user;
	const char *why;
	const char *match = section, *key = name;
	void *base = &p->conf;
	struct conf_pair *pair = NULL;
	const struct conf_key *k;
	int pi, ear;

	if (p->failed) {
		return 1; /* only the first error is reported */
	}
	if (!name) {
		/* libinih calls with name NULL for a section header only when
		 * INI_CALL_HANDLER_ON_NEW_SECTION is set; be safe anyway. */
		return 1;
	}
	if (conf_section_split(&p->conf, section, &pi, &ear) == 0) {
		if (pi < 0) {
			match = "link";
			base = &p->conf.link[ear];
		} else {
			/* Made by conf_scan_sections() before this pass. */
			pair = &p->conf.pairs[pi];
			ear = conf_pair_key_ear(name, &key);
			match = ear < 0 ? "pair" : "link";
			base = ear < 0 ? (void *)pair :
					 (void *)&pair->link[ear];
		}
	} else if (strcmp(section, "link") == 0 ||
		   strcmp(section, "pair") == 0) {
		/* Their keys are only valid inside [link.EAR] / [pair.NAME]
		 * (offsets in another struct). */
		return conf_fail(p, "unknown section [%s] (key '%s')", section,
				 name);
	}
	k = conf_key_find(match, key);
	if (k) {
		char label[CONF_NAME_MAX + 8];

		snprintf(label, sizeof(label), "[%s] %s", section, name);
		if (conf_key_set(k, base, label, value, p->err,
				 sizeof(p->err)) < 0) {
			p->failed = true;
			return 0; /* libinih then reports this line */
		}
		why = conf_validate_words(&p->conf);
		if (why) {
			return conf_fail(p, "%s", why);
		}
		if (pair && strcmp(match, "pair") == 0) {
			pair->set |= k->pair_set;
		}
		if (strcmp(match, "link") == 0) {
			return conf_handler_link(p, base, k, section, name);
		}
		return 1;
	}
	if (conf_section_known(match)) {
		return conf_fail(p, "[%s] unknown key '%s'", section, name);
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

/* The keys whose value is one of a few (a word of a list, a frame
 * length): checked as each is read (conf_handler(), so that the error
 * names its line) and again with the whole configuration
 * (conf_validate(), for conf_set()). */
static const char *conf_validate_words(const struct conf *c)
{
	if (c->stream.frame_ns != 7500 * NSEC_PER_USEC &&
	    c->stream.frame_ns != 10000 * NSEC_PER_USEC) {
		return "[stream] frame_us: must be 7500 or 10000";
	}
	if (strcmp(c->rt.cgroup, "auto") != 0 &&
	    strcmp(c->rt.cgroup, "none") != 0 && c->rt.cgroup[0] != '/') {
		return "[rt] cgroup: must be auto, none or an absolute path";
	}
	if (strcmp(c->loop.backend, "auto") != 0 &&
	    strcmp(c->loop.backend, "io_uring") != 0 &&
	    strcmp(c->loop.backend, "epoll") != 0) {
		return "[loop] backend: must be auto, io_uring or epoll";
	}
	if (strcmp(c->servo.estimator, "ttws") != 0 &&
	    strcmp(c->servo.estimator, "naive") != 0 &&
	    strcmp(c->servo.estimator, "median-iir") != 0 &&
	    strcmp(c->servo.estimator, "lucky-pi") != 0) {
		return "[servo] estimator: must be ttws, naive, median-iir or "
		       "lucky-pi";
	}
	return NULL;
}

/* Checks across keys, after the whole file is read. */
const char *conf_validate(const struct conf *c, char *buf, size_t size,
			  int *ret_line)
{
	const char *why;
	unsigned e;

	if (ret_line) {
		*ret_line = 0;
	}
	why = conf_validate_words(c);
	if (why) {
		return why;
	}
	why = conf_validate_delays(c->stream.delay_ns, c->stream.delay_min_ns,
				   c->stream.delay_max_ns, "stream", buf,
				   size);
	if (why) {
		return why;
	}
	if (c->reconnect.backoff_min_ns > c->reconnect.backoff_max_ns) {
		return "[reconnect] backoff_min_ms is above backoff_max_ms";
	}
	if (c->n_pairs > CONF_MAX_PAIRS) {
		return "more than 8 [pair.NAME] sections";
	}
	for (e = 0; e < CONF_N_EARS && !c->n_pairs; e++) {
		char label[24];

		snprintf(label, sizeof(label), "[link.%s] ", conf_ear_name(e));
		why = conf_validate_link(&c->link[e], label, buf, size);
		if (why) {
			return why;
		}
	}
	if (!c->n_pairs) {
		why = conf_validate_profile(c->stream.profile, c->link,
					    "[stream] profile", buf, size);
		if (why) {
			return why;
		}
	}
	why = conf_validate_pairs(c, buf, size, ret_line);
	if (why) {
		return why;
	}
	return conf_validate_unique(c, buf, size, ret_line);
}

int conf_check(const struct conf *c, char *err, size_t err_size)
{
	char buf[CONF_ERR_MAX];
	const char *why = conf_validate(c, buf, sizeof(buf), NULL);

	if (!why) {
		return 0;
	}
	if (err && err_size) {
		snprintf(err, err_size, "%s", why);
	}
	return -EINVAL;
}

int conf_parse(const char *text, const char *file_name, struct conf *ret,
	       char *err, size_t err_size)
{
	struct conf_parser *p;
	char buf[CONF_ERR_MAX];
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
	if (line == 0 && conf_scan_sections(&p->conf, text, p->err,
					    sizeof(p->err), &line) < 0) {
		p->failed = true;
	}
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
	why = conf_validate(&p->conf, buf, sizeof(buf), &line);
	if (why) {
		if (err && line > 0) {
			/* About one pair: its [pair.NAME] header. */
			snprintf(err, err_size, "%s:%d: %s", file_name, line,
				 why);
		} else if (err) {
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

bool conf_same_controller(const struct conf_link *a, const struct conf_link *b)
{
	if (a->transport != b->transport) {
		return false;
	}
	switch (a->transport) {
	case CONF_TRANSPORT_NONE:
		return false;
	case CONF_TRANSPORT_UNIX:
		return true;
	case CONF_TRANSPORT_HCI_UART:
		return strcmp(a->path, b->path) == 0;
	case CONF_TRANSPORT_L2CAP:
		return strcasecmp(a->adapter, b->adapter) == 0;
	}
	return false;
}

const char *conf_transport_name(enum conf_transport t)
{
	switch (t) {
	case CONF_TRANSPORT_NONE:
	case CONF_TRANSPORT_UNIX:
	case CONF_TRANSPORT_HCI_UART:
	case CONF_TRANSPORT_L2CAP:
		return conf_transport_names[t];
	}
	return "?";
}

const char *conf_codec_name(enum conf_codec c)
{
	switch (c) {
	case CONF_CODEC_PCM:
	case CONF_CODEC_LC3:
		return conf_codec_names[c];
	}
	return "?";
}

const char *conf_profile_name(enum conf_profile p)
{
	switch (p) {
	case CONF_PROFILE_TTWS_LINK:
	case CONF_PROFILE_ASHA:
		return conf_profile_names[p];
	}
	return "?";
}

const char *conf_security_name(enum conf_security s)
{
	switch (s) {
	case CONF_SECURITY_NONE:
	case CONF_SECURITY_MEDIUM:
	case CONF_SECURITY_HIGH:
		return conf_security_names[s];
	}
	return "?";
}

const char *conf_security_warning(const struct conf_link *l)
{
	switch (l->transport) {
	case CONF_TRANSPORT_L2CAP:
	case CONF_TRANSPORT_HCI_UART:
		break;
	case CONF_TRANSPORT_NONE:
	case CONF_TRANSPORT_UNIX:
		return NULL;
	}
	if (l->security != CONF_SECURITY_NONE) {
		return NULL;
	}
	return "security = none: this link is NOT encrypted; anyone in radio "
	       "range can listen to its audio and send to the earbud as this "
	       "gateway (set security = medium, the default, to pair and "
	       "encrypt)";
}

const char *conf_source_name(enum conf_source s)
{
	switch (s) {
	case CONF_SOURCE_TONE:
	case CONF_SOURCE_PIPEWIRE:
		return conf_source_names[s];
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
