/* SPDX-License-Identifier: MIT */
#include "daemon/conffile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONFFILE_MAX (1024 * 1024)

int conffile_load(const char *path, struct conf *ret, char *err,
		  size_t err_size)
{
	char *text;
	size_t len = 0;
	ssize_t n;
	int fd, r;

	if (err_size) {
		err[0] = '\0';
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		return r;
	}
	text = malloc(CONFFILE_MAX + 1);
	if (!text) {
		close(fd);
		snprintf(err, err_size, "%s: out of memory", path);
		return -ENOMEM;
	}
	while ((n = read(fd, text + len, CONFFILE_MAX - len)) > 0) {
		len += (size_t)n;
		if (len == CONFFILE_MAX) {
			break;
		}
	}
	r = n < 0 ? -errno : 0;
	close(fd);
	if (r == 0 && len == CONFFILE_MAX) {
		r = -EFBIG;
	}
	if (r < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
		free(text);
		return r;
	}
	text[len] = '\0';
	if (memchr(text, '\0', len)) {
		snprintf(err, err_size, "%s: contains a NUL byte", path);
		free(text);
		return -EINVAL;
	}
	r = conf_parse(text, path, ret, err, err_size);
	free(text);
	/* The parser names file:line for what the text says; a failure of
	 * its own (no memory) it may leave unnamed. */
	if (r < 0 && err_size && !err[0]) {
		snprintf(err, err_size, "%s: %s", path, strerror(-r));
	}
	return r;
}
