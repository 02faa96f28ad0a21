/* SPDX-License-Identifier: MIT */
/*
 * ttwsd.conf's [pair.NAME] sections: the pairs of a struct conf and each
 * pair's view (a struct conf as the old single-pair form spells it), the
 * scan of the section headers before libinih reads the keys, and the
 * checks on the pairs and their links (both ears, delays, no earbud
 * reached twice). The file parser itself is conf.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/conf.h"
#include "core/conf_private.h"
#include "core/macro.h"

unsigned conf_n_pairs(const struct conf *c)
{
	return c->n_pairs ? MIN(c->n_pairs, (unsigned)CONF_MAX_PAIRS) : 1;
}

const char *conf_pair_name(const struct conf *c, unsigned i)
{
	if (i >= conf_n_pairs(c)) {
		return NULL;
	}
	return c->n_pairs ? c->pairs[i].name : CONF_PAIR_DEFAULT;
}

int conf_pair_find(const struct conf *c, const char *name)
{
	unsigned i;

	for (i = 0; i < conf_n_pairs(c); i++) {
		if (strcmp(conf_pair_name(c, i), name) == 0) {
			return (int)i;
		}
	}
	return -ENOENT;
}

const struct conf_link *conf_pair_link(const struct conf *c, unsigned i,
				       enum conf_ear ear)
{
	if (i >= conf_n_pairs(c) || (unsigned)ear >= CONF_N_EARS) {
		return NULL;
	}
	return c->n_pairs ? &c->pairs[i].link[ear] : &c->link[ear];
}

/* Pair p's stream values into s: its own where set, else [stream]'s. */
static void conf_pair_stream(const struct conf_pair *p, struct conf *s)
{
	if (p->set & CONF_PAIR_SET_CODEC) {
		s->stream.codec = p->codec;
	}
	if (p->set & CONF_PAIR_SET_PROFILE) {
		s->stream.profile = p->profile;
	}
	if (p->set & CONF_PAIR_SET_ASHA_VOLUME) {
		s->stream.asha_volume = p->asha_volume;
	}
	if (p->set & CONF_PAIR_SET_DELAY) {
		s->stream.delay_ns = p->delay_ns;
	}
	if (p->set & CONF_PAIR_SET_DELAY_MIN) {
		s->stream.delay_min_ns = p->delay_min_ns;
	}
	if (p->set & CONF_PAIR_SET_DELAY_MAX) {
		s->stream.delay_max_ns = p->delay_max_ns;
	}
	if (p->set & CONF_PAIR_SET_DELAY_MARGIN) {
		s->stream.delay_margin_ns = p->delay_margin_ns;
	}
}

int conf_pair_view(const struct conf *c, unsigned i, struct conf *ret)
{
	const struct conf_pair *p;
	unsigned e;

	if (i >= conf_n_pairs(c)) {
		return -ERANGE;
	}
	if (ret != c) {
		*ret = *c;
	}
	if (!c->n_pairs) {
		return 0;
	}
	p = &c->pairs[i];
	for (e = 0; e < CONF_N_EARS; e++) {
		ret->link[e] = p->link[e];
	}
	conf_pair_stream(p, ret);
	return 0;
}

/* "left.KEY" / "right.KEY" in a [pair.NAME]: the ear, and KEY. */
int conf_pair_key_ear(const char *name, const char **ret_key)
{
	enum conf_ear e;

	for (e = 0; e < CONF_N_EARS; e++) {
		const char *en = conf_ear_name(e);
		size_t n = strlen(en);

		if (strncmp(name, en, n) == 0 && name[n] == '.') {
			*ret_key = name + n + 1;
			return (int)e;
		}
	}
	return -1;
}

/* NAME of [pair.NAME]: 1..31 of [a-z0-9_-]. */
static bool conf_pair_name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len >= CONF_PAIR_NAME_MAX) {
		return false;
	}
	for (i = 0; i < len; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '-')) {
			return false;
		}
	}
	return true;
}

int conf_section_split(const struct conf *c, const char *section,
		       int *ret_pair, int *ret_ear)
{
	int i;

	if (strncmp(section, "pair.", 5) == 0 && c->n_pairs) {
		i = conf_pair_find(c, section + 5);
		if (i < 0) {
			return -ENOENT;
		}
		*ret_pair = i;
		*ret_ear = -1;
		return 0;
	}
	if (strcmp(section, "link.left") == 0) {
		*ret_pair = -1;
		*ret_ear = CONF_EAR_LEFT;
		return 0;
	}
	if (strcmp(section, "link.right") == 0) {
		*ret_pair = -1;
		*ret_ear = CONF_EAR_RIGHT;
		return 0;
	}
	return -ENOENT;
}

