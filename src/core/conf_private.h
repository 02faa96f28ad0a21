/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_CONF_PRIVATE_H
#define TTWS_CORE_CONF_PRIVATE_H

/*
 * The key table shared by the file parser (conf.c) and the by-name access
 * of the control API (confkey.c). Not for use outside src/core/conf*.c.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"

enum conf_type {
	T_INT,    /* int, [min, max]; with names, names[i] also spells min + i */
	T_U32,    /* uint32_t, range [min, max] */
	T_U16,    /* uint16_t, range [min, max] */
	T_NS,     /* uint64_t ns, written in `unit` ns steps, range in units */
	T_BOOL,
	T_STR,    /* char[size] */
	T_ENUM,   /* int-sized enum from `names` */
	T_MAC,    /* BD_ADDR text */
	T_MODE,   /* int, a file mode written in octal ("0660") */
};

struct conf_key {
	const char *section; /* "link" matches link.left and link.right */
	const char *key;
	enum conf_type type;
	size_t offset;       /* in struct conf, or in struct conf_link */
	size_t size;         /* T_STR */
	int64_t min, max;
	uint64_t unit;       /* T_NS: ns per unit (1000 = the value is in us) */
	/* T_ENUM, NULL-terminated, index = value; T_INT: see T_INT. */
	const char *const *names;
	enum conf_apply apply;
};

extern const struct conf_key conf_keys[];
extern const size_t conf_n_key_defs;

extern const char *const conf_transport_names[];
extern const char *const conf_codec_names[];
extern const char *const conf_source_names[];
extern const char *const conf_rt_cpu_names[];

/* The key named key in section ("link" for link.left/link.right). */
const struct conf_key *conf_key_find(const char *section, const char *key);

/* Whether any key lives in section. */
bool conf_section_known(const char *section);

/*
 * Parse value into the field of k in base (struct conf, or struct
 * conf_link for "link" keys). On failure returns -EINVAL and writes
 * "NAME: reason" (NAME as the caller spells it) into err; the field is
 * untouched.
 */
int conf_key_set(const struct conf_key *k, void *base, const char *name,
		 const char *value, char *err, size_t err_size);

/* Checks across keys; NULL when c is consistent, else the reason. */
const char *conf_validate(const struct conf *c);

#endif
