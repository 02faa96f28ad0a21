/* SPDX-License-Identifier: MIT */
/*
 * core/asha: ReadOnlyProperties as Google's Bumble serves them (struct
 * "<BB8sBH2sH", bumble/profiles/asha.py) parsed field by field, every
 * refusal with its reason, the pair check (one HiSyncId, one left and
 * one right), LE_PSM_OUT's range, AudioStatus, and the control point's
 * writes octet by octet; every length of arbitrary bytes refused
 * cleanly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/asha.h"

static const uint8_t hisync[8] = {0x0a, 0x01, 1, 2, 3, 4, 5, 6};

/* The 17 octets: version, capabilities, HiSyncId, feature map, render
 * delay (ms), 2 reserved, codecs. */
static void props(uint8_t *p, uint8_t version, uint8_t caps, uint8_t feat,
		  uint16_t delay_ms, uint16_t codecs)
{
	p[0] = version;
	p[1] = caps;
	memcpy(p + 2, hisync, 8);
	p[10] = feat;
	p[11] = (uint8_t)delay_ms;
	p[12] = (uint8_t)(delay_ms >> 8);
	p[13] = p[14] = 0;
	p[15] = (uint8_t)codecs;
	p[16] = (uint8_t)(codecs >> 8);
}

static void test_props_bumble(void **state)
{
	uint8_t p[ASHA_PROPS_SIZE];
	struct asha_props l, r;
	const char *why = "unset";

	(void)state;
	props(p, 1, 0x02, 0x01, 300, 0x0002); /* Bumble's left */
	assert_int_equal(asha_props_parse(p, sizeof(p), &l, &why), 0);
	assert_null(why);
	assert_false(l.right);
	assert_true(l.binaural);
	assert_false(l.csis);
	assert_memory_equal(l.hisyncid, hisync, 8);
	assert_int_equal(l.company_id, 0x010a);
	assert_int_equal(l.render_delay_ms, 300);
	assert_int_equal(l.codecs, 0x0002);
	props(p, 1, 0x07, 0x01, 0x1234, 0x0006); /* right, CSIS, 24 kHz too */
	assert_int_equal(asha_props_parse(p, sizeof(p), &r, NULL), 0);
	assert_true(r.right);
	assert_true(r.csis);
	assert_int_equal(r.render_delay_ms, 0x1234);
	assert_int_equal(asha_props_pair(&l, &r), 0);
	assert_int_equal(asha_props_pair(&r, &l), 0);
}

static void test_props_refused(void **state)
{
	uint8_t p[ASHA_PROPS_SIZE + 1];
	struct asha_props a;
	const char *why;

	(void)state;
	props(p, 1, 0x02, 0x01, 0, 0x0002);
	why = NULL;
	assert_int_equal(asha_props_parse(p, 16, &a, &why), -EMSGSIZE);
	assert_non_null(strstr(why, "17 octets"));
	assert_int_equal(asha_props_parse(p, 18, &a, &why), -EMSGSIZE);
	assert_int_equal(asha_props_parse(NULL, 17, &a, &why), -EMSGSIZE);
	props(p, 2, 0x02, 0x01, 0, 0x0002);
	assert_int_equal(asha_props_parse(p, 17, &a, &why), -EPROTONOSUPPORT);
	assert_non_null(strstr(why, "version"));
	props(p, 1, 0x02, 0x00, 0, 0x0002);
	assert_int_equal(asha_props_parse(p, 17, &a, &why), -ENOTSUP);
	assert_non_null(strstr(why, "FeatureMap"));
	props(p, 1, 0x02, 0x01, 0, 0x0004); /* G.722 at 24 kHz only */
	assert_int_equal(asha_props_parse(p, 17, &a, &why), -ENOTSUP);
	assert_non_null(strstr(why, "G.722"));
	/* Reserved bits are a later version's, not a reason to refuse. */
	props(p, 1, 0xfa, 0xff, 0, 0xfffe);
	assert_int_equal(asha_props_parse(p, 17, &a, &why), 0);
	assert_false(a.right);
	assert_true(a.binaural);
}

static void test_pair(void **state)
{
	uint8_t p[ASHA_PROPS_SIZE];
	struct asha_props l, r, other, mono, l2;
	char hex[17];

	(void)state;
	props(p, 1, 0x02, 1, 0, 2);
	asha_props_parse(p, sizeof(p), &l, NULL);
	props(p, 1, 0x03, 1, 0, 2);
	asha_props_parse(p, sizeof(p), &r, NULL);
	other = r;
	other.hisyncid[7] ^= 0x80;
	assert_int_equal(asha_props_pair(&l, &other), -EXDEV);
	mono = r;
	mono.binaural = false;
	assert_int_equal(asha_props_pair(&l, &mono), -EINVAL);
	l2 = l;
	assert_int_equal(asha_props_pair(&l, &l2), -EEXIST);
	asha_hisyncid_format(l.hisyncid, hex);
	assert_string_equal(hex, "0a01010203040506");
}