/* What conf_scan_sections() fills in: the pairs, or the first error. */
struct conf_scan {
	struct conf *conf;
	char *err;
	size_t err_size;
	int *ret_line;     /* of the error */
};

static int conf_scan_fail(struct conf_scan *p, int line, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));

static int conf_scan_fail(struct conf_scan *p, int line, const char *fmt,
			  ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->err_size, fmt, ap);
	va_end(ap);
	*p->ret_line = line;
	return -EINVAL;
}

/* A [pair.NAME] header at line: a new pair with the defaults. */
static int conf_scan_pair(struct conf_scan *p, const char *name,
			  size_t len, int line, int old_line)
{
	struct conf *c = p->conf;
	struct conf_pair *pair;
	unsigned i, e;

	if (!conf_pair_name_valid(name, len)) {
		return conf_scan_fail(p, line,
				      "[pair.%.*s]: a pair's name is 1 to %d "
				      "of a-z, 0-9, '_' and '-'",
				      (int)MIN(len, (size_t)64), name,
				      CONF_PAIR_NAME_MAX - 1);
	}
	if (old_line) {
		return conf_scan_fail(p, line,
				      "[pair.%.*s]: [link.left]/[link.right] "
				      "(line %d) and [pair.NAME] sections "
				      "cannot be mixed: use one form",
				      (int)len, name, old_line);
	}
	for (i = 0; i < c->n_pairs; i++) {
		if (strlen(c->pairs[i].name) == len &&
		    memcmp(c->pairs[i].name, name, len) == 0) {
			return conf_scan_fail(p, line,
					      "[pair.%.*s]: a second section "
					      "for this pair (the first is at "
					      "line %d)",
					      (int)len, name, c->pairs[i].line);
		}
	}
	if (c->n_pairs == CONF_MAX_PAIRS) {
		return conf_scan_fail(p, line,
				      "[pair.%.*s]: at most %d pairs", (int)len,
				      name, CONF_MAX_PAIRS);
	}
	pair = &c->pairs[c->n_pairs++];
	memset(pair, 0, sizeof(*pair));
	memcpy(pair->name, name, len);
	pair->line = line;
	for (e = 0; e < CONF_N_EARS; e++) {
		conf_link_default(&pair->link[e]);
	}
	return 0;
}

/*
 * The section headers, before libinih reads the keys (it tells its
 * handler no line numbers and no headers): the pairs in file order, and
 * the errors about them with their lines. Lines are split as libinih
 * splits them: a header is a line whose first non-blank is '[', unless
 * indented right after a key (libinih's continuation line).
 */
int conf_scan_sections(struct conf *c, const char *text, char *err,
		       size_t err_size, int *ret_line)
{
	struct conf_scan scan = {
		.conf = c,
		.err = err,
		.err_size = err_size,
		.ret_line = ret_line,
	};
	struct conf_scan *p = &scan;
	int line = 0, old_line = 0, pair_line = 0;
	bool after_key = false;
	const char *s = text;

	while (*s) {
		const char *end = strchr(s, '\n'), *start = s, *close;
		size_t len = end ? (size_t)(end - s) : strlen(s);

		line++;
		while (start < s + len && (*start == ' ' || *start == '\t' ||
					   *start == '\r')) {
			start++;
		}
		if (start == s + len || *start == ';' || *start == '#') {
			/* blank or comment */
		} else if (start > s && after_key) {
			/* a continuation of the value above */
		} else if (*start == '[') {
			after_key = false;
			close = memchr(start, ']', (size_t)(s + len - start));
			if (close && (size_t)(close - start) > 5 &&
			    strncmp(start + 1, "pair.", 5) == 0) {
				if (conf_scan_pair(p, start + 6,
						   (size_t)(close - start - 6),
						   line, old_line) < 0) {
					return -EINVAL;
				}
				pair_line = pair_line ? pair_line : line;
			} else if (close &&
				   (strncmp(start, "[link.left]", 11) == 0 ||
				    strncmp(start, "[link.right]", 12) == 0)) {
				if (pair_line) {
					return conf_scan_fail(
						p, line,
						"[link.*] sections and "
						"[pair.NAME] (line %d) cannot "
						"be mixed: use one form",
						pair_line);
				}
				old_line = old_line ? old_line : line;
			}
		} else {
			after_key = true;
		}
		s += len;
		if (*s == '\n') {
			s++;
		}
	}
	return 0;
}

