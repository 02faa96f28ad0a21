/* SPDX-License-Identifier: MIT */
#ifndef TTWS_DAEMON_CONFFILE_H
#define TTWS_DAEMON_CONFFILE_H

#include <stddef.h>

#include "core/conf.h"

/*
 * Read path (at most 1 MiB) and parse it with conf_parse(). Returns 0 and
 * *ret, or a negative errno with "path: reason" or "path:line: reason" in
 * err; *ret is untouched on failure, so a failed reload keeps the running
 * configuration.
 */
int conffile_load(const char *path, struct conf *ret, char *err,
		  size_t err_size);

#endif
