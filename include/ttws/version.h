/* SPDX-License-Identifier: MIT */
#ifndef TTWS_VERSION_H
#define TTWS_VERSION_H

/* Version of the ttws host daemon and of the headers in include/ttws. */
#define TTWS_VERSION_MAJOR 0
#define TTWS_VERSION_MINOR 1
#define TTWS_VERSION_PATCH 0
#define TTWS_VERSION_STRING "0.1.0"

#endif
