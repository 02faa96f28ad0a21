/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_TABLE_H
#define TTWS_CTL_TABLE_H

/*
 * Aligned text tables for a terminal of `width` columns (80 for
 * ttwsctl): every column as wide as its widest cell, two spaces between
 * columns, one when two do not fit. When that is still too wide, the
 * widest left-aligned column is narrowed (not below 12 columns) and its
 * cells wrap onto continuation lines under themselves, at spaces where
 * there are some (two spaces between columns again if that then fits).
 * Right-aligned columns (numbers) and kept ones never wrap. Cells are
 * copied. Allocation failures are sticky: the table keeps what it had and
 * ctl_table_print() returns -ENOMEM.
 */

#include <stdio.h>

#define CTL_WIDTH 80

enum ctl_align {
	CTL_ALIGN_LEFT,
	CTL_ALIGN_RIGHT,
};

struct ctl_table;

/* A table of ncols (>= 1) columns, all left-aligned; NULL on ENOMEM. */
struct ctl_table *ctl_table_new(unsigned ncols);

/* Accepts NULL; returns NULL. */
struct ctl_table *ctl_table_free(struct ctl_table *t);

void ctl_table_align(struct ctl_table *t, unsigned col, enum ctl_align a);

/* Never narrow col to fit (names that must stay on one line). */
void ctl_table_keep(struct ctl_table *t, unsigned col);

/* Append one cell to the current row, printf-style. Cells past ncols are
 * dropped (and make print fail with -E2BIG). */
void ctl_table_cell(struct ctl_table *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* End the current row; missing cells are empty. */
void ctl_table_end_row(struct ctl_table *t);

/* Print every row, each line prefixed by indent spaces, trailing spaces
 * trimmed. Returns 0, -ENOMEM, -E2BIG or -EIO (write error). */
int ctl_table_print(const struct ctl_table *t, FILE *f, unsigned indent,
		    unsigned width);

/* Display columns of a UTF-8 string (code points; no wide glyphs). */
unsigned ctl_text_width(const char *s);

#endif
