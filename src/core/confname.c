/* SPDX-License-Identifier: MIT */
/*
 * ttwsd.conf keys by name ("section.key", "link.left.path") for the
 * control API's Get, Set and ListKeys, and the live/restart split a
 * reload needs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf_private.h"
#include "core/macro.h"

/*
 * One name: a key, and where its field is. pair >= 0: a [pair.NAME] key
 * (its link's with ear >= 0, else its own stream key); pair < 0 with
 * ear >= 0: the old form's [link.EAR].
 */
struct conf_ref {
	const struct conf_key *k;
	int pair;
	int ear;
};

static bool conf_is(const struct conf_key *k, const char *section)
{
	return strcmp(k->section, section) == 0;
}

/* Names of key k outside the pairs: 1, the old form's ears, or none. */
static unsigned conf_key_names(const struct conf *c, const struct conf_key *k)
{
	if (conf_is(k, "pair")) {
		return 0;
	}
	if (conf_is(k, "link")) {
		return c->n_pairs ? 0 : CONF_N_EARS;
	}
	return 1;
}

/* Names of one [pair.NAME]: its stream keys, its links' keys per ear. */
static unsigned conf_pair_names(void)
{
	unsigned n = 0;
	size_t k;

	for (k = 0; k < conf_n_key_defs; k++) {
		if (conf_is(&conf_keys[k], "pair")) {
			n++;
		} else if (conf_is(&conf_keys[k], "link")) {
			n += CONF_N_EARS;
		}
	}
	return n;
}

/* Name i of c: the sections' keys in table order, then each pair's. */
static int conf_name_at(const struct conf *c, unsigned i,
			struct conf_ref *ret)
{
	unsigned per_pair = conf_pair_names();
	size_t k;

	for (k = 0; k < conf_n_key_defs; k++) {
		unsigned n = conf_key_names(c, &conf_keys[k]);

		if (i < n) {
			ret->k = &conf_keys[k];
			ret->pair = -1;
			ret->ear = conf_is(ret->k, "link") ? (int)i : -1;
			return 0;
		}
		i -= n;
	}
	if (i >= c->n_pairs * per_pair) {
		return -ERANGE;
	}
	ret->pair = (int)(i / per_pair);
	i %= per_pair;
	for (k = 0; k < conf_n_key_defs; k++) {
		const struct conf_key *key = &conf_keys[k];
		unsigned n = conf_is(key, "pair") ? 1 :
			     conf_is(key, "link") ? CONF_N_EARS :
						    0;

		if (i < n) {
			ret->k = key;
			ret->ear = conf_is(key, "link") ? (int)i : -1;
			return 0;
		}
		i -= n;
	}
	return -ERANGE;
}

unsigned conf_n_names(const struct conf *c)
{
	unsigned n = 0;
	size_t k;

	for (k = 0; k < conf_n_key_defs; k++) {
		n += conf_key_names(c, &conf_keys[k]);
	}
	return n + MIN(c->n_pairs, (unsigned)CONF_MAX_PAIRS) * conf_pair_names();
}

static void conf_format_name(const struct conf *c, const struct conf_ref *r,
			     char *buf, size_t size)
{
	if (r->pair >= 0 && r->ear >= 0) {
		snprintf(buf, size, "pair.%s.%s.%s", c->pairs[r->pair].name,
			 conf_ear_name(r->ear), r->k->key);
	} else if (r->pair >= 0) {
		snprintf(buf, size, "pair.%s.%s", c->pairs[r->pair].name,
			 r->k->key);
	} else if (r->ear >= 0) {
		snprintf(buf, size, "link.%s.%s", conf_ear_name(r->ear),
			 r->k->key);
	} else {
		snprintf(buf, size, "%s.%s", r->k->section, r->k->key);
	}
}

/* The struct the field of r lives in. */
static void *conf_base_mut(struct conf *c, const struct conf_ref *r)
{
	if (r->pair >= 0 && r->ear >= 0) {
		return &c->pairs[r->pair].link[r->ear];
	}
	if (r->pair >= 0) {
		return &c->pairs[r->pair];
	}
	if (r->ear >= 0) {
		return &c->link[r->ear];
	}
	return c;
}

static const void *conf_base(const struct conf *c, const struct conf_ref *r)
{
	return conf_base_mut((struct conf *)c, r);
}

