/* SPDX-License-Identifier: MIT */
/*
 * A UART HCI dongle's tty: raw mode, termios2 rates, TIOCGICOUNT. See
 * serial.h.
 *
 * This file talks to the tty through the kernel's own termios ioctls and
 * <asm/termbits.h>, never through glibc's <termios.h>: the two headers
 * define struct termios, NCCS and the Bnnn constants differently and
 * cannot be included together, and only the kernel's struct termios2
 * carries arbitrary rates (BOTHER, c_ispeed/c_ospeed). cfmakeraw() is
 * therefore spelled out below.
 */

#include <asm/termbits.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/serial.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "core/macro.h"
#include "os/serial.h"

/*
 * struct termios2 and TCGETS2/TCSETS2 exist on every architecture except
 * powerpc, whose struct termios already carries c_ispeed/c_ospeed and
 * BOTHER through TCGETS/TCSETS.
 */
#ifdef TCGETS2
typedef struct termios2 serial_termios;
#define SERIAL_TCGETS TCGETS2
#define SERIAL_TCSETS TCSETS2
#else
typedef struct termios serial_termios;
#define SERIAL_TCGETS TCGETS
#define SERIAL_TCSETS TCSETS
#endif

#ifndef N_TTY
#define N_TTY 0
#endif

struct serial {
	int fd;
	serial_termios saved;
	struct serial_info info;
	bool icount_available;
	struct serial_icounter_struct icount_last;
};

/* The rates with a Bnnn constant, asm-generic/termbits.h. */
static const struct {
	uint32_t baud;
	unsigned code;
} rates[] = {
    {50, B50},		 {75, B75},	      {110, B110},
    {134, B134},	 {150, B150},	      {200, B200},
    {300, B300},	 {600, B600},	      {1200, B1200},
    {1800, B1800},	 {2400, B2400},	      {4800, B4800},
    {9600, B9600},	 {19200, B19200},     {38400, B38400},
    {57600, B57600},	 {115200, B115200},   {230400, B230400},
    {460800, B460800},	 {500000, B500000},   {576000, B576000},
    {921600, B921600},	 {1000000, B1000000}, {1152000, B1152000},
    {1500000, B1500000}, {2000000, B2000000}, {2500000, B2500000},
    {3000000, B3000000}, {3500000, B3500000}, {4000000, B4000000},
};

static unsigned baud_code(uint32_t baud)
{
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		if (rates[i].baud == baud) {
			return rates[i].code;
		}
	}
	return BOTHER;
}

/* Output rate of t as the kernel reports it. */
static uint32_t baud_of(const serial_termios *t)
{
	unsigned code = t->c_cflag & CBAUD;

	if (code == BOTHER) {
		return t->c_ospeed;
	}
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		if (rates[i].code == code) {
			return rates[i].baud;
		}
	}
	/* B0 (hang up) or unknown: the kernel's own figure. */
	return t->c_ospeed;
}

/*
 * cfmakeraw() of termios(3), spelled out, plus what an HCI byte stream
 * needs on top (Core 5.4, Vol 4, Part A, 1: 8 data bits, no parity, one
 * stop bit, RTS/CTS). Every bit here is one we set or clear on purpose;
 * raw_ok() checks the same bits after read-back.
 */
#define RAW_IFLAG_OFF                                                          \
	(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |    \
	 IXOFF | IXANY | INPCK)
#define RAW_OFLAG_OFF (OPOST)
#define RAW_LFLAG_OFF (ECHO | ECHONL | ICANON | ISIG | IEXTEN)
#define RAW_CFLAG_OFF (CSIZE | PARENB | CSTOPB)
#define RAW_CFLAG_ON (CS8 | CREAD | CLOCAL)

