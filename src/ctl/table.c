/* SPDX-License-Identifier: MIT */
#include "ctl/table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A column is not made narrower than this to fit the width. */
#define CTL_COL_MIN 12

struct ctl_table {
	unsigned ncols;
	enum ctl_align *align; /* ncols */
	bool *keep;	       /* ncols: never narrowed */
	char **cells;	       /* rows * ncols, row-major; NULL = empty */
	size_t rows, cap_rows;
	unsigned col; /* next cell of the current (last) row */
	bool open;    /* the last row takes more cells */
	int error;    /* sticky: 0, -ENOMEM or -E2BIG */
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
	t->keep = calloc(ncols, sizeof(*t->keep));
	if (!t->align || !t->keep) {
		free(t->align);
		free(t->keep);
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
	free(t->keep);
	free(t);
	return NULL;
}

void ctl_table_align(struct ctl_table *t, unsigned col, enum ctl_align a)
{
	if (col < t->ncols) {
		t->align[col] = a;
	}
}

void ctl_table_keep(struct ctl_table *t, unsigned col)
{
	if (col < t->ncols) {
		t->keep[col] = true;
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

/* Display columns of the first n bytes of s. */
static unsigned ctl_text_width_n(const char *s, size_t n)
{
	unsigned cols = 0;
	size_t i;

	for (i = 0; i < n && s[i]; i++) {
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	}
	return cols;
}

/* Bytes of s that make at most cols columns, never splitting a UTF-8
 * sequence. */
static size_t ctl_text_bytes(const char *s, unsigned cols)
{
	size_t i = 0;

	while (s[i]) {
		/* s[i] starts a character: does it still fit? */
		if (cols-- == 0) {
			break;
		}
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80) {
			i++;
		}
	}
	return i;
}

/*
 * The next line of a wrapped cell: as much of s as fits in width columns,
 * broken at the last space that allows it, else hard (a path has no
 * spaces). Returns its length in bytes; *ret_next is the rest, without
 * leading spaces.
 */
static size_t ctl_wrap_line(const char *s, unsigned width,
			    const char **ret_next)
{
	size_t limit, cut;

	if (ctl_text_width(s) <= width) {
		cut = strlen(s);
	} else {
		limit = ctl_text_bytes(s, width ? width : 1);
		for (cut = limit; cut > 0 && s[cut] != ' '; cut--) {
		}
		if (cut == 0) {
			cut = limit;
		}
	}
	*ret_next = s + cut;
	while (**ret_next == ' ') {
		(*ret_next)++;
	}
	/* No trailing space on the line either. */
	while (cut > 0 && s[cut - 1] == ' ') {
		cut--;
	}
	return cut;
}

/* One row: as many lines as its tallest (wrapped) cell. cur is scratch
 * of ncols pointers. */
static void ctl_table_print_row(const struct ctl_table *t, FILE *f, size_t row,
				const unsigned *w, unsigned gap,
				unsigned indent, const char **cur)
{
	unsigned col, pending, sw;
	bool more = true, right;

	for (col = 0; col < t->ncols; col++) {
		cur[col] = ctl_table_get(t, row, col);
	}
	while (more) {
		more = false;
		pending = indent; /* spaces owed: written before text only */
		for (col = 0; col < t->ncols; col++) {
			const char *next;
			size_t len = ctl_wrap_line(cur[col], w[col], &next);

			sw = ctl_text_width_n(cur[col], len);
			right = t->align[col] == CTL_ALIGN_RIGHT;
			if (len) {
				ctl_pad(f, pending + (right ? w[col] - sw : 0));
				fwrite(cur[col], 1, len, f);
				pending = right ? 0 : w[col] - sw;
			} else {
				pending += w[col];
			}
			pending += col + 1 < t->ncols ? gap : 0;
			cur[col] = next;
			more = more || *next;
		}
		fputc('\n', f);
	}
}

/*
 * Narrow w (natural widths) to fit width with gap spaces between columns:
 * the widest left-aligned column gives up a column at a time (its cells
 * wrap) while it is wider than CTL_COL_MIN. Right-aligned columns
 * (numbers) and kept ones never wrap. Returns whether it fits.
 */
static bool ctl_table_shrink(const struct ctl_table *t, unsigned *w,
			     unsigned gap, unsigned indent, unsigned width)
{
	unsigned col, total = indent + gap * (t->ncols - 1);

	for (col = 0; col < t->ncols; col++) {
		total += w[col];
	}
	while (total > width) {
		unsigned widest = t->ncols;

		for (col = 0; col < t->ncols; col++) {
			if (t->align[col] == CTL_ALIGN_RIGHT || t->keep[col] ||
			    w[col] <= CTL_COL_MIN) {
				continue;
			}
			if (widest == t->ncols || w[col] > w[widest]) {
				widest = col;
			}
		}
		if (widest == t->ncols) {
			return false;
		}
		w[widest]--;
		total--;
	}
	return true;
}

/*
 * In order of preference: two spaces between columns, one space, two
 * spaces with narrowed columns, one with narrowed columns (and whatever
 * still overflows, overflows): wrapping is the last resort. Returns the
 * gap; w is narrowed in place.
 */
static unsigned ctl_table_fit(const struct ctl_table *t, unsigned *w,
			      unsigned indent, unsigned width)
{
	unsigned col, gap, total = indent, *two;
	bool fits;

	for (col = 0; col < t->ncols; col++) {
		total += w[col];
	}
	for (gap = 2; gap >= 1; gap--) {
		if (total + gap * (t->ncols - 1) <= width) {
			return gap;
		}
	}
	two = malloc(t->ncols * sizeof(*two));
	if (!two) {
		ctl_table_shrink(t, w, 1, indent, width);
		return 1;
	}
	memcpy(two, w, t->ncols * sizeof(*two));
	fits = ctl_table_shrink(t, two, 2, indent, width);
	if (fits) {
		memcpy(w, two, t->ncols * sizeof(*two));
	} else {
		ctl_table_shrink(t, w, 1, indent, width);
	}
	free(two);
	return fits ? 2 : 1;
}

int ctl_table_print(const struct ctl_table *t, FILE *f, unsigned indent,
		    unsigned width)
{
	const char **cur;
	unsigned col, gap, *w;
	size_t row;

	if (t->error) {
		return t->error;
	}
	w = calloc(t->ncols, sizeof(*w));
	cur = calloc(t->ncols, sizeof(*cur));
	if (!w || !cur) {
		free(w);
		free(cur);
		return -ENOMEM;
	}
	for (row = 0; row < t->rows; row++) {
		for (col = 0; col < t->ncols; col++) {
			unsigned sw =
			    ctl_text_width(ctl_table_get(t, row, col));

			w[col] = sw > w[col] ? sw : w[col];
		}
	}
	gap = ctl_table_fit(t, w, indent, width);
	for (row = 0; row < t->rows; row++) {
		ctl_table_print_row(t, f, row, w, gap, indent, cur);
	}
	free(w);
	free(cur);
	return ferror(f) ? -EIO : 0;
}
