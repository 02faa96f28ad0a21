/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_BUSADDR_H
#define TTWS_CTL_BUSADDR_H

#include <stddef.h>

/*
 * The D-Bus address "unix:path=PATH" for a socket path, with the bytes the
 * D-Bus specification ("Server Addresses") does not allow unescaped written
 * as %XX. Returns 0, or -ENAMETOOLONG if it does not fit size bytes.
 */
int ctl_bus_address(const char *path, char *buf, size_t size);

#endif