static void make_raw(serial_termios *t, const struct serial_config *cfg)
{
	unsigned code = baud_code(cfg->baud);

	/*
	 * cfmakeraw(): no break, CR/NL or parity processing, no stripping
	 * of bit 7. With IGNBRK, BRKINT and PARMRK all clear a break (and a
	 * framing error) reads as one 0x00 byte (termios(3)): the H4 framer
	 * resynchronises on it, the icount says it happened. IXON / IXOFF /
	 * IXANY (not cleared by cfmakeraw) go too: XON/XOFF bytes are data
	 * in HCI, and IXOFF would inject them into the stream.
	 */
	t->c_iflag &= ~RAW_IFLAG_OFF;
	t->c_oflag &= ~RAW_OFLAG_OFF;
	t->c_lflag &= ~RAW_LFLAG_OFF;
	/*
	 * 8N1. CLOCAL: no modem control, so DCD neither blocks open nor
	 * hangs us up; CREAD: enable the receiver.
	 */
	t->c_cflag &= ~(RAW_CFLAG_OFF | CRTSCTS);
	t->c_cflag |= RAW_CFLAG_ON;
	if (cfg->flow_control) {
		t->c_cflag |= CRTSCTS;
	}
	t->c_cc[VMIN] = cfg->vmin;
	t->c_cc[VTIME] = cfg->vtime_ds;

	/*
	 * The rate: a Bnnn constant when there is one (then stty and glibc's
	 * cfgetospeed() also understand it), else BOTHER with the rate in
	 * c_ospeed. CIBAUD = 0 means "input rate = output rate" (termios2
	 * semantics, drivers/tty/tty_baudrate.c).
	 */
	t->c_cflag &= ~(CBAUD | CIBAUD);
	t->c_cflag |= code;
	t->c_ispeed = cfg->baud;
	t->c_ospeed = cfg->baud;
}

static bool raw_ok(const serial_termios *t)
{
	return !(t->c_iflag & RAW_IFLAG_OFF) && !(t->c_oflag & RAW_OFLAG_OFF) &&
	       !(t->c_lflag & RAW_LFLAG_OFF) &&
	       (t->c_cflag & (CSIZE | PARENB | CSTOPB)) == CS8 &&
	       (t->c_cflag & (CREAD | CLOCAL)) == (CREAD | CLOCAL);
}

void serial_config_default(struct serial_config *ret)
{
	*ret = (struct serial_config){
	    .path = NULL,
	    .baud = 115200,
	    .flow_control = true,
	    .vmin = 1,
	    .vtime_ds = 0,
	};
}

static int get_icount(int fd, struct serial_icounter_struct *ret)
{
	struct serial_icounter_struct c;

	memset(&c, 0, sizeof(c));
	if (ioctl(fd, TIOCGICOUNT, &c) < 0) {
		return -errno;
	}
	*ret = c;
	return 0;
}

/* The driver has no TIOCGICOUNT: tty_ioctl.c answers ENOTTY, some EINVAL. */
static bool icount_unsupported(int r)
{
	return r == -ENOTTY || r == -EINVAL || r == -EOPNOTSUPP;
}

static int serial_open_common(const struct serial_config *cfg, struct serial *s,
			      struct serial **ret)
{
	serial_termios t;
	int fd, ldisc, r;
	bool excl = false;

	if (!cfg || !ret || !cfg->path || !cfg->path[0] || cfg->baud == 0 ||
	    cfg->baud > SERIAL_BAUD_MAX) {
		return -EINVAL;
	}
	/*
	 * O_NOCTTY: a daemon without a controlling terminal would otherwise
	 * acquire the dongle as one. O_NONBLOCK: open() does not wait for
	 * DCD, and reads never block the loop.
	 */
	fd = open(cfg->path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	/*
	 * Also the "is it a tty" test: anything else answers ENOTTY. First,
	 * because the termios ioctls are the line discipline's to answer,
	 * and one without them (N_NULL) says EINVAL. hciattach/btattach put
	 * N_HCI on the tty: the kernel's Bluetooth stack has the dongle.
	 */
	if (ioctl(fd, TIOCGETD, &ldisc) < 0) {
		r = -errno;
		goto fail;
	}
	if (ldisc != N_TTY) {
		r = -EBUSY;
		goto fail;
	}
	if (ioctl(fd, SERIAL_TCGETS, &s->saved) < 0) {
		r = -errno;
		goto fail;
	}
	/*
	 * TIOCEXCL does not stop CAP_SYS_ADMIN (tty_ioctl(4)), so a second
	 * ttwsd running as root is kept out by the advisory lock.
	 */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto fail;
	}
	if (ioctl(fd, TIOCEXCL) < 0) {
		r = -errno;
		goto fail;
	}
	excl = true;

