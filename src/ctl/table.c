/* SPDX-License-Identifier: MIT */
#include "ctl/table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Columns a wrapped last cell gets at least, or it is not wrapped. */
#define CTL_WRAP_MIN 20

struct ctl_table {
	unsigned ncols;
	enum ctl_align *align; /* ncols */
	char **cells;          /* rows * ncols, row-major; NULL = empty */
	size_t rows, cap_rows;
	unsigned col;          /* next cell of the current (last) row */
	bool open;             /* the last row takes more cells */
	int error;             /* sticky: 0, -ENOMEM or -E2BIG */
};

struct ctl_table *ctl_table_new(unsigned ncols)
{
	struct ctl_table *t;

	if (ncols == 0) {
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		return NULL;
	}
	t->ncols = ncols;
	t->align = calloc(ncols, sizeof(*t->align));
	if (!t->align) {
		free(t);
		return NULL;
	}
	return t;
}

struct ctl_table *ctl_table_free(struct ctl_table *t)
{
	size_t i;

	if (!t) {
		return NULL;
	}
	for (i = 0; i < t->rows * t->ncols; i++) {
		free(t->cells[i]);
	}
	free(t->cells);
	free(t->align);
	free(t);
	return NULL;
}

void ctl_table_align(struct ctl_table *t, unsigned col, enum ctl_align a)
{
	if (col < t->ncols) {
		t->align[col] = a;
	}
}

/* Open a new row if none is open. */
static int ctl_table_open_row(struct ctl_table *t)
{
	if (t->open) {
		return 0;
	}
	if (t->rows == t->cap_rows) {
		size_t cap = t->cap_rows ? t->cap_rows * 2 : 16;
		char **c = realloc(t->cells, cap * t->ncols * sizeof(*c));

		if (!c) {
			return -ENOMEM;
		}
		t->cells = c;
		t->cap_rows = cap;
	}
	memset(t->cells + t->rows * t->ncols, 0, t->ncols * sizeof(char *));
	t->rows++;
	t->col = 0;
	t->open = true;
	return 0;
}

void ctl_table_cell(struct ctl_table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	if (t->error) {
		return;
	}
	if (ctl_table_open_row(t) < 0) {
		t->error = -ENOMEM;
		return;
	}
	if (t->col >= t->ncols) {
		t->error = -E2BIG;
		return;
	}
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		t->error = -ENOMEM;
		return;
	}
	t->cells[(t->rows - 1) * t->ncols + t->col++] = s;
}

void ctl_table_end_row(struct ctl_table *t)
{
	if (!t->error && ctl_table_open_row(t) < 0) {
		t->error = -ENOMEM;
	}
	t->open = false;
}

unsigned ctl_text_width(const char *s)
{
	unsigned n = 0;

	for (; *s; s++) {
		/* UTF-8 continuation bytes (10xxxxxx) take no column. */
		n += ((unsigned char)*s & 0xc0) != 0x80;
	}
	return n;
}

static const char *ctl_table_get(const struct ctl_table *t, size_t row,
				 unsigned col)
{
	const char *s = t->cells[row * t->ncols + col];

	return s ? s : "";
}

static void ctl_pad(FILE *f, unsigned n)
{
	while (n--) {
		fputc(' ', f);
	}
}

/*
 * The last cell from column `start` on: as much as fits in `room` columns
 * per line, broken after a space where there is one, each continuation
 * line indented to `start`. Byte-based: wrapped text is ASCII in
 * practice (key ranges, RT details).
 */
static void ctl_table_wrap(FILE *f, const char *s, unsigned start,
			   unsigned room)
{
	size_t len = strlen(s);

	while (len > room) {
		size_t cut = room;

		while (cut > 0 && s[cut] != ' ') {
			cut--;
		}
		if (cut == 0) {
			cut = room; /* one long word: break it */
		}
		fwrite(s, 1, cut, f);
		fputc('\n', f);
		ctl_pad(f, start);
		s += cut;
		len -= cut;
		while (*s == ' ') {
			s++;
			len--;
		}
	}
	fputs(s, f);
}

static void ctl_table_print_row(const struct ctl_table *t, FILE *f,
				size_t row, const unsigned *w, unsigned gap,
				unsigned indent, unsigned width)
{
	unsigned col, at = indent, last = t->ncols - 1;

	/* The last non-empty cell ends the line: no trailing spaces. */
	while (last > 0 && !ctl_table_get(t, row, last)[0]) {
		last--;
	}
	ctl_pad(f, indent);
	for (col = 0; col <= last; col++) {
		const char *s = ctl_table_get(t, row, col);
		unsigned sw = ctl_text_width(s);

		if (col > 0) {
			ctl_pad(f, gap);
			at += gap;
		}
		if (t->align[col] == CTL_ALIGN_RIGHT) {
			ctl_pad(f, w[col] - sw);
			fputs(s, f);
		} else if (col == last) {
			if (col == t->ncols - 1 && at + sw > width &&
			    width >= at + CTL_WRAP_MIN) {
				ctl_table_wrap(f, s, at, width - at);
			} else {
				fputs(s, f);
			}
		} else {
			fputs(s, f);
			ctl_pad(f, w[col] - sw);
		}
		at += w[col];
	}
	fputc('\n', f);
}

int ctl_table_print(const struct ctl_table *t, FILE *f, unsigned indent,
		    unsigned width)
{
	unsigned col, gap = 2, total = indent, *w;
	size_t row;

	if (t->error) {
		return t->error;
	}
	w = calloc(t->ncols, sizeof(*w));
	if (!w) {
		return -ENOMEM;
	}
	for (row = 0; row < t->rows; row++) {
		for (col = 0; col < t->ncols; col++) {
			unsigned sw = ctl_text_width(ctl_table_get(t, row, col));

			w[col] = sw > w[col] ? sw : w[col];
		}
	}
	for (col = 0; col < t->ncols; col++) {
		total += w[col];
	}
	/* A left-aligned last column wraps: only a short start of it
	 * needs to fit beside the others. */
	if (t->align[t->ncols - 1] == CTL_ALIGN_LEFT &&
	    w[t->ncols - 1] > CTL_WRAP_MIN) {
		total -= w[t->ncols - 1] - CTL_WRAP_MIN;
	}
	if (total + 2 * (t->ncols - 1) > width) {
		gap = 1;
	}
	for (row = 0; row < t->rows; row++) {
		ctl_table_print_row(t, f, row, w, gap, indent, width);
	}
	free(w);
	return ferror(f) ? -EIO : 0;
}
