/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the configuration parser (src/core/conf*.c): the
 * input is a ttwsd.conf. Beyond memory safety and UB, every input checks:
 *   - a refused file is -EINVAL with "fuzz.conf:LINE: reason" and leaves
 *     the output untouched (a failed reload keeps the running snapshot);
 *   - an accepted file gives a snapshot conf_check() accepts too (what a
 *     reload and a Set validate against is the same rule);
 *   - every key the control API lists (conf_key_info) is found by name
 *     (conf_get) with the same value, and setting a key to the value it
 *     shows (conf_set, what ttwsctl set does) is accepted and shows that
 *     value again: the names and spellings the API hands out are ones it
 *     takes back.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

static void check_keys(const struct conf *c)
{
	static struct conf next;
	struct conf_key_info ki, by_name, again;
	char err[CONF_ERR_MAX];
	unsigned n = conf_n_names(c);

	check(conf_key_info(c, n, &ki) == -ERANGE);
	for (unsigned i = 0; i < n; i++) {
		int r;

		check(conf_key_info(c, i, &ki) == 0);
		check(memchr(ki.name, 0, sizeof(ki.name)) &&
		      memchr(ki.value, 0, sizeof(ki.value)) &&
		      memchr(ki.range, 0, sizeof(ki.range)));
		check(conf_get(c, ki.name, &by_name) == 0 &&
		      strcmp(by_name.value, ki.value) == 0 &&
		      by_name.apply == ki.apply);
		r = conf_set(c, ki.name, ki.value, &next, err, sizeof(err));
		/* A unix link refuses a security written out, and a Set
		 * writes it out (ttwsd.conf(5)): the one key whose shown
		 * value may be refused back. */
		if (r == -EINVAL && ends_with(ki.name, ".security")) {
			continue;
		}
		/* Known, reported (issue 14, helper F): an unset address or
		 * adapter shows as "", which neither the file nor Set
		 * accepts back. Remove once the conf parser takes "" there. */
		if (r == -EINVAL && ki.value[0] == '\0' &&
		    (ends_with(ki.name, ".address") ||
		     ends_with(ki.name, ".adapter"))) {
			continue;
		}
		if (r != 0) {
			fprintf(stderr, "conf_set(%s, \"%s\"): %d %s\n",
				ki.name, ki.value, r, err);
		}
		check(r == 0);
		check(conf_check(&next, err, sizeof(err)) == 0);
		check(conf_get(&next, ki.name, &again) == 0 &&
		      strcmp(again.value, ki.value) == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf c, before;
	char err[CONF_ERR_MAX];
	char *text;
	int r;

	if (size > 16384) {
		return 0;
	}
	text = malloc(size + 1);
	if (!text) {
		return 0;
	}
	memcpy(text, data, size);
	text[size] = '\0';
	memset(&c, 0x5a, sizeof(c));
	before = c;
	err[0] = '\0';
	r = conf_parse(text, "fuzz.conf", &c, err, sizeof(err));
	free(text);
	if (r < 0) {
		check(r == -EINVAL && memchr(err, 0, sizeof(err)) &&
		      strncmp(err, "fuzz.conf:", 10) == 0 &&
		      memcmp(&c, &before, sizeof(c)) == 0);
		return 0;
	}
	check(r == 0);
	check(conf_check(&c, err, sizeof(err)) == 0);
	check_keys(&c);
	return 0;
}