	t = s->saved;
	make_raw(&t, cfg);
	/*
	 * Like tcsetattr(TCSANOW): succeeds when any part was applied, so
	 * what counts is what reads back.
	 */
	if (ioctl(fd, SERIAL_TCSETS, &t) < 0) {
		r = -errno;
		goto fail;
	}
	memset(&t, 0, sizeof(t));
	if (ioctl(fd, SERIAL_TCGETS, &t) < 0) {
		r = -errno;
		goto fail;
	}
	/* Bytes that arrived at the old settings are garbage: drop them. */
	if (ioctl(fd, TCFLSH, TCIOFLUSH) < 0) {
		r = -errno;
		goto fail;
	}

	s->info = (struct serial_info){
	    .baud_requested = cfg->baud,
	    .baud = baud_of(&t),
	    .baud_other = (t.c_cflag & CBAUD) == BOTHER,
	    .flow_control = !!(t.c_cflag & CRTSCTS),
	    .raw = raw_ok(&t),
	    .vmin = t.c_cc[VMIN],
	    .vtime_ds = t.c_cc[VTIME],
	};

	/* Baseline for the first serial_icount() delta. */
	r = get_icount(fd, &s->icount_last);
	if (r < 0 && !icount_unsupported(r)) {
		goto fail;
	}
	s->icount_available = r == 0;

	*ret = s;
	return 0;

fail:
	if (excl) {
		(void)ioctl(fd, SERIAL_TCSETS, &s->saved);
		(void)ioctl(fd, TIOCNXCL);
	}
	close(fd);
	return r;
}

int serial_open(const struct serial_config *cfg, struct serial **ret)
{
	struct serial *s;
	int r;

	if (!ret) {
		return -EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return -ENOMEM;
	}
	r = serial_open_common(cfg, s, ret);
	if (r < 0) {
		free(s);
	}
	return r;
}

size_t serial_size(void)
{
	return sizeof(struct serial);
}

int serial_open_in(void *mem, size_t size, const struct serial_config *cfg,
		   struct serial **ret)
{
	if (!mem || size < sizeof(struct serial) ||
	    (uintptr_t)mem % _Alignof(struct serial) != 0 || !ret) {
		return -EINVAL;
	}
	return serial_open_common(cfg, mem, ret);
}

int serial_fd(const struct serial *s)
{
	return s ? s->fd : -EINVAL;
}

const struct serial_info *serial_get_info(const struct serial *s)
{
	return s ? &s->info : NULL;
}

static void serial_restore_close(struct serial *s)
{
	/*
	 * TCSETS, not TCSETSW: draining could wait forever for a CTS that a
	 * dead dongle never raises. The unsent rest is dropped instead of
	 * going out at the restored rate.
	 */
	(void)ioctl(s->fd, TCFLSH, TCOFLUSH);
	(void)ioctl(s->fd, SERIAL_TCSETS, &s->saved);
	/* The flag stays on the tty while any other fd keeps it open. */
	(void)ioctl(s->fd, TIOCNXCL);
	close(s->fd);
	s->fd = -1;
}

struct serial *serial_close(struct serial *s)
{
	if (!s) {
		return NULL;
	}
	serial_restore_close(s);
	free(s);
	return NULL;
}

