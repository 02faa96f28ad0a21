/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_STRBUF_H
#define TTWS_CORE_STRBUF_H

/*
 * Text appended into a caller's fixed buffer, for report formatters: once
 * something does not fit, the buffer holds a NUL-terminated prefix and
 * later appends are dropped, so the caller checks overflow once at the
 * end. No allocation.
 */

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *buf;   /* caller's, size bytes, size > 0 */
	size_t size;
	size_t len;  /* bytes written, without the NUL */
	bool overflow;
};

/* Append printf-style. */
void strbuf_put(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif
