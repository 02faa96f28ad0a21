/* SPDX-License-Identifier: MIT */
/*
 * ASHA's GATT client: discovery, from the service to the subscription
 * (ashac.h lists the steps). "F" is Core 5.4, Vol 3, Part F (ATT), "G"
 * Part G (GATT).
 *
 * The characteristic UUIDs are the ASHA specification's
 * (source.android.com, Bluetooth > ASHA), checked against BlueZ's
 * src/shared/asha.c and Google Bumble's GATT_ASHA_* constants
 * (bumble/profiles/asha.py uses them).
 */

#include <errno.h>
#include <string.h>

#include "core/ashac.h"
#include "core/ashac_private.h"

/* Little-endian, as ATT carries them; test-ashac parses the text form
 * in the comments and compares. */
static const struct att_uuid chr_uuids[ASHAC_CHR_COUNT] = {
	/* 6333651e-c481-4a3e-9169-7c902aad37bb */
	[ASHAC_CHR_PROPS] = {16, {0xbb, 0x37, 0xad, 0x2a, 0x90, 0x7c, 0x69,
				  0x91, 0x3e, 0x4a, 0x81, 0xc4, 0x1e, 0x65,
				  0x33, 0x63}},
	/* f0d4de7e-4a88-476c-9d9f-1937b0996cc0 */
	[ASHAC_CHR_CONTROL] = {16, {0xc0, 0x6c, 0x99, 0xb0, 0x37, 0x19, 0x9f,
				    0x9d, 0x6c, 0x47, 0x88, 0x4a, 0x7e, 0xde,
				    0xd4, 0xf0}},
	/* 38663f1a-e711-4cac-b641-326b56404837 */
	[ASHAC_CHR_STATUS] = {16, {0x37, 0x48, 0x40, 0x56, 0x6b, 0x32, 0x41,
				   0xb6, 0xac, 0x4c, 0x11, 0xe7, 0x1a, 0x3f,
				   0x66, 0x38}},
	/* 00e4ca9e-ab14-41e4-8823-f9e70c7e91df */
	[ASHAC_CHR_VOLUME] = {16, {0xdf, 0x91, 0x7e, 0x0c, 0xe7, 0xf9, 0x23,
				   0x88, 0xe4, 0x41, 0x14, 0xab, 0x9e, 0xca,
				   0xe4, 0x00}},
	/* 2d410339-82b6-42aa-b34e-e2e01df8cc1a */
	[ASHAC_CHR_PSM] = {16, {0x1a, 0xcc, 0xf8, 0x1d, 0xe0, 0xe2, 0x4e,
				0xb3, 0xaa, 0x42, 0xb6, 0x82, 0x39, 0x03, 0x41,
				0x2d}},
};

struct chr_rule {
	const char *name;
	uint8_t props; /* the properties this client uses */
	const char *missing;
	const char *cannot;
};

static const struct chr_rule chr_rules[ASHAC_CHR_COUNT] = {
	[ASHAC_CHR_PROPS] = {"ReadOnlyProperties", ATT_PROP_READ,
			     "the ASHA service has no ReadOnlyProperties "
			     "characteristic",
			     "ReadOnlyProperties cannot be read"},
	[ASHAC_CHR_CONTROL] = {"AudioControlPoint", ATT_PROP_WRITE,
			       "the ASHA service has no AudioControlPoint "
			       "characteristic",
			       "AudioControlPoint cannot be written with a "
			       "Write Request"},
	[ASHAC_CHR_STATUS] = {"AudioStatus", ATT_PROP_READ | ATT_PROP_NOTIFY,
			      "the ASHA service has no AudioStatus "
			      "characteristic",
			      "AudioStatus cannot be read and notified"},
	[ASHAC_CHR_VOLUME] = {"Volume", ATT_PROP_WRITE_NO_RSP,
			      "the ASHA service has no Volume characteristic",
			      "Volume cannot be written without response"},
	[ASHAC_CHR_PSM] = {"LE_PSM_OUT", ATT_PROP_READ,
			   "the ASHA service has no LE_PSM_OUT "
			   "characteristic",
			   "LE_PSM_OUT cannot be read"},
};

/* Why an Error Response ended each discovery step. */
static const char *const refused[] = {
	[ASHAC_SERVICE] = "the hearing aid refused ASHA service discovery "
			  "(Find By Type Value)",
	[ASHAC_CHARS] = "the hearing aid refused characteristic discovery "
			"(Read By Type)",
	[ASHAC_CCCD] = "the hearing aid refused descriptor discovery (Find "
		       "Information)",
	[ASHAC_PROPS] = "the hearing aid refused to read ReadOnlyProperties",
	[ASHAC_PSM] = "the hearing aid refused to read LE_PSM_OUT",
	[ASHAC_SUBSCRIBE] = "the hearing aid refused to enable AudioStatus "
			    "notifications",
};

static const char *const no_cccd = "AudioStatus has no Client "
				   "Characteristic Configuration descriptor";

const char *ashac_chr_name(enum ashac_chr_id id)
{
	return (unsigned)id < ASHAC_CHR_COUNT ? chr_rules[id].name : NULL;
}

const struct att_uuid *ashac_chr_uuid(enum ashac_chr_id id)
{
	return (unsigned)id < ASHAC_CHR_COUNT ? &chr_uuids[id] : NULL;
}

/* ---- discovery requests --------------------------------------------- */

void ashac_disc_service(struct ashac *c, uint64_t now_ns)
{
	static const uint8_t asha16[2] = {ASHA_SERVICE_UUID16 & 0xff,
					  ASHA_SERVICE_UUID16 >> 8};
	struct att_pdu p = {.opcode = ATT_FIND_BY_TYPE_REQ};

	/* G 4.4.2: the whole database, type Primary Service, value the
	 * service's UUID. */
	p.fbt.range.start = 0x0001;
	p.fbt.range.end = 0xffff;
	p.fbt.type = ATT_UUID_PRIMARY_SERVICE;
	p.fbt.value = asha16;
	p.fbt.value_len = sizeof(asha16);
	c->state = ASHAC_SERVICE;
	ashac_request(c, &p, now_ns);
}

static void ask_chars(struct ashac *c, uint64_t now_ns)
{
	struct att_pdu p = {.opcode = ATT_READ_BY_TYPE_REQ};

	p.type_req.range = c->ask;
	att_uuid16(ATT_UUID_CHARACTERISTIC, &p.type_req.type);
	c->state = ASHAC_CHARS;
	ashac_request(c, &p, now_ns);
}

static void ask_cccd(struct ashac *c, uint64_t now_ns)
{
	struct att_pdu p = {.opcode = ATT_FIND_INFO_REQ};

	p.range = c->ask;
	c->state = ASHAC_CCCD;
	ashac_request(c, &p, now_ns);
}

static void ask_read(struct ashac *c, enum ashac_state next, uint16_t handle,
		     uint64_t now_ns)
{
	struct att_pdu p = {.opcode = ATT_READ_REQ};

	p.hv.handle = handle;
	c->state = next;
	ashac_request(c, &p, now_ns);
}

static void ask_subscribe(struct ashac *c, uint64_t now_ns)
{
	static const uint8_t on[2] = {ATT_CCCD_NOTIFY & 0xff,
				      ATT_CCCD_NOTIFY >> 8};
	struct att_pdu p = {.opcode = ATT_WRITE_REQ};

	p.hv.handle = c->cccd;
	p.hv.value = on;
	p.hv.value_len = sizeof(on);
	c->state = ASHAC_SUBSCRIBE;
	ashac_request(c, &p, now_ns);
}

/* ---- discovery responses -------------------------------------------- */

static void on_service(struct ashac *c, const struct att_pdu *p,
		       uint64_t now_ns)
{
	struct att_range all = {0x0001, 0xffff};
	struct att_group g;
	struct att_iter it;

	/* The first instance: an aid has one ASHA service. */
	if (att_iter_init(&it, p, all) < 0 || att_iter_group(&it, &g) != 1) {
		ashac_fail(c, -EPROTO, "the hearing aid's service discovery "
				       "response is malformed");
		return;
	}
	c->svc.start = g.found;
	c->svc.end = g.group_end;
	c->ask = c->svc;
	ask_chars(c, now_ns);
}

/* Keep the first declaration of each ASHA UUID, and the handle of the
 * declaration after AudioStatus's: its descriptors end before it. */
static void record_chr(struct ashac *c, const struct att_chr *k)
{
	const struct ashac_chr *st = &c->chr[ASHAC_CHR_STATUS];
	unsigned id;

	if (st->decl && !c->status_next && k->decl > st->decl) {
		c->status_next = k->decl;
	}
	for (id = 0; id < ASHAC_CHR_COUNT; id++) {
		if (!c->chr[id].decl && att_uuid_eq(&k->uuid, &chr_uuids[id])) {
			c->chr[id].decl = k->decl;
			c->chr[id].value = k->value;
			c->chr[id].props = k->props;
			return;
		}
	}
}

/* Every characteristic seen: check them, then look for the CCCD. */
static void chars_done(struct ashac *c, uint64_t now_ns)
{
	const struct ashac_chr *st = &c->chr[ASHAC_CHR_STATUS];
	uint32_t start, end;
	unsigned id;

	for (id = 0; id < ASHAC_CHR_COUNT; id++) {
		if (!c->chr[id].decl) {
			ashac_fail(c, -ENOENT, chr_rules[id].missing);
			return;
		}
		if ((c->chr[id].props & chr_rules[id].props) !=
		    chr_rules[id].props) {
			ashac_fail(c, -ENOTSUP, chr_rules[id].cannot);
			return;
		}
	}
	/* G 3.3.3: descriptors follow the value, up to the next
	 * declaration or the service's end. */
	start = (uint32_t)st->value + 1;
	end = c->status_next ? (uint32_t)c->status_next - 1 : c->svc.end;
	if (start > end) {
		ashac_fail(c, -ENOENT, no_cccd);
		return;
	}
	c->ask.start = (uint16_t)start;
	c->ask.end = (uint16_t)end;
	ask_cccd(c, now_ns);
}

static void on_chars(struct ashac *c, const struct att_pdu *p,
		     uint64_t now_ns)
{
	struct att_data d;
	struct att_chr k;
	struct att_iter it;
	uint16_t last = 0;
	int r;

	r = att_iter_init(&it, p, c->ask);
	while (r == 0 && (r = att_iter_data(&it, &d)) == 1) {
		r = att_chr_parse(&d, &k);
		if (r == 0 && k.value > c->svc.end) {
			r = -ERANGE;
		}
		if (r == 0) {
			record_chr(c, &k);
			last = k.decl;
		}
	}
	if (r < 0 || last == 0) {
		ashac_fail(c, -EPROTO, "the hearing aid's characteristic "
				       "discovery response is malformed");
		return;
	}
	/* G 4.6.1: go on after the last declaration until the end. */
	if (last >= c->svc.end) {
		chars_done(c, now_ns);
		return;
	}
	c->ask.start = (uint16_t)(last + 1);
	ask_chars(c, now_ns);
}

