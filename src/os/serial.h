/* SPDX-License-Identifier: MIT */
#ifndef TTWS_OS_SERIAL_H
#define TTWS_OS_SERIAL_H

/*
 * The tty of a UART (or USB-serial) HCI dongle, for the hci-uart transport
 * (DESIGN.md, "Transports"): opened non-blocking and exclusive, put in raw
 * 8N1 mode at any rate up to 4 Mbaud, RTS/CTS on or off, and given back
 * exactly as found when closed. Line health comes from TIOCGICOUNT.
 *
 * Nothing here logs and nothing here decides policy: what the driver
 * obtained (rate, flow control) is reported, and whether a read error
 * means "the dongle was unplugged" is a pure classification. Reopening
 * with back-off is the daemon's job: it owns the timer wheel and the
 * status report, so no back-off helper lives here.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SERIAL_BAUD_MAX 4000000u
/* Never smaller: n_tty hands out up to 4095 bytes in one read(). */
#define SERIAL_RX_BUFFER_MIN 4096u
#define SERIAL_RX_BUFFER_MAX (1u << 20)
/* Head-room over the bytes that arrive within one worst-case latency. */
#define SERIAL_RX_SAFETY 2u

struct serial;

struct serial_config {
	const char *path;  /* e.g. "/dev/ttyUSB0"; only read during open */
	uint32_t baud;	   /* bit/s, 1..SERIAL_BAUD_MAX, any value */
	bool flow_control; /* RTS/CTS (CRTSCTS) */
	/*
	 * Non-canonical read conditions, termios(3). Use VMIN 1, VTIME 0
	 * (the default) with io_uring or epoll: the fd is O_NONBLOCK, so
	 * read() returns what is buffered or -EAGAIN, and poll readiness
	 * comes with the first byte. VMIN > 1 with VTIME 0 delays poll
	 * readiness until VMIN bytes are buffered, so a short HCI event
	 * would sit unread; VMIN 0 with VTIME 0 makes read() return 0 when
	 * nothing is buffered, which looks like end of file (a vanished
	 * device) to serial_io_classify() and to io_uring, which then
	 * completes the read instead of waiting for data (measured on
	 * 6.18 over a pty; drivers/tty/n_tty.c, n_tty_read() and
	 * input_available_p()).
	 */
	uint8_t vmin;
	uint8_t vtime_ds; /* VTIME, in tenths of a second */
};

/* path NULL, 115200 baud, flow control on, VMIN 1, VTIME 0. */
void serial_config_default(struct serial_config *ret);

/* What the driver obtained, read back with TCGETS2 after setting. */
struct serial_info {
	uint32_t baud_requested;
	/*
	 * The rate the driver reports, bit/s. Drivers round to what their
	 * divisor can do and some fall back (e.g. to 9600) when the rate is
	 * out of range, so compare with baud_requested: a UART link needs
	 * both ends within about 2% of each other.
	 */
	uint32_t baud;
	bool baud_other;   /* set as BOTHER (not a Bnnn constant) */
	bool flow_control; /* CRTSCTS reads back as set */
	bool raw;	   /* every raw 8N1 flag reads back as asked */
	uint8_t vmin;
	uint8_t vtime_ds;
};

/*
 * Open cfg->path O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, take it
 * exclusively (flock(LOCK_EX) against a second ttws, including root,
 * then TIOCEXCL against other unprivileged openers: tty_ioctl(4)), save
 * its termios, set raw 8N1 at cfg->baud (termios2 with BOTHER when the
 * rate has no Bnnn constant), RTS/CTS and VMIN/VTIME, read all of it back
 * and discard what was received or queued before (TCIOFLUSH).
 *
 * Returns 0 and *ret (free with serial_close()). Errors (ret untouched):
 * -EINVAL bad cfg (NULL, empty path, baud 0 or above SERIAL_BAUD_MAX);
 * the errno of open(2) (-ENOENT, -EACCES, ...); -ENOTTY not a tty;
 * -EBUSY another process holds the lock or TIOCEXCL, or a line
 * discipline other than N_TTY is attached (hciattach, btattach: the
 * kernel owns the dongle then, use transport = l2cap); -ENOMEM; or the
 * errno of the termios ioctls.
 */
int serial_open(const struct serial_config *cfg, struct serial **ret);