static void test_psm_status(void **state)
{
	const uint8_t psm_ok[] = {0x80, 0x00}, psm_zero[] = {0, 0},
		      psm_big[] = {0x00, 0x01}, psm_long[] = {0x80, 0, 0};
	uint8_t b;
	uint16_t psm = 0;
	int8_t st;

	(void)state;
	assert_int_equal(asha_psm_parse(psm_ok, 2, &psm), 0);
	assert_int_equal(psm, 0x80);
	assert_int_equal(asha_psm_parse(psm_zero, 2, &psm), -ERANGE);
	assert_int_equal(asha_psm_parse(psm_big, 2, &psm), -ERANGE);
	assert_int_equal(asha_psm_parse(psm_long, 3, &psm), -EMSGSIZE);
	assert_int_equal(asha_psm_parse(psm_ok, 1, &psm), -EMSGSIZE);
	assert_int_equal(psm, 0x80);

	b = 0x00;
	assert_int_equal(asha_status_parse(&b, 1, &st), 0);
	assert_int_equal(st, ASHA_STATUS_OK);
	b = 0xff;
	assert_int_equal(asha_status_parse(&b, 1, &st), 0);
	assert_int_equal(st, ASHA_STATUS_UNKNOWN_COMMAND);
	assert_string_equal(asha_status_name(st), "unknown command");
	b = 0xfe;
	assert_int_equal(asha_status_parse(&b, 1, &st), 0);
	assert_string_equal(asha_status_name(st), "illegal parameters");
	b = 0x05;
	assert_int_equal(asha_status_parse(&b, 1, &st), -EPROTO);
	assert_int_equal(st, 5);
	assert_int_equal(asha_status_parse(&b, 2, &st), -EMSGSIZE);
	assert_int_equal(asha_status_parse(&b, 0, &st), -EMSGSIZE);
}

static void test_control_point(void **state)
{
	const uint8_t start[] = {1, 1, 3, 0xec, 1}, start_mute[] = {1, 1, 2,
								   0x80, 0};
	uint8_t buf[8];
	size_t n = 0;

	(void)state;
	assert_int_equal(asha_encode_start(ASHA_CODEC_G722_16K,
					   ASHA_AUDIO_MEDIA, -20, true, buf,
					   sizeof(buf), &n),
			 0);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, start, 5);
	assert_int_equal(asha_encode_start(ASHA_CODEC_G722_16K,
					   ASHA_AUDIO_PHONE_CALL, -128, false,
					   buf, 5, &n),
			 0);
	assert_memory_equal(buf, start_mute, 5);
	assert_int_equal(asha_encode_start(2, ASHA_AUDIO_MEDIA, 0, true, buf,
					   sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(asha_encode_start(1, (enum asha_audio_type)4, 0, true,
					   buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(asha_encode_start(1, ASHA_AUDIO_MEDIA, 1, true, buf,
					   sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(asha_encode_start(1, ASHA_AUDIO_MEDIA, -129, true,
					   buf, sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(asha_encode_start(1, ASHA_AUDIO_MEDIA, 0, true, buf,
					   4, &n),
			 -ENOSPC);

	assert_int_equal(asha_encode_stop(buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(buf[0], 2);
	assert_int_equal(asha_encode_stop(buf, 0, &n), -ENOSPC);

	assert_int_equal(asha_encode_status(ASHA_UPDATE_OTHER_CONNECTED, buf,
					    sizeof(buf), &n),
			 0);
	assert_int_equal(n, 2);
	assert_int_equal(buf[0], 3);
	assert_int_equal(buf[1], 2);
	assert_int_equal(asha_encode_status((enum asha_update)0, buf,
					    sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(asha_encode_status((enum asha_update)4, buf,
					    sizeof(buf), &n),
			 -EINVAL);
	assert_int_equal(asha_encode_status(ASHA_UPDATE_CONN_PARAMS, buf, 1,
					    &n),
			 -ENOSPC);

	assert_int_equal(asha_encode_volume(-128, buf, 1, &n), 0);
	assert_int_equal(buf[0], 0x80);
	assert_int_equal(asha_encode_volume(0, buf, 1, &n), 0);
	assert_int_equal(buf[0], 0x00);
	assert_int_equal(asha_encode_volume(5, buf, 1, &n), -EINVAL);
	assert_int_equal(asha_encode_volume(-1, buf, 0, &n), -ENOSPC);
}

/* Arbitrary bytes of every length up to 40: one of the documented
 * answers, never anything else (ASan and UBSan watch the reads). */
static void test_hostile(void **state)
{
	uint8_t buf[40];
	struct asha_props a;
	uint32_t x = 0x2545f491;
	unsigned len, round, i;
	uint16_t psm;
	int8_t st;
	int r;

	(void)state;
	for (round = 0; round < 2000; round++) {
		for (i = 0; i < sizeof(buf); i++) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			buf[i] = (uint8_t)x;
		}
		len = round % (sizeof(buf) + 1);
		r = asha_props_parse(buf, len, &a, NULL);
		assert_true(r == 0 || r == -EMSGSIZE ||
			    r == -EPROTONOSUPPORT || r == -ENOTSUP);
		if (len != ASHA_PROPS_SIZE) {
			assert_int_equal(r, -EMSGSIZE);
		}
		r = asha_psm_parse(buf, len, &psm);
		assert_true(r == 0 || r == -EMSGSIZE || r == -ERANGE);
		r = asha_status_parse(buf, len, &st);
		assert_true(r == 0 || r == -EMSGSIZE || r == -EPROTO);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_props_bumble),
	    cmocka_unit_test(test_props_refused),
	    cmocka_unit_test(test_pair),
	    cmocka_unit_test(test_psm_status),
	    cmocka_unit_test(test_control_point),
	    cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
