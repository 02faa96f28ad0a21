/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_L2CAP_PRIVATE_H
#define TTWS_OS_L2CAP_PRIVATE_H

/*
 * What the l2cap*.c files share and nobody else uses: l2cap.c (sockets),
 * l2cap_addr.c (pure rules), l2cap_opt.c (options applied and read
 * back), l2cap_report.c (the report's text).
 */

#include <stdbool.h>

#include "os/l2cap.h"

/* One of enum l2cap_addr_type's values. */
bool l2cap_type_valid(enum l2cap_addr_type type);

/*
 * What every entry point that makes a socket checks first: address types
 * valid and both LE or both BR/EDR, security in the enum, rx_mtu 0 or at
 * least the type's minimum. 0 or -EINVAL.
 */
int l2cap_config_check(const struct l2cap_config *cfg);

#endif
