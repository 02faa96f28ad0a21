/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the control API's argument checks
 * (src/daemon/control_args.c) and what an accepted argument reaches
 * (conf_get() and conf_set() of src/core/conf*.c, as Get and Set call
 * them). The first octet picks the method and the configuration it runs
 * against (the defaults, or a file in the pair form); the rest is the
 * arguments, NUL-separated, as a client would send them.
 *
 * Beyond memory safety and UB, every input checks:
 *   - an accepted name is 1..CONF_NAME_MAX - 1 of [a-z0-9._-], an
 *     accepted value or path holds no control character and fits, a path
 *     is absolute: nothing else reaches the journal or fopen();
 *   - the checks refuse no name and no value the API itself lists
 *     (conf_key_info), so they cannot lock a key out;
 *   - Get: a name conf_get() finds gives a terminated value;
 *   - Set: a value conf_set() takes gives a snapshot conf_check() accepts,
 *     and the value it then shows is taken again unchanged; a refused one
 *     is -ENOENT or -EINVAL with a terminated reason, output untouched.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"
#include "daemon/control_args.h"

#include "fuzz-check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char pair_conf[] =
	"[pair.kitchen]\n"
	"left.transport = unix\nleft.path = /tmp/k-l\n"
	"right.transport = unix\nright.path = /tmp/k-r\n"
	"[pair.desk-2]\n"
	"left.transport = unix\nleft.path = /tmp/d-l\n"
	"right.transport = unix\nright.path = /tmp/d-r\n"
	"delay_ms = 60\n";

static bool no_ctl(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			return false;
		}
	}
	return true;
}

static void check_listed(const struct conf *c)
{
	struct conf_key_info ki;
	char why[128];

	for (unsigned i = 0; i < conf_n_names(c); i++) {
		check(conf_key_info(c, i, &ki) == 0);
		check(control_args_key(ki.name, why, sizeof(why)) == 0);
		check(control_args_value(ki.value, why, sizeof(why)) == 0);
	}
}

static void do_get(const struct conf *c, const char *name)
{
	struct conf_key_info ki;
	char why[128];

	if (control_args_key(name, why, sizeof(why)) < 0) {
		check(memchr(why, 0, sizeof(why)) != NULL);
		return;
	}
	check(strlen(name) < CONF_NAME_MAX);
	for (const char *p = name; *p; p++) {
		check((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == '-');
	}
	if (conf_get(c, name, &ki) == 0) {
		check(memchr(ki.value, 0, sizeof(ki.value)) &&
		      strcmp(ki.name, name) == 0);
	}
}

static void do_set(const struct conf *c, const char *name, const char *value)
{
	static struct conf next, again, before;
	struct conf_key_info ki, ki2;
	char why[128], err[CONF_ERR_MAX];
	int r;

	if (control_args_key(name, why, sizeof(why)) < 0 ||
	    control_args_value(value, why, sizeof(why)) < 0) {
		return;
	}
	check(strlen(value) < CONF_VALUE_MAX && no_ctl(value));
	memset(&next, 0xa5, sizeof(next));
	before = next;
	err[0] = 'x';
	r = conf_set(c, name, value, &next, err, sizeof(err));
	if (r < 0) {
		check((r == -ENOENT || r == -EINVAL) &&
		      memchr(err, 0, sizeof(err)) &&
		      memcmp(&next, &before, sizeof(next)) == 0);
		return;
	}
	check(r == 0);
	check(conf_check(&next, err, sizeof(err)) == 0);
	check(conf_get(&next, name, &ki) == 0);
	check(control_args_value(ki.value, why, sizeof(why)) == 0);
	r = conf_set(&next, name, ki.value, &again, err, sizeof(err));
	check(r == 0);
	check(conf_get(&again, name, &ki2) == 0 &&
	      strcmp(ki.value, ki2.value) == 0);
}

static void do_path(const char *path)
{
	char why[128];

	if (control_args_path(path, why, sizeof(why)) < 0) {
		return;
	}
	check(path[0] == '/' && strlen(path) < CONF_PATH_MAX && no_ctl(path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf base[2];
	static bool have_base;
	char *args, *a1, *a2;
	const struct conf *c;
	char err[CONF_ERR_MAX];

	if (!have_base) {
		conf_default(&base[0]);
		check(conf_parse(pair_conf, "pairs.conf", &base[1], err,
				 sizeof(err)) == 0);
		check_listed(&base[0]);
		check_listed(&base[1]);
		have_base = true;
	}
	if (size < 1 || size > 4096) {
		return 0;
	}
	c = &base[data[0] >> 7];
	/* Two NUL-terminated strings, as sd-bus hands them over. */
	args = calloc(1, size + 2);
	if (!args) {
		return 0;
	}
	memcpy(args, data + 1, size - 1);
	a1 = args;
	a2 = args + strlen(a1) + 1;
	if (a2 > args + size) {
		a2 = args + size;
	}
	switch (data[0] % 3) {
	case 0:
		do_get(c, a1);
		break;
	case 1:
		do_set(c, a1, a2);
		break;
	default:
		do_path(a1);
		break;
	}
	free(args);
	return 0;
}
