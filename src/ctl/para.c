/* SPDX-License-Identifier: MIT */
#include "ctl/para.h"

#include <stdarg.h>
#include <string.h>

#include "ctl/table.h"

void ctl_para_begin(struct ctl_para *p, FILE *f, const char *label,
		    unsigned indent, unsigned width)
{
	unsigned lw = ctl_text_width(label);

	fputs(label, f);
	if (lw + 1 > indent) {
		indent = lw + 1;
	}
	fprintf(f, "%*s", (int)(indent - lw), "");
	*p = (struct ctl_para){
	    .f = f,
	    .indent = indent,
	    .width = width,
	    .at = indent,
	    .empty = true,
	};
}

void ctl_para_item(struct ctl_para *p, const char *fmt, ...)
{
	char item[CTL_PARA_ITEM_MAX];
	unsigned iw;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(item, sizeof(item), fmt, ap);
	va_end(ap);
	iw = ctl_text_width(item);
	if (!p->empty) {
		/* ", " now, or "," and a new line if the item (and its
		 * comma, unless it is the last) would cross the width. */
		if (p->at + 2 + iw + 1 > p->width) {
			fprintf(p->f, ",\n%*s", (int)p->indent, "");
			p->at = p->indent;
		} else {
			fputs(", ", p->f);
			p->at += 2;
		}
	}
	fputs(item, p->f);
	p->at += iw;
	p->empty = false;
}

void ctl_para_end(struct ctl_para *p)
{
	if (p->empty) {
		fputc('-', p->f);
	}
	fputc('\n', p->f);
}