/*
 * The same without allocating, for the RT thread's reopen after a dongle
 * vanished: mem (size bytes, at least serial_size(), aligned for any
 * type, owned by the caller) holds the state. Close with
 * serial_close_in(), which leaves mem to the caller.
 */
size_t serial_size(void);
int serial_open_in(void *mem, size_t size, const struct serial_config *cfg,
		   struct serial **ret);
void serial_close_in(struct serial *s);

/* The fd, owned by s: do not close it. */
int serial_fd(const struct serial *s);

/* What was obtained at open. Valid until serial_close(). */
const struct serial_info *serial_get_info(const struct serial *s);

/*
 * Discard unsent output (it would otherwise go out under the restored
 * settings), restore the termios saved at open, drop TIOCEXCL and the
 * lock, close. Errors of a vanished device are ignored. Accepts NULL;
 * returns NULL: "s = serial_close(s);".
 */
struct serial *serial_close(struct serial *s);

/*
 * Line error counters of the driver (TIOCGICOUNT, tty_ioctl(4);
 * struct serial_icounter_struct of <linux/serial.h>). The kernel keeps
 * them as int and lets them wrap; deltas are computed modulo 2^32.
 */
struct serial_icount {
	/*
	 * false: the driver has no TIOCGICOUNT (ptys, several USB-serial
	 * drivers answer ENOTTY or EINVAL); every counter is then 0.
	 */
	bool available;
	uint32_t rx;	      /* bytes received */
	uint32_t tx;	      /* bytes sent */
	uint32_t frame;	      /* framing errors: wrong rate, noise */
	uint32_t overrun;     /* UART FIFO overruns: service too late */
	uint32_t parity;      /* parity errors */
	uint32_t brk;	      /* breaks received */
	uint32_t buf_overrun; /* tty buffer full: reader too slow */
};

/*
 * Read the counters. *ret_delta gets the change since the previous call
 * (the first call: since serial_open()), *ret_total the driver's running
 * totals (since the port was registered, not since our open). Either may
 * be NULL. A driver without the ioctl is not an error: returns 0 with
 * available false. Errors (outputs untouched): -EINVAL s is NULL, -EIO
 * and the like when the device is gone (see serial_io_classify()).
 */
int serial_icount(struct serial *s, struct serial_icount *ret_delta,
		  struct serial_icount *ret_total);

/*
 * "frame 0 overrun 1 parity 0 break 0 buf_overrun 0 rx 812 tx 95", or
 * "not available on this device". Returns the length, -ENOBUFS (buf holds
 * a truncated prefix) or -EINVAL for NULL or size 0.
 */
int serial_icount_format(const struct serial_icount *c, char *buf, size_t size);

/*
 * Size of the receive buffer, bytes, for a reader that may be late by
 * latency_us (its worst-case service latency, us): the bytes one 8N1 line
 * carries in that time (baud / 10 per second) times SERIAL_RX_SAFETY,
 * rounded up to a power of two, clamped to SERIAL_RX_BUFFER_MIN ..
 * SERIAL_RX_BUFFER_MAX. Without RTS/CTS, whatever the kernel cannot hold
 * meanwhile is lost (n_tty buffers 4 KiB, the flip buffers 64 KiB, then
 * buf_overrun). Pure.
 */
size_t serial_rx_buffer_size(uint32_t baud, uint32_t latency_us);

enum serial_io {
	SERIAL_IO_DATA = 0, /* res > 0 bytes */
	SERIAL_IO_RETRY,    /* -EAGAIN / -EWOULDBLOCK / -EINTR: wait, retry */
	/*
	 * 0 (end of file: the tty was hung up, e.g. a USB-serial unplug,
	 * or a pty master closed), -EIO (hung up or other side closed),
	 * -ENODEV / -ENXIO (the device behind the node is gone), -EBADF
	 * (the fd was closed under us): close and reopen.
	 */
	SERIAL_IO_GONE,
	SERIAL_IO_ERROR, /* any other errno: not the device; report it */
};

/*
 * Classify the result of one read(2) (byte count, or -errno) or one
 * io_uring read completion (cqe->res). Pure.
 */
enum serial_io serial_io_classify(ssize_t res);

/* "data", "retry", "gone", "error". */
const char *serial_io_name(enum serial_io io);

#endif
