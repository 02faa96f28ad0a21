/* SPDX-License-Identifier: MIT */
#include "ctl/busaddr.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* D-Bus spec, "Server Addresses": [-0-9A-Za-z_/.\*] may appear as is. */
static bool ctl_addr_plain(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || strchr("-_/.\\*", c) != NULL;
}

int ctl_bus_address(const char *path, char *buf, size_t size)
{
	static const char prefix[] = "unix:path=";
	size_t len = sizeof(prefix) - 1;
	const unsigned char *p;

	if (size <= len) {
		return -ENAMETOOLONG;
	}
	memcpy(buf, prefix, len);
	for (p = (const unsigned char *)path; *p; p++) {
		size_t need = ctl_addr_plain(*p) ? 1 : 3;

		if (len + need >= size) {
			return -ENAMETOOLONG;
		}
		if (need == 1) {
			buf[len++] = (char)*p;
		} else {
			snprintf(buf + len, 4, "%%%02x", *p);
			len += 3;
		}
	}
	buf[len] = '\0';
	return 0;
}
