/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_CONF_PRIVATE_H
#define TTWS_CORE_CONF_PRIVATE_H

/*
 * The key table shared by the file parser (conf.c) and the by-name access
 * of the control API (confkey.c), and what the parser asks of the pair
 * code (confpair.c). Not for use outside src/core/conf*.c.
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
	/* "link" matches link.left and link.right, and a pair's left.KEY
	 * and right.KEY; "pair" is a pair's own stream keys (offset in
	 * struct conf_pair). */
	const char *section;
	const char *key;
	enum conf_type type;
	size_t offset;       /* in struct conf, or in struct conf_link */
	size_t size;         /* T_STR */
	int64_t min, max;
	uint64_t unit;       /* T_NS: ns per unit (1000 = the value is in us) */
	/* T_ENUM, NULL-terminated, index = value; T_INT: see T_INT. */
	const char *const *names;
	enum conf_apply apply;
	/* "pair" keys: its enum conf_pair_set bit; "link" keys: its enum
	 * conf_link_set bit in conf_link.set (0: not recorded). */
	uint32_t pair_set;
};

extern const struct conf_key conf_keys[];
extern const size_t conf_n_key_defs;

extern const char *const conf_transport_names[];
extern const char *const conf_codec_names[];
extern const char *const conf_source_names[];
extern const char *const conf_profile_names[];
extern const char *const conf_security_names[];
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

/*
 * Checks across keys; NULL when c is consistent, else the reason (a
 * static string or buf, size bytes). *ret_line (may be NULL): the line
 * of the [pair.NAME] the reason is about, 0 when none.
 */
const char *conf_validate(const struct conf *c, char *buf, size_t size,
			  int *ret_line);

/* "link.left" / "link.right" / "pair.NAME" of c -> its pair and ear: 0,
 * or -ENOENT. *ret_pair is -1 for the old form's link sections,
 * *ret_ear -1 for a pair's section. */
int conf_section_split(const struct conf *c, const char *section,
		       int *ret_pair, int *ret_ear);

/* A link's defaults (transport none), for [link.EAR] and each pair. */
void conf_link_default(struct conf_link *l);

/*
 * confpair.c. The [pair.NAME] headers of text, before libinih reads the
 * keys: appends each pair, with its defaults and line, to c (which has
 * none yet). On an error about them (bad or repeated name, more than
 * CONF_MAX_PAIRS, mixed with [link.EAR]) returns -EINVAL with the
 * reason in err (err_size bytes) and its line in *ret_line.
 */
int conf_scan_sections(struct conf *c, const char *text, char *err,
		       size_t err_size, int *ret_line);

/* "left.KEY" / "right.KEY" (a key of a [pair.NAME]): the ear, and KEY in
 * *ret_key (pointing into name); -1 for a pair's own key. */
int conf_pair_key_ear(const char *name, const char **ret_key);

/*
 * The checks conf_validate() makes of delays and links, each NULL when
 * fine, else the reason (written into buf, size bytes). delays: one
 * pair's or [stream]'s, sec its section name without brackets. link:
 * the keys its transport requires, label prefixes the key ("[link.left] "
 * or "[pair.a] left."). pairs: each pair has both ears, valid links and
 * delays. unique: no two links, in one pair or two, reach the same
 * earbud. *ret_line (may be NULL): the line of the [pair.NAME] the
 * reason is about (pairs: 0 when none; unique: written only then).
 */
const char *conf_validate_delays(uint64_t delay_ns, uint64_t min_ns,
				 uint64_t max_ns, const char *sec, char *buf,
				 size_t size);
const char *conf_validate_link(const struct conf_link *l, const char *label,
			       char *buf, size_t size);
/* The part of conf_validate_link() that holds while a section is still
 * being read: no security written out on a unix link. */
const char *conf_validate_security(const struct conf_link *l,
				   const char *label, char *buf, size_t size);
/* profile's needs of the links l (label names the key), or NULL. */
const char *conf_validate_profile(enum conf_profile prof,
				  const struct conf_link l[CONF_N_EARS],
				  const char *label, char *buf, size_t size);
const char *conf_validate_pairs(const struct conf *c, char *buf, size_t size,
				int *ret_line);
const char *conf_validate_unique(const struct conf *c, char *buf, size_t size,
				 int *ret_line);

#endif