/* The delay bounds of one pair (or of [stream]). */
const char *conf_validate_delays(uint64_t delay_ns, uint64_t min_ns,
				 uint64_t max_ns, const char *sec, char *buf,
				 size_t size)
{
	if (min_ns > max_ns) {
		snprintf(buf, size, "[%s] delay_min_ms is above delay_max_ms",
			 sec);
		return buf;
	}
	if (delay_ns < min_ns || delay_ns > max_ns) {
		snprintf(buf, size,
			 "[%s] delay_ms is outside delay_min_ms..delay_max_ms",
			 sec);
		return buf;
	}
	return NULL;
}

const char *conf_validate_security(const struct conf_link *l,
				   const char *label, char *buf, size_t size)
{
	/* A unix socket is the simulator's, on this host: nothing to
	 * encrypt, and a written-out level that does nothing would mislead
	 * whoever copies the section to a radio transport's. */
	if (l->transport == CONF_TRANSPORT_UNIX &&
	    (l->set & CONF_LINK_SET_SECURITY)) {
		snprintf(buf, size,
			 "%ssecurity: the unix transport has no link security "
			 "(remove the key)",
			 label);
		return buf;
	}
	return NULL;
}

/* One link's required keys; label is "[link.left] " or "[pair.a] left.". */
const char *conf_validate_link(const struct conf_link *l, const char *label,
			       char *buf, size_t size)
{
	const char *why = conf_validate_security(l, label, buf, size);

	if (why) {
		return why;
	}
	switch (l->transport) {
	case CONF_TRANSPORT_NONE:
		break;
	case CONF_TRANSPORT_UNIX:
	case CONF_TRANSPORT_HCI_UART:
		if (l->path[0] == '\0') {
			snprintf(buf, size, "%spath: required for this transport",
				 label);
			return buf;
		}
		break;
	case CONF_TRANSPORT_L2CAP:
		if (l->address[0] == '\0') {
			snprintf(buf, size, "%saddress: required for l2cap",
				 label);
			return buf;
		}
		break;
	}
	return NULL;
}

/*
 * Whether two links reach the same earbud: the same socket (unix), the
 * same address (l2cap), the same address on the same tty (hci-uart).
 * Two pairs on one hci-uart tty: its host has one channel per ear of
 * one pair (daemon/dongle.h), so that counts as a clash too.
 */
static const char *conf_links_clash(const struct conf_link *a,
				    const struct conf_link *b, bool same_pair)
{
	if (a->transport == CONF_TRANSPORT_NONE ||
	    a->transport != b->transport) {
		return NULL;
	}
	switch (a->transport) {
	case CONF_TRANSPORT_NONE:
		return NULL;
	case CONF_TRANSPORT_UNIX:
		return strcmp(a->path, b->path) == 0 ? "path" : NULL;
	case CONF_TRANSPORT_L2CAP:
		return strcasecmp(a->address, b->address) == 0 ? "address" :
								 NULL;
	case CONF_TRANSPORT_HCI_UART:
		if (strcmp(a->path, b->path) != 0) {
			return NULL;
		}
		if (!same_pair) {
			return "path (one hci-uart dongle serves one pair)";
		}
		return a->address[0] &&
				       strcasecmp(a->address, b->address) == 0 ?
			       "address" :
			       NULL;
	}
	return NULL;
}

/* Link j of pair pj ("[pair.a] left" / "[link.left]"). */
static void conf_link_label(const struct conf *c, unsigned pj, unsigned e,
			    char *buf, size_t size)
{
	if (c->n_pairs) {
		snprintf(buf, size, "[pair.%s] %s", c->pairs[pj].name,
			 conf_ear_name(e));
	} else {
		snprintf(buf, size, "[link.%s]", conf_ear_name(e));
	}
}

