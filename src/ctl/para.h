/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_PARA_H
#define TTWS_CTL_PARA_H

/*
 * A labelled list of items, filled to `width` columns:
 *
 *   loop        wakeups 1200, rx 340, tx 330, tx_errors 0, timers_expired
 *               1200, ...
 *
 * Streaming (no allocation): items are written as they come, a line
 * breaks before an item that would not fit. An item longer than a whole
 * line is written anyway.
 */

#include <stdbool.h>
#include <stdio.h>

#define CTL_PARA_ITEM_MAX 256

struct ctl_para {
	FILE *f;
	unsigned indent; /* columns of the label field */
	unsigned width;
	unsigned at; /* current column */
	bool empty;  /* no item yet */
};

/* Write label, padded to indent columns (at least one space after it). */
void ctl_para_begin(struct ctl_para *p, FILE *f, const char *label,
		    unsigned indent, unsigned width);

/* One item, printf-style, truncated to CTL_PARA_ITEM_MAX - 1 bytes. */
void ctl_para_item(struct ctl_para *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* End the list: "-" if it had no item, then the newline. */
void ctl_para_end(struct ctl_para *p);

#endif