static void on_cccd(struct ashac *c, const struct att_pdu *p,
		    uint64_t now_ns)
{
	struct att_uuid cccd;
	struct att_info info;
	struct att_iter it;
	uint16_t last = 0;
	int r;

	att_uuid16(ATT_UUID_CCCD, &cccd);
	r = att_iter_init(&it, p, c->ask);
	while (r == 0 && (r = att_iter_info(&it, &info)) == 1) {
		last = info.handle;
		if (att_uuid_eq(&info.type, &cccd)) {
			c->cccd = info.handle;
			ask_read(c, ASHAC_PROPS, c->chr[ASHAC_CHR_PROPS].value,
				 now_ns);
			return;
		}
		r = 0;
	}
	if (r < 0 || last == 0) {
		ashac_fail(c, -EPROTO, "the hearing aid's descriptor "
				       "discovery response is malformed");
		return;
	}
	if (last >= c->ask.end) {
		ashac_fail(c, -ENOENT, no_cccd);
		return;
	}
	c->ask.start = (uint16_t)(last + 1);
	ask_cccd(c, now_ns);
}

static void on_value(struct ashac *c, const struct att_pdu *p,
		     uint64_t now_ns)
{
	const char *why = NULL;
	int r;

	if (c->state == ASHAC_PROPS) {
		r = asha_props_parse(p->value.value, p->value.value_len,
				     &c->props, &why);
		if (r < 0) {
			ashac_fail(c, r, why);
			return;
		}
		c->have_props = true;
		ask_read(c, ASHAC_PSM, c->chr[ASHAC_CHR_PSM].value, now_ns);
		return;
	}
	r = asha_psm_parse(p->value.value, p->value.value_len, &c->psm);
	if (r < 0) {
		ashac_fail(c, r, r == -EMSGSIZE ?
				   "LE_PSM_OUT is not 2 octets long" :
				   "LE_PSM_OUT is outside the LE SPSM range "
				   "0x0001-0x00ff");
		return;
	}
	ask_subscribe(c, now_ns);
}

/* An Error Response to a discovery step: the end of a listing, or a
 * failure. */
static void on_error(struct ashac *c, const struct att_error *e,
		     uint64_t now_ns)
{
	bool none = e->code == ATT_E_ATTRIBUTE_NOT_FOUND;

	switch (c->state) {
	case ASHAC_MTU:
		/* A server without Exchange MTU: ATT_MTU stays 23. */
		ashac_disc_service(c, now_ns);
		return;
	case ASHAC_SERVICE:
		if (none) {
			ashac_fail(c, -ENOENT, "the hearing aid has no ASHA "
					       "service (0xFDF0)");
			return;
		}
		break;
	case ASHAC_CHARS:
		if (none) {
			chars_done(c, now_ns);
			return;
		}
		break;
	case ASHAC_CCCD:
		if (none) {
			ashac_fail(c, -ENOENT, no_cccd);
			return;
		}
		break;
	case ASHAC_PROPS:
	case ASHAC_PSM:
	case ASHAC_SUBSCRIBE:
	case ASHAC_IDLE:
	case ASHAC_READY:
	case ASHAC_FAILED:
		break;
	}
	ashac_fail(c, att_error_errno(e->code),
		   c->state < ASHAC_READY && refused[c->state] ?
			   refused[c->state] :
			   "the hearing aid answered with an Error Response");
}

void ashac_disc_response(struct ashac *c, const struct att_pdu *p,
			uint64_t now_ns)
{
	if (p->opcode == ATT_ERROR_RSP) {
		on_error(c, &p->error, now_ns);
		return;
	}
	switch (c->state) {
	case ASHAC_MTU:
		ashac_take_mtu(c, p->mtu);
		ashac_disc_service(c, now_ns);
		break;
	case ASHAC_SERVICE:
		on_service(c, p, now_ns);
		break;
	case ASHAC_CHARS:
		on_chars(c, p, now_ns);
		break;
	case ASHAC_CCCD:
		on_cccd(c, p, now_ns);
		break;
	case ASHAC_PROPS:
	case ASHAC_PSM:
		on_value(c, p, now_ns);
		break;
	case ASHAC_SUBSCRIBE:
		c->state = ASHAC_READY;
		c->ops->ready(c->user, &c->props, c->psm);
		ashac_ctl_pump(c, now_ns);
		break;
	case ASHAC_IDLE:
	case ASHAC_READY:
	case ASHAC_FAILED:
		break;
	}
}
