/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of src/os/serial over a pseudo-terminal: the pty slave is
 * the "dongle" that serial_open() configures, the master is the far end
 * of the wire. A pty accepts and reports back every termios setting the
 * module makes, BOTHER rates included (pty_set_termios() only forces CS8
 * and clears PARENB, which raw 8N1 asks for anyway), but it has no
 * TIOCGICOUNT.
 *
 * Read-back goes through glibc's tcgetattr() and, for the rate, through
 * TCGETS2 with a local copy of the kernel's struct termios2: glibc 2.36
 * does not know BOTHER, and <asm/termbits.h> cannot be included next to
 * <termios.h>.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/macro.h"
#include "os/serial.h"

/*
 * struct termios2 of asm-generic/termbits.h (x86, arm, arm64, riscv, ...).
 * The ioctl number encodes the size, so a different layout would be
 * refused by the kernel rather than misread.
 */
struct k_termios2 {
	tcflag_t c_iflag;
	tcflag_t c_oflag;
	tcflag_t c_cflag;
	tcflag_t c_lflag;
	cc_t c_line;
	cc_t c_cc[19];
	speed_t c_ispeed;
	speed_t c_ospeed;
};
#define K_TCGETS2 _IOR('T', 0x2A, struct k_termios2)
#define K_BOTHER 0010000
#define K_CBAUD 0010017

struct pty {
	int master;
	char path[64];
};

static void pty_open(struct pty *p)
{
	p->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(p->master >= 0);
	assert_int_equal(grantpt(p->master), 0);
	assert_int_equal(unlockpt(p->master), 0);
	assert_non_null(ptsname(p->master));
	snprintf(p->path, sizeof(p->path), "%s", ptsname(p->master));
}

static void pty_close(struct pty *p)
{
	if (p->master >= 0) {
		close(p->master);
	}
	p->master = -1;
}

static void cfg_for(struct serial_config *c, const char *path, uint32_t baud,
		    bool flow)
{
	serial_config_default(c);
	c->path = path;
	c->baud = baud;
	c->flow_control = flow;
}

static void kget(int fd, struct k_termios2 *t)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(ioctl(fd, K_TCGETS2, t), 0);
}

/* Every bit of cfmakeraw() plus the HCI extras, as the kernel reports. */
static void assert_raw(const struct termios *t, bool flow, uint8_t vmin,
		       uint8_t vtime)
{
	assert_int_equal(t->c_iflag &
			     (IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR |
			      IGNCR | ICRNL | IXON | IXOFF | IXANY | INPCK),
			 0);
	assert_int_equal(t->c_oflag & OPOST, 0);
	assert_int_equal(t->c_lflag & (ECHO | ECHONL | ICANON | ISIG | IEXTEN),
			 0);
	assert_int_equal(t->c_cflag & (CSIZE | PARENB | CSTOPB), CS8);
	assert_int_equal(t->c_cflag & (CREAD | CLOCAL), CREAD | CLOCAL);
	assert_int_equal(!!(t->c_cflag & CRTSCTS), flow);
	assert_int_equal(t->c_cc[VMIN], vmin);
	assert_int_equal(t->c_cc[VTIME], vtime);
}

static ssize_t read_wait(int fd, void *buf, size_t size, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) < 0) {
		return -errno;
	}
	n = read(fd, buf, size);
	return n < 0 ? -errno : n;
}