void serial_close_in(struct serial *s)
{
	if (s && s->fd >= 0) {
		serial_restore_close(s);
	}
}

static void icount_set(struct serial_icount *c, bool available,
		       const struct serial_icounter_struct *k)
{
	*c = (struct serial_icount){
	    .available = available,
	    .rx = (uint32_t)k->rx,
	    .tx = (uint32_t)k->tx,
	    .frame = (uint32_t)k->frame,
	    .overrun = (uint32_t)k->overrun,
	    .parity = (uint32_t)k->parity,
	    .brk = (uint32_t)k->brk,
	    .buf_overrun = (uint32_t)k->buf_overrun,
	};
}

int serial_icount(struct serial *s, struct serial_icount *ret_delta,
		  struct serial_icount *ret_total)
{
	struct serial_icounter_struct now;
	struct serial_icount total, delta;
	int r;

	if (!s) {
		return -EINVAL;
	}
	if (!s->icount_available) {
		memset(&now, 0, sizeof(now));
		icount_set(&total, false, &now);
		delta = total;
	} else {
		r = get_icount(s->fd, &now);
		if (r < 0) {
			return r;
		}
		icount_set(&total, true, &now);
		icount_set(&delta, true, &s->icount_last);
		/* Unsigned, so a counter that wrapped still subtracts right. */
		delta.rx = total.rx - delta.rx;
		delta.tx = total.tx - delta.tx;
		delta.frame = total.frame - delta.frame;
		delta.overrun = total.overrun - delta.overrun;
		delta.parity = total.parity - delta.parity;
		delta.brk = total.brk - delta.brk;
		delta.buf_overrun = total.buf_overrun - delta.buf_overrun;
		s->icount_last = now;
	}
	if (ret_delta) {
		*ret_delta = delta;
	}
	if (ret_total) {
		*ret_total = total;
	}
	return 0;
}

int serial_icount_format(const struct serial_icount *c, char *buf, size_t size)
{
	int n;

	if (!c || !buf || size == 0) {
		return -EINVAL;
	}
	if (!c->available) {
		n = snprintf(buf, size, "not available on this device");
	} else {
		n = snprintf(buf, size,
			     "frame %u overrun %u parity %u break %u "
			     "buf_overrun %u rx %u tx %u",
			     c->frame, c->overrun, c->parity, c->brk,
			     c->buf_overrun, c->rx, c->tx);
	}
	if (n < 0) {
		return -EINVAL;
	}
	return (size_t)n >= size ? -ENOBUFS : n;
}

size_t serial_rx_buffer_size(uint32_t baud, uint32_t latency_us)
{
	/* 8N1: ten bit times per byte. (2^32 - 1)^2 + 1e7 fits in 64 bits. */
	uint64_t bytes = ((uint64_t)baud * latency_us + 9999999u) / 10000000u;
	uint64_t size = SERIAL_RX_BUFFER_MIN;

	bytes *= SERIAL_RX_SAFETY;
	while (size < bytes && size < SERIAL_RX_BUFFER_MAX) {
		size <<= 1;
	}
	return (size_t)size;
}

enum serial_io serial_io_classify(ssize_t res)
{
	if (res > 0) {
		return SERIAL_IO_DATA;
	}
	switch (res) {
	case 0:
	case -EIO:
	case -ENODEV:
	case -ENXIO:
	case -EBADF:
		return SERIAL_IO_GONE;
	case -EAGAIN:
#if EWOULDBLOCK != EAGAIN
	case -EWOULDBLOCK:
#endif
	case -EINTR:
		return SERIAL_IO_RETRY;
	default:
		return SERIAL_IO_ERROR;
	}
}

const char *serial_io_name(enum serial_io io)
{
	switch (io) {
	case SERIAL_IO_DATA:
		return "data";
	case SERIAL_IO_RETRY:
		return "retry";
	case SERIAL_IO_GONE:
		return "gone";
	case SERIAL_IO_ERROR:
		return "error";
	}
	return "?";
}