/* A duration in its key's unit: "60", "7.5". */
static void conf_format_units(uint64_t ns, uint64_t unit, char *buf,
			      size_t size)
{
	if (ns % unit == 0) {
		snprintf(buf, size, "%" PRIu64, ns / unit);
	} else {
		char *p;

		snprintf(buf, size, "%.6f", (double)ns / (double)unit);
		p = buf + strlen(buf) - 1;
		while (*p == '0') {
			*p-- = '\0';
		}
	}
}

static void conf_format_value(const struct conf_key *k, const void *base,
			      char *buf, size_t size)
{
	const char *field = (const char *)base + k->offset;

	switch (k->type) {
	case T_INT:
		/* A T_INT with names spells its lowest values by name
		 * ([rt] cpu = auto), so the value reads back as written. */
		if (k->names && *(const int *)field == (int)k->min) {
			snprintf(buf, size, "%s", k->names[0]);
			return;
		}
		snprintf(buf, size, "%d", *(const int *)field);
		return;
	case T_MODE:
		snprintf(buf, size, "0%03o", (unsigned)*(const int *)field);
		return;
	case T_U32:
		snprintf(buf, size, "%" PRIu32, *(const uint32_t *)field);
		return;
	case T_U16:
		snprintf(buf, size, "%u", (unsigned)*(const uint16_t *)field);
		return;
	case T_NS:
		conf_format_units(*(const uint64_t *)field, k->unit, buf, size);
		return;
	case T_BOOL:
		snprintf(buf, size, "%s", *(const bool *)field ? "yes" : "no");
		return;
	case T_STR:
	case T_MAC:
		snprintf(buf, size, "%s", field);
		return;
	case T_ENUM:
		snprintf(buf, size, "%s", k->names[*(const int *)field]);
		return;
	}
	snprintf(buf, size, "?");
}

static void conf_format_range(const struct conf_key *k, char *buf,
			      size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	switch (k->type) {
	case T_INT:
		if (k->names) {
			snprintf(buf, size, "%s|[%" PRId64 ", %" PRId64 "]",
				 k->names[0], k->min + 1, k->max);
			return;
		}
		/* fall through */
	case T_U32:
	case T_U16:
	case T_NS:
		snprintf(buf, size, "[%" PRId64 ", %" PRId64 "]", k->min,
			 k->max);
		return;
	case T_MODE:
		snprintf(buf, size, "[0000, 0777] (octal)");
		return;
	case T_BOOL:
		snprintf(buf, size, "yes|no");
		return;
	case T_MAC:
		snprintf(buf, size, "AA:BB:CC:DD:EE:FF");
		return;
	case T_ENUM:
		for (i = 0; k->names[i] && len < size; i++) {
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						i ? "|" : "", k->names[i]);
		}
		return;
	case T_STR:
		if (strcmp(k->key, "backend") == 0) {
			snprintf(buf, size, "auto|io_uring|epoll");
		} else if (strcmp(k->key, "estimator") == 0) {
			snprintf(buf, size, "ttws|naive|median-iir|lucky-pi");
		} else {
			snprintf(buf, size, "text, at most %zu bytes",
				 k->size - 1);
		}
		return;
	}
}

/* The value r has in c; a pair's stream key it did not set reads as
 * [stream]'s, which it follows. */
static void conf_format_ref(const struct conf *c, const struct conf_ref *r,
			    char *buf, size_t size)
{
	if (r->pair >= 0 && r->ear < 0 &&
	    !(c->pairs[r->pair].set & r->k->pair_set)) {
		conf_format_value(conf_key_find("stream", r->k->key), c, buf,
				  size);
		return;
	}
	conf_format_value(r->k, conf_base(c, r), buf, size);
}

static void conf_fill_info(const struct conf *c, const struct conf_ref *r,
			   struct conf_key_info *ret)
{
	conf_format_name(c, r, ret->name, sizeof(ret->name));
	conf_format_ref(c, r, ret->value, sizeof(ret->value));
	conf_format_range(r->k, ret->range, sizeof(ret->range));
	ret->apply = r->k->apply;
}

int conf_key_info(const struct conf *c, unsigned i, struct conf_key_info *ret)
{
	struct conf_ref r;

	if (conf_name_at(c, i, &r) < 0) {
		return -ERANGE;
	}
	conf_fill_info(c, &r, ret);
	return 0;
}