/* Read exactly size bytes (the pty may deliver them in pieces). */
static void read_all(int fd, uint8_t *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read_wait(fd, buf + got, size - got, 2000);

		if (n == -EAGAIN) {
			continue;
		}
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void test_open_pty_raw(void **state)
{
	struct serial_config c;
	struct serial *s = NULL;
	const struct serial_info *info;
	struct termios t;
	struct k_termios2 k;
	struct pty p;
	int fl;

	pty_open(&p);
	cfg_for(&c, p.path, 115200, true);
	assert_int_equal(serial_open(&c, &s), 0);
	assert_non_null(s);

	fl = fcntl(serial_fd(s), F_GETFL);
	assert_true(fl & O_NONBLOCK);
	assert_int_equal(fl & O_ACCMODE, O_RDWR);
	assert_true(fcntl(serial_fd(s), F_GETFD) & FD_CLOEXEC);

	assert_int_equal(tcgetattr(serial_fd(s), &t), 0);
	assert_raw(&t, true, 1, 0);
	assert_int_equal(cfgetospeed(&t), B115200);
	kget(serial_fd(s), &k);
	assert_int_equal(k.c_ospeed, 115200);
	assert_int_equal(k.c_ispeed, 115200);
	assert_int_equal(k.c_cflag & K_CBAUD, B115200);

	info = serial_get_info(s);
	assert_int_equal(info->baud_requested, 115200);
	assert_int_equal(info->baud, 115200);
	assert_false(info->baud_other);
	assert_true(info->flow_control);
	assert_true(info->raw);
	assert_int_equal(info->vmin, 1);
	assert_int_equal(info->vtime_ds, 0);

	assert_null(serial_close(s));
	assert_null(serial_close(NULL));
	pty_close(&p);
}

static void test_rates_read_back(void **state)
{
	static const struct {
		uint32_t baud;
		bool other; /* no Bnnn constant: BOTHER */
	} rows[] = {
	    {9600, false},    {115200, false},	{921600, false},
	    {1000000, false}, {2000000, false}, {3000000, false},
	    {3500000, false}, {4000000, false}, {250000, true},
	    {1234567, true},  {1843200, true},	{2764800, true},
	    {3999999, true},  {31250, true},	{1, true},
	};
	struct pty p;

	pty_open(&p);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		struct serial_config c;
		struct serial *s;
		struct k_termios2 k;
		struct termios t;
		bool flow = i % 2;

		cfg_for(&c, p.path, rows[i].baud, flow);
		assert_int_equal(serial_open(&c, &s), 0);
		kget(serial_fd(s), &k);
		if (k.c_ospeed != rows[i].baud) {
			fail_msg("%u baud reads back as %u", rows[i].baud,
				 k.c_ospeed);
		}
		assert_int_equal(k.c_ispeed, rows[i].baud);
		assert_int_equal((k.c_cflag & K_CBAUD) == K_BOTHER,
				 rows[i].other);
		assert_int_equal(serial_get_info(s)->baud, rows[i].baud);
		assert_int_equal(serial_get_info(s)->baud_other, rows[i].other);
		assert_int_equal(serial_get_info(s)->flow_control, flow);
		assert_int_equal(tcgetattr(serial_fd(s), &t), 0);
		assert_raw(&t, flow, 1, 0);
		s = serial_close(s);
	}
	pty_close(&p);
}

static void test_vmin_vtime(void **state)
{
	struct serial_config c;
	struct serial *s;
	struct termios t;
	struct pty p;

	pty_open(&p);
	cfg_for(&c, p.path, 3000000, false);
	c.vmin = 4;
	c.vtime_ds = 2;
	assert_int_equal(serial_open(&c, &s), 0);
	assert_int_equal(tcgetattr(serial_fd(s), &t), 0);
	assert_raw(&t, false, 4, 2);
	assert_int_equal(serial_get_info(s)->vmin, 4);
	assert_int_equal(serial_get_info(s)->vtime_ds, 2);
	s = serial_close(s);
	pty_close(&p);
}

