/* SPDX-License-Identifier: MIT */
#include "core/strbuf.h"

#include <stdarg.h>
#include <stdio.h>

void strbuf_put(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->overflow) {
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->size - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->size - sb->len) {
		sb->overflow = true;
		sb->len = sb->size - 1;
		return;
	}
	sb->len += (size_t)n;
}