/* "EAR.key" -> the ear and key; -1 when it names no ear. */
static int conf_split_ear(const char *name, const char **ret_key)
{
	int e;

	for (e = 0; e < CONF_N_EARS; e++) {
		const char *en = conf_ear_name(e);
		size_t n = strlen(en);

		if (strncmp(name, en, n) == 0 && name[n] == '.') {
			*ret_key = name + n + 1;
			return e;
		}
	}
	return -1;
}

/* "section.key", "link.EAR.key" (old form), "pair.NAME[.EAR].key". */
static int conf_lookup(const struct conf *c, const char *name,
		       struct conf_ref *ret)
{
	char section[16];
	const char *dot, *key;
	size_t slen;

	ret->pair = -1;
	ret->ear = -1;
	if (strncmp(name, "pair.", 5) == 0) {
		char pname[CONF_PAIR_NAME_MAX];
		int i;

		dot = strchr(name + 5, '.');
		slen = dot ? (size_t)(dot - name - 5) : 0;
		if (!c->n_pairs || slen == 0 || slen >= sizeof(pname)) {
			return -ENOENT;
		}
		memcpy(pname, name + 5, slen);
		pname[slen] = '\0';
		i = conf_pair_find(c, pname);
		if (i < 0) {
			return -ENOENT;
		}
		ret->pair = i;
		ret->ear = conf_split_ear(dot + 1, &key);
		if (ret->ear < 0) {
			key = dot + 1;
		}
		ret->k = conf_key_find(ret->ear < 0 ? "pair" : "link", key);
		return ret->k ? 0 : -ENOENT;
	}
	if (strncmp(name, "link.", 5) == 0) {
		ret->ear = conf_split_ear(name + 5, &key);
		if (ret->ear < 0 || c->n_pairs) {
			/* "link.key" names no ear; the pair form has none */
			return -ENOENT;
		}
		ret->k = conf_key_find("link", key);
		return ret->k ? 0 : -ENOENT;
	}
	dot = strrchr(name, '.');
	if (!dot || dot == name) {
		return -ENOENT;
	}
	slen = (size_t)(dot - name);
	if (slen >= sizeof(section)) {
		return -ENOENT;
	}
	memcpy(section, name, slen);
	section[slen] = '\0';
	if (strcmp(section, "pair") == 0 || strcmp(section, "link") == 0) {
		return -ENOENT;
	}
	ret->k = conf_key_find(section, dot + 1);
	return ret->k ? 0 : -ENOENT;
}

int conf_get(const struct conf *c, const char *name, struct conf_key_info *ret)
{
	struct conf_ref r;

	if (conf_lookup(c, name, &r) < 0) {
		return -ENOENT;
	}
	conf_fill_info(c, &r, ret);
	return 0;
}

int conf_set(const struct conf *c, const char *name, const char *value,
	     struct conf *ret, char *err, size_t err_size)
{
	char buf[CONF_ERR_MAX];
	struct conf_ref r;
	struct conf *next;
	const char *why;
	int rc;

	if (conf_lookup(c, name, &r) < 0) {
		if (err && err_size) {
			snprintf(err, err_size, "%s: unknown key%s", name,
				 c->n_pairs && strncmp(name, "link.", 5) == 0 ?
					 " (this configuration has [pair.NAME] "
					 "sections: pair.NAME.left.KEY)" :
					 "");
		}
		return -ENOENT;
	}
	/* struct conf is ~8 KiB: keep the candidate off small stacks. */
	next = malloc(sizeof(*next));
	if (!next) {
		return -ENOMEM;
	}
	*next = *c;
	rc = conf_key_set(r.k, conf_base_mut(next, &r), name, value, err,
			  err_size);
	if (rc == 0 && r.pair >= 0 && r.ear < 0) {
		next->pairs[r.pair].set |= r.k->pair_set;
	}
	if (rc == 0 && r.ear >= 0) {
		struct conf_link *l = conf_base_mut(next, &r);

		l->set |= r.k->pair_set;
	}
	if (rc == 0) {
		why = conf_validate(next, buf, sizeof(buf), NULL);
		if (why) {
			if (err && err_size) {
				snprintf(err, err_size, "%s: %s", name, why);
			}
			rc = -EINVAL;
		}
	}
	if (rc == 0) {
		*ret = *next;
	}
	free(next);
	return rc;
}

/* Whether a and b have the same pairs, by name and in order (the form
 * included): else their pair keys do not correspond. */
