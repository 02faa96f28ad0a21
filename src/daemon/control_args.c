/* SPDX-License-Identifier: MIT */
#include "daemon/control_args.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/conf.h"

static int control_args_fail(char *why, size_t why_size, const char *text)
{
	if (why && why_size > 0) {
		snprintf(why, why_size, "%s", text);
	}
	return -EINVAL;
}

static bool control_args_is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

int control_args_key(const char *name, char *why, size_t why_size)
{
	size_t n = strnlen(name, CONF_NAME_MAX);
	char buf[64];

	if (n == 0 || n >= CONF_NAME_MAX) {
		snprintf(buf, sizeof(buf), "key name must be 1..%d characters",
			 CONF_NAME_MAX - 1);
		return control_args_fail(why, why_size, buf);
	}
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			return control_args_fail(
				why, why_size,
				"key name may only hold a-z, 0-9, '.', '_' "
				"and '-'");
		}
	}
	return 0;
}

/* At most max - 1 bytes, none of them a control character. */
static int control_args_text(const char *s, size_t max, const char *what,
			     char *why, size_t why_size)
{
	char buf[96];
	size_t n = strnlen(s, max);

	if (n >= max) {
		snprintf(buf, sizeof(buf), "%s is longer than %zu bytes",
			 what, max - 1);
		return control_args_fail(why, why_size, buf);
	}
	for (size_t i = 0; i < n; i++) {
		if (control_args_is_ctl((unsigned char)s[i])) {
			snprintf(buf, sizeof(buf),
				 "%s holds a control character", what);
			return control_args_fail(why, why_size, buf);
		}
	}
	return 0;
}

int control_args_value(const char *value, char *why, size_t why_size)
{
	return control_args_text(value, CONF_VALUE_MAX, "value", why,
				 why_size);
}

int control_args_path(const char *path, char *why, size_t why_size)
{
	int r = control_args_text(path, CONF_PATH_MAX, "path", why, why_size);

	if (r < 0) {
		return r;
	}
	/* Relative to what? ttwsd's working directory is no business of a
	 * client's. */
	if (path[0] != '/') {
		return control_args_fail(why, why_size,
					 "path must be absolute");
	}
	return 0;
}