static void test_data_both_ways(void **state)
{
	/* Every byte a cooked tty would eat or translate. */
	static const uint8_t wire[] = {
	    0x04, 0x0e, 0x04, 0x01, 0x03, 0x0c, 0x00, /* HCI event */
	    0x00, 0x03, 0x04, 0x0a, 0x0d, 0x11, 0x13, 0x15,
	    0x16, 0x17, 0x1a, 0x1c, 0x7f, 0x80, 0xff, 0xfe,
	};
	struct serial_config c;
	struct serial *s;
	uint8_t buf[sizeof(wire)];
	struct pty p;

	pty_open(&p);
	cfg_for(&c, p.path, 3000000, true);
	assert_int_equal(serial_open(&c, &s), 0);

	/* Nothing buffered: -EAGAIN, not 0 (VMIN 1, see serial.h). */
	assert_int_equal(read(serial_fd(s), buf, sizeof(buf)), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(serial_io_classify(-errno), SERIAL_IO_RETRY);

	/* Dongle to host. */
	assert_int_equal(write(p.master, wire, sizeof(wire)), sizeof(wire));
	read_all(serial_fd(s), buf, sizeof(buf));
	assert_memory_equal(buf, wire, sizeof(wire));

	/* Host to dongle, in one write as the H4 writer does. */
	assert_int_equal(write(serial_fd(s), wire, sizeof(wire)), sizeof(wire));
	read_all(p.master, buf, sizeof(buf));
	assert_memory_equal(buf, wire, sizeof(wire));

	s = serial_close(s);
	pty_close(&p);
}

static void test_flush_on_open(void **state)
{
	struct serial_config c;
	struct serial *s;
	uint8_t buf[16];
	struct pty p;
	int keep;

	pty_open(&p);
	/* Garbage that arrives before the open, at whatever rate. */
	keep = open(p.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(keep >= 0);
	assert_int_equal(write(p.master, "garbage", 7), 7);
	usleep(20000);
	cfg_for(&c, p.path, 115200, false);
	assert_int_equal(serial_open(&c, &s), 0);
	assert_int_equal(read_wait(serial_fd(s), buf, sizeof(buf), 100),
			 -EAGAIN);
	assert_int_equal(write(p.master, "x", 1), 1);
	assert_int_equal(read_wait(serial_fd(s), buf, sizeof(buf), 2000), 1);
	assert_int_equal(buf[0], 'x');
	s = serial_close(s);
	close(keep);
	pty_close(&p);
}

static void test_restore_on_close(void **state)
{
	struct serial_config c;
	struct serial *s;
	struct termios cooked, t, after;
	struct k_termios2 k;
	struct pty p;
	int keep, excl = -1;

	pty_open(&p);
	/* A second fd on the tty, opened first, sees the same termios. */
	keep = open(p.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(keep >= 0);
	assert_int_equal(tcgetattr(keep, &cooked), 0);
	cooked.c_iflag = ICRNL | IXON | IXOFF | BRKINT | IMAXBEL;
	cooked.c_oflag = OPOST | ONLCR;
	cooked.c_lflag = ICANON | ECHO | ECHOE | ISIG | IEXTEN;
	cooked.c_cflag = (cooked.c_cflag & ~(CSIZE | CRTSCTS)) | CS8 | CSTOPB |
			 CREAD | HUPCL;
	cooked.c_cc[VMIN] = 5;
	cooked.c_cc[VTIME] = 7;
	assert_int_equal(cfsetspeed(&cooked, B9600), 0);
	assert_int_equal(tcsetattr(keep, TCSANOW, &cooked), 0);
	assert_int_equal(tcgetattr(keep, &cooked), 0);
	assert_true(cooked.c_lflag & ICANON);

	cfg_for(&c, p.path, 1234567, true);
	assert_int_equal(serial_open(&c, &s), 0);
	assert_int_equal(tcgetattr(keep, &t), 0);
	assert_raw(&t, true, 1, 0);
	kget(keep, &k);
	assert_int_equal(k.c_ospeed, 1234567);
	assert_int_equal(ioctl(keep, TIOCGEXCL, &excl), 0);
	assert_int_equal(excl, 1);
	s = serial_close(s);

	assert_int_equal(tcgetattr(keep, &after), 0);
	assert_int_equal(after.c_iflag, cooked.c_iflag);
	assert_int_equal(after.c_oflag, cooked.c_oflag);
	assert_int_equal(after.c_cflag, cooked.c_cflag);
	assert_int_equal(after.c_lflag, cooked.c_lflag);
	assert_memory_equal(after.c_cc, cooked.c_cc, sizeof(after.c_cc));
	assert_int_equal(cfgetospeed(&after), B9600);
	kget(keep, &k);
	assert_int_equal(k.c_ospeed, 9600);
	assert_int_equal(ioctl(keep, TIOCGEXCL, &excl), 0);
	assert_int_equal(excl, 0);
	close(keep);
	pty_close(&p);
}

static void test_exclusive(void **state)
{
	struct serial_config c;
	struct serial *s, *s2 = (struct serial *)0x1;
	struct pty p;
	int fd;

	pty_open(&p);
	cfg_for(&c, p.path, 115200, true);
	assert_int_equal(serial_open(&c, &s), 0);
	/* The lock holds even for root, whom TIOCEXCL lets through. */
	assert_int_equal(serial_open(&c, &s2), -EBUSY);
	assert_ptr_equal(s2, (struct serial *)0x1);
	fd = open(p.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (geteuid() != 0) {
		assert_int_equal(fd, -1);
		assert_int_equal(errno, EBUSY);
	} else {
		print_message("[ INFO     ] root: TIOCEXCL lets open() through "
			      "(fd %d); the flock() refused\n",
			      fd);
	}
	if (fd >= 0) {
		close(fd);
	}
	s = serial_close(s);
	/* Released: a new owner gets it. */
	assert_int_equal(serial_open(&c, &s), 0);
	s = serial_close(s);
	pty_close(&p);
}

static void test_icount_pty(void **state)
{
	struct serial_config c;
	struct serial *s;
	struct serial_icount d, t;
	char line[96];
	struct pty p;

	pty_open(&p);
	cfg_for(&c, p.path, 115200, true);
	assert_int_equal(serial_open(&c, &s), 0);
	memset(&d, 0xa5, sizeof(d));
	memset(&t, 0xa5, sizeof(t));
	assert_int_equal(serial_icount(s, &d, &t), 0);
	assert_false(d.available);
	assert_false(t.available);
	assert_int_equal(d.frame | d.overrun | d.parity | d.brk |
			     d.buf_overrun | d.rx | d.tx,
			 0);
	assert_int_equal(t.frame | t.overrun, 0);
	assert_int_equal(serial_icount(s, NULL, NULL), 0);
	assert_int_equal(serial_icount_format(&t, line, sizeof(line)),
			 strlen("not available on this device"));
	assert_string_equal(line, "not available on this device");
	assert_int_equal(serial_icount(NULL, &d, &t), -EINVAL);
	s = serial_close(s);
	pty_close(&p);
}

static void test_icount_format_text(void **state)
{
	struct serial_icount c = {
	    .available = true,
	    .frame = 1,
	    .overrun = 2,
	    .parity = 3,
	    .brk = 4,
	    .buf_overrun = 5,
	    .rx = 6,
	    .tx = 7,
	};
	const char *want = "frame 1 overrun 2 parity 3 break 4 buf_overrun 5 "
			   "rx 6 tx 7";
	char line[96], tiny[8];

	assert_int_equal(serial_icount_format(&c, line, sizeof(line)),
			 strlen(want));
	assert_string_equal(line, want);
	assert_int_equal(serial_icount_format(&c, tiny, sizeof(tiny)),
			 -ENOBUFS);
	assert_int_equal(serial_icount_format(NULL, line, sizeof(line)),
			 -EINVAL);
	assert_int_equal(serial_icount_format(&c, line, 0), -EINVAL);
}

static void test_rx_buffer_math(void **state)
{
	static const struct {
		uint32_t baud;
		uint32_t latency_us;
		size_t size;
	} rows[] = {
	    /* 11520 B/s * 1 ms = 12 B (x2): the 4 KiB floor. */
	    {115200, 1000, 4096},
	    {115200, 0, 4096},
	    {0, 1000000, 4096},
	    /* 300000 B/s * 10 ms = 3000 B, x2 = 6000 -> 8192. */
	    {3000000, 10000, 8192},
	    /* 300000 B/s * 6.826 ms = 2047.8 -> 2048 B, x2 = 4096 exactly. */
	    {3000000, 6826, 4096},
	    /* 2049 B, x2 = 4098 -> 8192: one byte over the floor. */
	    {3000000, 6830, 8192},
	    /* 400000 B/s * 100 ms = 40000 B, x2 = 80000 -> 131072. */
	    {4000000, 100000, 131072},
	    /* 1 Mbaud, 16.384 ms: 1638.4 -> 1639 B, x2 = 3278 -> 4096. */
	    {1000000, 16384, 4096},
	    /* 1 Mbaud, 20.48 ms: 2048 B, x2 = 4096 exactly. */
	    {1000000, 20480, 4096},
	    /* 1 Mbaud, 20.49 ms: 2049 B, x2 = 4098 -> 8192. */
	    {1000000, 20490, 8192},
	    /* 921600 baud, 50 ms: 4608 B, x2 = 9216 -> 16384. */
	    {921600, 50000, 16384},
	    /* Capped at 1 MiB. */
	    {4000000, 2000000, 1u << 20},
	    {UINT32_MAX, UINT32_MAX, 1u << 20},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		size_t got =
		    serial_rx_buffer_size(rows[i].baud, rows[i].latency_us);

		if (got != rows[i].size) {
			fail_msg("%u baud, %u us: %zu, want %zu", rows[i].baud,
				 rows[i].latency_us, got, rows[i].size);
		}
		/* A power of two within the bounds. */
		assert_int_equal(got & (got - 1), 0);
		assert_true(got >= SERIAL_RX_BUFFER_MIN);
		assert_true(got <= SERIAL_RX_BUFFER_MAX);
	}
}

static void test_io_classification(void **state)
{
	static const struct {
		ssize_t res;
		enum serial_io io;
	} rows[] = {
	    {1, SERIAL_IO_DATA},
	    {4096, SERIAL_IO_DATA},
	    {0, SERIAL_IO_GONE},
	    {-EIO, SERIAL_IO_GONE},
	    {-ENODEV, SERIAL_IO_GONE},
	    {-ENXIO, SERIAL_IO_GONE},
	    {-EBADF, SERIAL_IO_GONE},
	    {-EAGAIN, SERIAL_IO_RETRY},
	    {-EWOULDBLOCK, SERIAL_IO_RETRY},
	    {-EINTR, SERIAL_IO_RETRY},
	    {-ENOMEM, SERIAL_IO_ERROR},
	    {-EFAULT, SERIAL_IO_ERROR},
	    {-EINVAL, SERIAL_IO_ERROR},
	    {-ECANCELED, SERIAL_IO_ERROR},
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		enum serial_io io = serial_io_classify(rows[i].res);

		if (io != rows[i].io) {
			fail_msg("%zd: %s, want %s", rows[i].res,
				 serial_io_name(io),
				 serial_io_name(rows[i].io));
		}
	}
	assert_string_equal(serial_io_name(SERIAL_IO_DATA), "data");
	assert_string_equal(serial_io_name(SERIAL_IO_RETRY), "retry");
	assert_string_equal(serial_io_name(SERIAL_IO_GONE), "gone");
	assert_string_equal(serial_io_name(SERIAL_IO_ERROR), "error");
}

/* The far end goes away: what the loop sees must classify as gone. */
static void test_gone_when_master_closes(void **state)
{
	struct serial_config c;
	struct serial *s;
	struct pollfd pfd;
	uint8_t buf[8];
	struct pty p;
	ssize_t n;

	pty_open(&p);
	cfg_for(&c, p.path, 115200, true);
	assert_int_equal(serial_open(&c, &s), 0);
	pty_close(&p);
	pfd = (struct pollfd){.fd = serial_fd(s), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 2000), 1);
	assert_true(pfd.revents & (POLLHUP | POLLIN | POLLERR));
	n = read(serial_fd(s), buf, sizeof(buf));
	n = n < 0 ? -errno : n;
	print_message("[ INFO     ] read after hang-up: %zd\n", n);
	assert_int_equal(serial_io_classify(n), SERIAL_IO_GONE);
	n = write(serial_fd(s), buf, 1);
	n = n < 0 ? -errno : n;
	assert_int_equal(serial_io_classify(n), SERIAL_IO_GONE);
	/* Closing a vanished tty must not fail or leak. */
	s = serial_close(s);
}

static void test_open_errors(void **state)
{
	struct serial_config c;
	struct serial *s = (struct serial *)0x1;
	struct pty p;

	cfg_for(&c, "/nonexistent/ttyTTWS0", 115200, true);
	assert_int_equal(serial_open(&c, &s), -ENOENT);
	cfg_for(&c, "/dev/null", 115200, true);
	assert_int_equal(serial_open(&c, &s), -ENOTTY);
	assert_ptr_equal(s, (struct serial *)0x1);

	pty_open(&p);
	cfg_for(&c, p.path, 0, true);
	assert_int_equal(serial_open(&c, &s), -EINVAL);
	cfg_for(&c, p.path, SERIAL_BAUD_MAX + 1, true);
	assert_int_equal(serial_open(&c, &s), -EINVAL);
	cfg_for(&c, NULL, 115200, true);
	assert_int_equal(serial_open(&c, &s), -EINVAL);
	cfg_for(&c, "", 115200, true);
	assert_int_equal(serial_open(&c, &s), -EINVAL);
	assert_int_equal(serial_open(NULL, &s), -EINVAL);
	cfg_for(&c, p.path, 115200, true);
	assert_int_equal(serial_open(&c, NULL), -EINVAL);
	assert_ptr_equal(s, (struct serial *)0x1);
	assert_int_equal(serial_fd(NULL), -EINVAL);
	assert_null(serial_get_info(NULL));
	pty_close(&p);
}

/*
 * A tty another line discipline owns (btattach puts N_HCI there) is not
 * ours. N_HCI needs hci_uart; N_NULL (27) is the one a test can attach
 * when the kernel has it.
 */
static void test_foreign_ldisc(void **state)
{
	struct serial_config c;
	struct serial *s = (struct serial *)0x1;
	struct pty p;
	int keep, ld = 27;

	pty_open(&p);
	keep = open(p.path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(keep >= 0);
	if (ioctl(keep, TIOCSETD, &ld) < 0) {
		print_message("[ INFO     ] N_NULL not available (%s): "
			      "skipped\n",
			      strerror(errno));
		close(keep);
		pty_close(&p);
		skip();
	}
	cfg_for(&c, p.path, 115200, true);
	assert_int_equal(serial_open(&c, &s), -EBUSY);
	assert_ptr_equal(s, (struct serial *)0x1);
	close(keep);
	pty_close(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    {"serial/open_pty_raw", test_open_pty_raw, NULL, NULL, NULL},
	    {"serial/rates_read_back", test_rates_read_back, NULL, NULL, NULL},
	    {"serial/vmin_vtime", test_vmin_vtime, NULL, NULL, NULL},
	    {"serial/data_both_ways", test_data_both_ways, NULL, NULL, NULL},
	    {"serial/flush_on_open", test_flush_on_open, NULL, NULL, NULL},
	    {"serial/restore_on_close", test_restore_on_close, NULL, NULL,
	     NULL},
	    {"serial/exclusive", test_exclusive, NULL, NULL, NULL},
	    {"serial/icount_pty", test_icount_pty, NULL, NULL, NULL},
	    {"serial/icount_format_text", test_icount_format_text, NULL, NULL,
	     NULL},
	    {"serial/rx_buffer_math", test_rx_buffer_math, NULL, NULL, NULL},
	    {"serial/io_classification", test_io_classification, NULL, NULL,
	     NULL},
	    {"serial/gone_when_master_closes", test_gone_when_master_closes,
	     NULL, NULL, NULL},
	    {"serial/open_errors", test_open_errors, NULL, NULL, NULL},
	    {"serial/foreign_ldisc", test_foreign_ldisc, NULL, NULL, NULL},
	};

	return cmocka_run_group_tests_name("serial", tests, NULL, NULL);
}
