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

/* Name i: its key and, for link keys, its ear. */
static const struct conf_key *conf_name_at(unsigned i, int *ret_ear)
{
	size_t k;

	for (k = 0; k < conf_n_key_defs; k++) {
		unsigned n = strcmp(conf_keys[k].section, "link") == 0 ?
				     CONF_N_EARS :
				     1;

		if (i < n) {
			*ret_ear = n == 1 ? -1 : (int)i;
			return &conf_keys[k];
		}
		i -= n;
	}
	return NULL;
}

unsigned conf_n_names(void)
{
	unsigned n = 0;
	size_t k;

	for (k = 0; k < conf_n_key_defs; k++) {
		n += strcmp(conf_keys[k].section, "link") == 0 ? CONF_N_EARS :
								1;
	}
	return n;
}

static void conf_format_name(const struct conf_key *k, int ear, char *buf,
			     size_t size)
{
	if (ear >= 0) {
		snprintf(buf, size, "link.%s.%s", conf_ear_name(ear), k->key);
	} else {
		snprintf(buf, size, "%s.%s", k->section, k->key);
	}
}

static const void *conf_base(const struct conf *c, int ear)
{
	return ear >= 0 ? (const void *)&c->link[ear] : (const void *)c;
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

static void conf_fill_info(const struct conf *c, const struct conf_key *k,
			   int ear, struct conf_key_info *ret)
{
	conf_format_name(k, ear, ret->name, sizeof(ret->name));
	conf_format_value(k, conf_base(c, ear), ret->value, sizeof(ret->value));
	conf_format_range(k, ret->range, sizeof(ret->range));
	ret->apply = k->apply;
}

int conf_key_info(const struct conf *c, unsigned i, struct conf_key_info *ret)
{
	const struct conf_key *k;
	int ear;

	k = conf_name_at(i, &ear);
	if (!k) {
		return -ERANGE;
	}
	conf_fill_info(c, k, ear, ret);
	return 0;
}

/* Split "section.key" / "link.EAR.key" into its key and ear. */
static const struct conf_key *conf_lookup(const char *name, int *ret_ear)
{
	char section[16];
	const char *dot = strrchr(name, '.');
	size_t slen;
	int e;

	if (!dot || dot == name) {
		return NULL;
	}
	slen = (size_t)(dot - name);
	if (slen >= sizeof(section)) {
		return NULL;
	}
	memcpy(section, name, slen);
	section[slen] = '\0';
	*ret_ear = -1;
	for (e = 0; e < CONF_N_EARS; e++) {
		char want[16];

		snprintf(want, sizeof(want), "link.%s", conf_ear_name(e));
		if (strcmp(section, want) == 0) {
			*ret_ear = e;
			snprintf(section, sizeof(section), "link");
		}
	}
	if (strcmp(section, "link") == 0 && *ret_ear < 0) {
		return NULL; /* "link.key" names no ear */
	}
	return conf_key_find(section, dot + 1);
}

int conf_get(const struct conf *c, const char *name, struct conf_key_info *ret)
{
	const struct conf_key *k;
	int ear;

	k = conf_lookup(name, &ear);
	if (!k) {
		return -ENOENT;
	}
	conf_fill_info(c, k, ear, ret);
	return 0;
}

int conf_set(const struct conf *c, const char *name, const char *value,
	     struct conf *ret, char *err, size_t err_size)
{
	const struct conf_key *k;
	struct conf *next;
	const char *why;
	int ear, r;

	k = conf_lookup(name, &ear);
	if (!k) {
		if (err && err_size) {
			snprintf(err, err_size, "%s: unknown key", name);
		}
		return -ENOENT;
	}
	/* struct conf is ~2 KiB: keep the candidate off small stacks. */
	next = malloc(sizeof(*next));
	if (!next) {
		return -ENOMEM;
	}
	*next = *c;
	r = conf_key_set(k, ear >= 0 ? (void *)&next->link[ear] : (void *)next,
			 name, value, err, err_size);
	if (r == 0) {
		why = conf_validate(next);
		if (why) {
			if (err && err_size) {
				snprintf(err, err_size, "%s: %s", name, why);
			}
			r = -EINVAL;
		}
	}
	if (r == 0) {
		*ret = *next;
	}
	free(next);
	return r;
}

static bool conf_key_differs(const struct conf_key *k, const struct conf *a,
			     const struct conf *b, int ear)
{
	char va[CONF_VALUE_MAX], vb[CONF_VALUE_MAX];

	/* By the text the file would hold: padding and unused string tails
	 * never count as a change. */
	conf_format_value(k, conf_base(a, ear), va, sizeof(va));
	conf_format_value(k, conf_base(b, ear), vb, sizeof(vb));
	return strcmp(va, vb) != 0;
}

unsigned conf_restart_diff(const struct conf *running, const struct conf *next,
			   char *buf, size_t size)
{
	unsigned i, n = 0, total = conf_n_names();
	size_t len = 0;
	bool cut = false;

	if (size) {
		buf[0] = '\0';
	}
	for (i = 0; i < total; i++) {
		const struct conf_key *k;
		char name[CONF_NAME_MAX];
		int ear, w;

		k = conf_name_at(i, &ear);
		if (k->apply != CONF_RESTART ||
		    !conf_key_differs(k, running, next, ear)) {
			continue;
		}
		n++;
		conf_format_name(k, ear, name, sizeof(name));
		if (cut || !size) {
			continue;
		}
		w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
			     name);
		if (w < 0 || (size_t)w >= size - len) {
			/* Cut at the last whole name and say so. */
			buf[len] = '\0';
			if (size - len > 5) {
				snprintf(buf + len, size - len, ", ...");
			}
			cut = true;
			continue;
		}
		len += (size_t)w;
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
	unsigned i, total = conf_n_names();

	for (i = 0; i < total; i++) {
		const struct conf_key *k;
		char *to;
		int ear;

		k = conf_name_at(i, &ear);
		if (k->apply != CONF_RESTART) {
			continue;
		}
		to = ear >= 0 ? (char *)&next->link[ear] : (char *)next;
		memcpy(to + k->offset,
		       (const char *)conf_base(running, ear) + k->offset,
		       conf_key_size(k));
	}
}
