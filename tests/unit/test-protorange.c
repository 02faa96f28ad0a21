/* SPDX-License-Identifier: MIT */
/*
 * The values an earbud may send (core/protorange): each row one message
 * and the field it must be refused for, or NULL when it is in range.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/macro.h"
#include "core/protorange.h"

struct row {
	const char *name;
	uint32_t ci_us, clock_res_ns;
	uint8_t status;
	const char *field; /* NULL: accepted */
};

static const struct row hello_rows[] = {
	{ "ci unknown", 0, 1000, LINK_HELLO_OK, NULL },
	{ "ci 7.5 ms", 7500, 1000, LINK_HELLO_OK, NULL },
	{ "ci 4 s", 4000000, 1000, LINK_HELLO_OK, NULL },
	{ "ci 7499 us", 7499, 1000, LINK_HELLO_OK, "ci_us" },
	{ "ci 1 us", 1, 1000, LINK_HELLO_OK, "ci_us" },
	{ "ci 5 s", 5000000, 1000, LINK_HELLO_OK, "ci_us" },
	{ "ci 2^32-1", 0xffffffffu, 1000, LINK_HELLO_OK, "ci_us" },
	{ "1 ns tick", 7500, 1, LINK_HELLO_OK, NULL },
	{ "32.768 kHz tick", 7500, 30518, LINK_HELLO_OK, NULL },
	{ "1 ms tick", 7500, 1000000, LINK_HELLO_OK, NULL },
	{ "no tick", 7500, 0, LINK_HELLO_OK, "clock_res_ns" },
	{ "tick over 1 ms", 7500, 1000001, LINK_HELLO_OK, "clock_res_ns" },
	/* A refusal carries no session, so no clock. */
	{ "refused, no tick", 7500, 0, LINK_HELLO_E_CODEC, NULL },
	{ "refused, bad ci", 1, 0, LINK_HELLO_E_CODEC, "ci_us" },
};

static void protorange_hello_ack(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(hello_rows); i++) {
		const struct row *w = &hello_rows[i];
		struct link_msg m = { 0 };
		const char *field = "untouched";
		int r;

		m.hdr.type = LINK_HELLO_ACK;
		m.hello_ack.version = LINK_VERSION;
		m.hello_ack.codec = LINK_CODEC_LC3;
		m.hello_ack.status = w->status;
		m.hello_ack.ci_us = w->ci_us;
		m.hello_ack.clock_res_ns = w->clock_res_ns;
		r = protorange_check(&m, &field);
		if (w->field) {
			if (r != -EDOM || strcmp(field, w->field) != 0) {
				fail_msg("%s: got %d '%s', want -EDOM '%s'",
					 w->name, r, field, w->field);
			}
		} else if (r != 0) {
			fail_msg("%s: refused (%s)", w->name, field);
		}
	}
}

/* An accepting HELLO_ACK names a version and a codec this side has. */
struct choice_row {
	const char *name;
	uint8_t version, codec, status;
	const char *field; /* NULL: accepted */
};

static const struct choice_row choice_rows[] = {
	{ "v1 pcm", 1, LINK_CODEC_PCM_S16, LINK_HELLO_OK, NULL },
	{ "v1 lc3", 1, LINK_CODEC_LC3, LINK_HELLO_OK, NULL },
	{ "version 0", 0, LINK_CODEC_LC3, LINK_HELLO_OK, "version" },
	{ "version 2", 2, LINK_CODEC_LC3, LINK_HELLO_OK, "version" },
	{ "version 255", 255, LINK_CODEC_LC3, LINK_HELLO_OK, "version" },
	{ "codec none", 1, LINK_CODEC_NONE, LINK_HELLO_OK, "codec" },
	{ "codec 3", 1, 3, LINK_HELLO_OK, "codec" },
	{ "codec 255", 1, 255, LINK_HELLO_OK, "codec" },
	/* A refusal says codec none, and may say any version. */
	{ "refused, codec none", 0, LINK_CODEC_NONE, LINK_HELLO_E_VERSION,
	  NULL },
};

static void protorange_hello_ack_choice(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(choice_rows); i++) {
		const struct choice_row *w = &choice_rows[i];
		struct link_msg m = { 0 };
		const char *field = "untouched";
		int r;

		m.hdr.type = LINK_HELLO_ACK;
		m.hello_ack.version = w->version;
		m.hello_ack.codec = w->codec;
		m.hello_ack.status = w->status;
		m.hello_ack.ci_us = 7500;
		m.hello_ack.clock_res_ns = 1000;
		r = protorange_check(&m, &field);
		if (w->field) {
			if (r != -EDOM || strcmp(field, w->field) != 0) {
				fail_msg("%s: got %d '%s', want -EDOM '%s'",
					 w->name, r, field, w->field);
			}
		} else if (r != 0) {
			fail_msg("%s: refused (%s)", w->name, field);
		}
	}
}

static void protorange_status(void **state)
{
	struct link_msg m = { 0 };
	const char *field = NULL;
	unsigned b;

	(void)state;
	m.hdr.type = LINK_STATUS;
	for (b = 0; b <= 255; b++) {
		m.status.battery_pct = (uint8_t)b;
		if (b <= 100 || b == 255) {
			assert_int_equal(protorange_check(&m, NULL), 0);
		} else {
			assert_int_equal(protorange_check(&m, &field), -EDOM);
			assert_string_equal(field, "battery_pct");
		}
	}
}

/*
 * CONN_UPDATE ci_us: 7.5 ms .. 4 s, and unlike HELLO_ACK never 0 (the
 * message exists to say the new value). The instant is not ranged.
 */
static void protorange_conn_update(void **state)
{
	static const struct {
		uint32_t ci_us;
		uint64_t instant_ear_ns;
		bool ok;
	} rows[] = {
		{ 7500, 0, true },
		{ 30000, 123456789, true },
		{ 4000000, UINT64_MAX, true },
		{ 0, 1000, false },
		{ 1, 1000, false },
		{ 7499, 1000, false },
		{ 4000001, 1000, false },
		{ 5000000, 1000, false },
		{ 0xffffffffu, 1000, false },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		struct link_msg m = { 0 };
		const char *field = "untouched";
		int r;

		m.hdr.type = LINK_CONN_UPDATE;
		m.conn_update.ci_us = rows[i].ci_us;
		m.conn_update.instant_ear_ns = rows[i].instant_ear_ns;
		r = protorange_check(&m, &field);
		if (rows[i].ok) {
			if (r != 0) {
				fail_msg("ci_us %u: refused (%s)",
					 (unsigned)rows[i].ci_us, field);
			}
			assert_string_equal(field, "untouched");
		} else {
			if (r != -EDOM || strcmp(field, "ci_us") != 0) {
				fail_msg("ci_us %u: got %d '%s', want -EDOM",
					 (unsigned)rows[i].ci_us, r, field);
			}
		}
	}
}

/* Messages without ranged fields pass as they are. */
static void protorange_others(void **state)
{
	static const uint8_t types[] = { LINK_SYNC_RESP, LINK_SYNC_FOLLOWUP,
					 LINK_RENDER_REPORT };
	struct link_msg m;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(types); i++) {
		memset(&m, 0xff, sizeof(m));
		m.hdr.type = types[i];
		assert_int_equal(protorange_check(&m, NULL), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protorange_hello_ack),
		cmocka_unit_test(protorange_hello_ack_choice),
		cmocka_unit_test(protorange_status),
		cmocka_unit_test(protorange_conn_update),
		cmocka_unit_test(protorange_others),
	};

	return cmocka_run_group_tests_name("protorange", tests, NULL, NULL);
}
