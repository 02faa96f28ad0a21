/* SPDX-License-Identifier: MIT */
#include "ctl/fmt.h"

#include <inttypes.h>
#include <stdio.h>

char *ctl_fmt_ns(char *buf, size_t size, int64_t ns)
{
	/* Magnitude as unsigned: -INT64_MIN does not fit an int64_t. */
	uint64_t mag = ns < 0 ? -(uint64_t)ns : (uint64_t)ns;
	char sign = ns < 0 ? '-' : '+';

	if (mag < 1000) {
		snprintf(buf, size, "%c%" PRIu64 " ns", sign, mag);
	} else if (mag < 1000000) {
		snprintf(buf, size, "%c%.3f us", sign, (double)mag / 1e3);
	} else if (mag < 1000000000) {
		snprintf(buf, size, "%c%.3f ms", sign, (double)mag / 1e6);
	} else {
		/* Integer split: a double loses the ns of a large offset. */
		snprintf(buf, size, "%c%" PRIu64 ".%06" PRIu64 " s", sign,
			 mag / 1000000000, mag % 1000000000 / 1000);
	}
	return buf;
}

char *ctl_fmt_ppm(char *buf, size_t size, int64_t ppb)
{
	snprintf(buf, size, "%+.3f ppm", (double)ppb / 1e3);
	return buf;
}

char *ctl_fmt_delay_us(char *buf, size_t size, double us)
{
	snprintf(buf, size, "%.3f ms", us / 1e3);
	return buf;
}

char *ctl_fmt_uptime_us(char *buf, size_t size, uint64_t us)
{
	uint64_t s = us / 1000000;

	if (s < 60) {
		snprintf(buf, size, "%.1f s", (double)us / 1e6);
	} else if (s < 3600) {
		snprintf(buf, size, "%" PRIu64 "m %02" PRIu64 "s", s / 60,
			 s % 60);
	} else if (s < 86400) {
		snprintf(buf, size,
			 "%" PRIu64 "h %02" PRIu64 "m %02" PRIu64 "s", s / 3600,
			 s / 60 % 60, s % 60);
	} else {
		snprintf(buf, size,
			 "%" PRIu64 "d %02" PRIu64 "h %02" PRIu64 "m",
			 s / 86400, s / 3600 % 24, s / 60 % 60);
	}
	return buf;
}

char *ctl_fmt_battery(char *buf, size_t size, int64_t pct)
{
	if (pct < 0 || pct > 100) {
		/* 255 is the API's "unknown"; anything else is nonsense. */
		snprintf(buf, size, "unknown");
	} else {
		snprintf(buf, size, "%" PRId64 " %%", pct);
	}
	return buf;
}

char *ctl_fmt_hist_us(char *buf, size_t size, double us)
{
	double mag = us < 0 ? -us : us;

	if (mag < 9.995) {
		snprintf(buf, size, "%.2f", us);
	} else if (mag < 999.95) {
		snprintf(buf, size, "%.1f", us);
	} else if (mag < 999999.5) {
		snprintf(buf, size, "%.0f", us);
	} else {
		snprintf(buf, size, "%.1fs", us / 1e6);
	}
	return buf;
}
