/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CTL_FMT_H
#define TTWS_CTL_FMT_H

/*
 * Numbers for people: each formatter writes into the caller's buffer
 * (CTL_FMT_MAX bytes suffice for any input) and returns it, so calls can
 * sit in a printf argument list. ASCII only ("us", not the micro sign), so
 * a byte is a column.
 */

#include <stddef.h>
#include <stdint.h>

#define CTL_FMT_MAX 32

/* A signed duration in ns with a unit that keeps it short:
 * "+850 ns", "+12.345 us", "-3.210 ms", "-1234.567890 s". */
char *ctl_fmt_ns(char *buf, size_t size, int64_t ns);

/* A rate error in ppb as ppm: "+12.345 ppm". */
char *ctl_fmt_ppm(char *buf, size_t size, int64_t ppb);

/* A delay in us as ms: "40.000 ms". */
char *ctl_fmt_delay_us(char *buf, size_t size, double us);

/* An uptime in us: "42.0 s", "5m 03s", "2h 05m 03s", "3d 02h 05m". */
char *ctl_fmt_uptime_us(char *buf, size_t size, uint64_t us);

/* A battery level: "87 %", or "unknown" for 255 (the API's unknown). */
char *ctl_fmt_battery(char *buf, size_t size, int64_t pct);

/*
 * A histogram value in us, at most 7 columns: two decimals below 10,
 * one below 1000, none below 1e6, then seconds with an "s" ("1234.5s").
 */
char *ctl_fmt_hist_us(char *buf, size_t size, double us);

#endif
