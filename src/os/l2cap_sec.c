/* SPDX-License-Identifier: MIT */
/*
 * Link security of the l2cap transport: what the kernel granted on a
 * connected channel, whether that meets what was asked, and words for a
 * connect that failed while asking for it. See l2cap.h.
 */

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "core/strbuf.h"
#include "os/l2cap.h"

#if HAVE_BLUEZ
#include <bluetooth/bluetooth.h>
#endif

const char *l2cap_security_name(enum l2cap_security level)
{
	switch (level) {
	case L2CAP_SECURITY_LEAVE:
		return "leave";
	case L2CAP_SECURITY_LOW:
		return "low";
	case L2CAP_SECURITY_MEDIUM:
		return "medium";
	case L2CAP_SECURITY_HIGH:
		return "high";
	case L2CAP_SECURITY_FIPS:
		return "fips";
	}
	return "?";
}

bool l2cap_link_security_meets(const struct l2cap_link_security *s,
			       enum l2cap_security want)
{
	if (want <= L2CAP_SECURITY_LOW) {
		return true;
	}
	/* MEDIUM and up are encrypted levels: a level without a key
	 * would be a kernel's bookkeeping, not a link anyone relies on. */
	return s->key_size > 0 && s->level >= want;
}

int l2cap_link_security_format(const struct l2cap_link_security *s, char *buf,
			       size_t size)
{
	struct strbuf o = {.buf = buf, .size = size};

	if (!s || !buf || size == 0) {
		return -EINVAL;
	}
	buf[0] = '\0';
	strbuf_put(&o, "%s (%d), ", l2cap_security_name(s->level),
		   (int)s->level);
	if (s->key_size) {
		strbuf_put(&o, "encrypted, %u-byte key", (unsigned)s->key_size);
	} else {
		strbuf_put(&o, "NOT encrypted");
	}
	return o.overflow ? -ENOBUFS : (int)o.len;
}

const char *l2cap_connect_error_hint(int err, enum l2cap_security want)
{
	bool secure = want >= L2CAP_SECURITY_MEDIUM;

	switch (err) {
	case -ECONNREFUSED:
		return secure ? "no listener on the PSM, or pairing or "
				"encryption failed (is the earbud pairable? "
				"does it still hold our bond?)" :
				"no listener on the PSM";
	case -EACCES:
		/* HCI Authentication Failure (0x05), bt_to_errno(). */
		return secure ? "pairing or encryption failed "
				"(authentication failure)" :
				NULL;
	case -EBADE:
		/* HCI PIN or Key Missing (0x06): the peer lost the bond. */
		return "the earbud lost our bond (reset or unpaired): remove "
		       "it here (bluetoothctl remove ADDRESS) to pair anew";
	case -EHOSTDOWN:
	case -ETIMEDOUT:
		return "the earbud did not answer (out of range, off, or not "
		       "advertising)";
	}
	return NULL;
}

#if HAVE_BLUEZ

int l2cap_link_security(int fd, struct l2cap_link_security *ret)
{
	struct bt_security sec;
	socklen_t len = sizeof(sec);

	if (fd < 0 || !ret) {
		return -EINVAL;
	}
	memset(&sec, 0, sizeof(sec));
	if (getsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, &len) < 0) {
		return -errno;
	}
	/* The kernel's own range (l2cap_sock_setsockopt()): anything else
	 * is not a level this code knows how to judge. */
	if (sec.level < BT_SECURITY_LOW || sec.level > BT_SECURITY_FIPS) {
		return -ERANGE;
	}
	*ret = (struct l2cap_link_security){
	    .level = (enum l2cap_security)sec.level,
	    .key_size = sec.key_size,
	};
	return 0;
}

int l2cap_request_security(int fd, enum l2cap_security level)
{
	struct bt_security sec;

	if (fd < 0 || level < L2CAP_SECURITY_LOW ||
	    level > L2CAP_SECURITY_FIPS) {
		return -EINVAL;
	}
	memset(&sec, 0, sizeof(sec));
	sec.level = (uint8_t)level;
	if (setsockopt(fd, SOL_BLUETOOTH, BT_SECURITY, &sec, sizeof(sec)) < 0) {
		return -errno;
	}
	return 0;
}

#else /* !HAVE_BLUEZ */

int l2cap_link_security(int fd, struct l2cap_link_security *ret)
{
	return -EAFNOSUPPORT;
}

int l2cap_request_security(int fd, enum l2cap_security level)
{
	return -EAFNOSUPPORT;
}

#endif