static bool conf_same_pairs(const struct conf *a, const struct conf *b)
{
	unsigned i;

	if (a->n_pairs != b->n_pairs) {
		return false;
	}
	for (i = 0; i < conf_n_pairs(a); i++) {
		if (strcmp(conf_pair_name(a, i), conf_pair_name(b, i)) != 0) {
			return false;
		}
	}
	return true;
}

static bool conf_key_differs(const struct conf_ref *r, const struct conf *a,
			     const struct conf *b)
{
	char va[CONF_VALUE_MAX], vb[CONF_VALUE_MAX];

	/* By the text the file would hold: padding and unused string tails
	 * never count as a change. */
	conf_format_ref(a, r, va, sizeof(va));
	conf_format_ref(b, r, vb, sizeof(vb));
	return strcmp(va, vb) != 0;
}

/* name into buf at *len, ", "-separated; cut with "..." when full. */
static void conf_list_add(char *buf, size_t size, size_t *len, bool *cut,
			  const char *name)
{
	int w;

	if (*cut || !size) {
		return;
	}
	w = snprintf(buf + *len, size - *len, "%s%s", *len ? ", " : "", name);
	if (w < 0 || (size_t)w >= size - *len) {
		/* Cut at the last whole name and say so. */
		buf[*len] = '\0';
		if (size - *len > 5) {
			snprintf(buf + *len, size - *len, ", ...");
		}
		*cut = true;
		return;
	}
	*len += (size_t)w;
}

unsigned conf_restart_diff(const struct conf *running, const struct conf *next,
			   char *buf, size_t size)
{
	bool same = conf_same_pairs(running, next), cut = false;
	unsigned i, n = 0, total = conf_n_names(running);
	size_t len = 0;

	if (size) {
		buf[0] = '\0';
	}
	if (!same) {
		/* Pairs added, removed or renamed (or the form changed):
		 * each pair owns a sink and links made at start. */
		n++;
		conf_list_add(buf, size, &len, &cut, "pairs");
	}
	for (i = 0; i < total; i++) {
		char name[CONF_NAME_MAX];
		struct conf_ref r;

		conf_name_at(running, i, &r);
		if (r.k->apply != CONF_RESTART ||
		    ((r.pair >= 0 || r.ear >= 0) && !same) ||
		    !conf_key_differs(&r, running, next)) {
			continue;
		}
		n++;
		conf_format_name(running, &r, name, sizeof(name));
		conf_list_add(buf, size, &len, &cut, name);
	}
	return n;
}

/* Bytes of a key's field. */
static size_t conf_key_size(const struct conf_key *k)
{
	switch (k->type) {
	case T_INT:
	case T_ENUM:
	case T_MODE:
		return sizeof(int);
	case T_U32:
		return sizeof(uint32_t);
	case T_U16:
		return sizeof(uint16_t);
	case T_NS:
		return sizeof(uint64_t);
	case T_BOOL:
		return sizeof(bool);
	case T_STR:
		return k->size;
	case T_MAC:
		return 18;
	}
	return 0;
}

void conf_keep_restart(const struct conf *running, struct conf *next)
{
	unsigned i, total = conf_n_names(running);

	if (!conf_same_pairs(running, next)) {
		/* The pairs as they run, all their keys with them. */
		memcpy(next->link, running->link, sizeof(next->link));
		next->n_pairs = running->n_pairs;
		memcpy(next->pairs, running->pairs, sizeof(next->pairs));
	}
	for (i = 0; i < total; i++) {
		struct conf_ref r;
		char *to;

		conf_name_at(running, i, &r);
		if (r.k->apply != CONF_RESTART) {
			continue;
		}
		to = conf_base_mut(next, &r);
		memcpy(to + r.k->offset,
		       (const char *)conf_base(running, &r) + r.k->offset,
		       conf_key_size(r.k));
		if (r.pair >= 0 && r.ear < 0) {
			/* Set or following [stream], as it runs. */
			next->pairs[r.pair].set =
				(next->pairs[r.pair].set & ~r.k->pair_set) |
				(running->pairs[r.pair].set & r.k->pair_set);
		}
		if (r.ear >= 0) {
			/* Written out or not, as it runs. */
			const struct conf_link *from =
				conf_base(running, &r);
			struct conf_link *l = (struct conf_link *)to;

			l->set = (l->set & ~r.k->pair_set) |
				 (from->set & r.k->pair_set);
		}
	}
}
