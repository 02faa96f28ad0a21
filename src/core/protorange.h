/* SPDX-License-Identifier: MIT */
#ifndef TTWS_CORE_PROTORANGE_H
#define TTWS_CORE_PROTORANGE_H

/*
 * The values a well-formed ttws-link message may carry (ttws-link(7),
 * ERRORS, "Value ranges"). proto_decode() checks the format (sizes, version,
 * type); this checks what the fields say, before the link uses them: an
 * earbud is outside the trust boundary, and a connection interval of 1 us
 * or of 5 s would drive the timing requests and the servo out of their
 * domains. Pure.
 */

#include "core/proto.h"

/* Core 5.4, Vol 6, Part B, 4.5.1: connInterval is 7.5 ms .. 4 s (6 ..
 * 3200 units of 1.25 ms). HELLO_ACK may also say 0 = "not known";
 * CONN_UPDATE may not. */
#define PROTORANGE_CI_MIN_US 7500u
#define PROTORANGE_CI_MAX_US 4000000u
/* A clock tick of 1 ns .. 1 ms: a 32.768 kHz RTC ticks every 30518 ns. */
#define PROTORANGE_CLOCK_RES_MAX_NS 1000000u
#define PROTORANGE_BATTERY_UNKNOWN 0xffu

/*
 * Check the fields of a decoded message. Returns 0, or -EDOM with
 * *ret_field (may be NULL) naming the first field out of range
 * ("ci_us", "clock_res_ns", "version", "codec", "battery_pct"). An
 * accepting HELLO_ACK (status LINK_HELLO_OK) must carry a clock, a version
 * in 1..LINK_VERSION and a codec this version defines; a refusing one is
 * judged by its ci_us only.
 */
int protorange_check(const struct link_msg *m, const char **ret_field);

#endif