/* No two links, in one pair or two, reach the same earbud. */
const char *conf_validate_unique(const struct conf *c, char *buf, size_t size,
				 int *ret_line)
{
	unsigned n = conf_n_pairs(c), i, j, a, b;
	char la[CONF_PAIR_NAME_MAX + 24], lb[CONF_PAIR_NAME_MAX + 24];

	/* At most 16 links: the pairs of them, at load and set only. */
	for (i = 0; i < n * CONF_N_EARS; i++) {
		for (j = i + 1; j < n * CONF_N_EARS; j++) {
			const struct conf_link *x, *y;
			const char *what;

			a = i / CONF_N_EARS;
			b = j / CONF_N_EARS;
			x = c->n_pairs ? &c->pairs[a].link[i % CONF_N_EARS] :
					 &c->link[i % CONF_N_EARS];
			y = c->n_pairs ? &c->pairs[b].link[j % CONF_N_EARS] :
					 &c->link[j % CONF_N_EARS];
			what = conf_links_clash(x, y, a == b);
			if (!what) {
				continue;
			}
			conf_link_label(c, a, i % CONF_N_EARS, la, sizeof(la));
			conf_link_label(c, b, j % CONF_N_EARS, lb, sizeof(lb));
			snprintf(buf, size, "%s and %s: the same %s", lb, la,
				 what);
			if (ret_line && c->n_pairs) {
				*ret_line = c->pairs[b].line;
			}
			return buf;
		}
	}
	return NULL;
}

/* Each [pair.NAME]: both ears, their keys, its delays. */
/*
 * ASHA is spoken by ttwsd's own host for now: the GATT client runs on
 * the dongle's ATT bearer (core/hcihost.h, hcihost_set_att()). The
 * kernel's L2CAP sockets would need an ATT socket beside them, which is
 * not written yet; unix has no ATT at all. security = high cannot be met
 * on hci-uart (conf_validate_link() leaves that to the transport, which
 * refuses it at start).
 */
const char *conf_validate_profile(enum conf_profile prof,
				  const struct conf_link l[CONF_N_EARS],
				  const char *label, char *buf, size_t size)
{
	unsigned e;

	if (prof != CONF_PROFILE_ASHA) {
		return NULL;
	}
	for (e = 0; e < CONF_N_EARS; e++) {
		if (l[e].transport != CONF_TRANSPORT_NONE &&
		    l[e].transport != CONF_TRANSPORT_HCI_UART) {
			snprintf(buf, size,
				 "%s = asha needs transport = hci-uart on both "
				 "ears (the %s ear has %s: its GATT client "
				 "runs on ttwsd's own HCI host)",
				 label, conf_ear_name(e),
				 conf_transport_name(l[e].transport));
			return buf;
		}
	}
	return NULL;
}

const char *conf_validate_pairs(const struct conf *c, char *buf, size_t size,
				int *ret_line)
{
	char label[CONF_PAIR_NAME_MAX + 24], sec[CONF_PAIR_NAME_MAX + 8];
	const char *why = NULL;
	unsigned i, e;

	for (i = 0; i < c->n_pairs && !why; i++) {
		const struct conf_pair *p = &c->pairs[i];

		if (ret_line) {
			*ret_line = p->line;
		}
		if (p->link[CONF_EAR_LEFT].transport == CONF_TRANSPORT_NONE ||
		    p->link[CONF_EAR_RIGHT].transport == CONF_TRANSPORT_NONE) {
			snprintf(buf, size,
				 "[pair.%s]: a pair needs both ears "
				 "(left.transport and right.transport)",
				 p->name);
			why = buf;
			break;
		}
		for (e = 0; e < CONF_N_EARS && !why; e++) {
			snprintf(label, sizeof(label), "[pair.%s] %s.", p->name,
				 conf_ear_name(e));
			why = conf_validate_link(&p->link[e], label, buf, size);
		}
		if (!why) {
			snprintf(label, sizeof(label), "[pair.%s] profile",
				 p->name);
			why = conf_validate_profile(
				p->set & CONF_PAIR_SET_PROFILE ?
					p->profile :
					c->stream.profile,
				p->link, label, buf, size);
		}
		if (!why) {
			const struct conf_pair *q = p;
			uint32_t set = q->set;

			snprintf(sec, sizeof(sec), "pair.%s", p->name);
			why = conf_validate_delays(
				set & CONF_PAIR_SET_DELAY ? q->delay_ns :
							    c->stream.delay_ns,
				set & CONF_PAIR_SET_DELAY_MIN ?
					q->delay_min_ns :
					c->stream.delay_min_ns,
				set & CONF_PAIR_SET_DELAY_MAX ?
					q->delay_max_ns :
					c->stream.delay_max_ns,
				sec, buf, size);
		}
	}
	if (!why && ret_line) {
		*ret_line = 0;
	}
	return why;
}
