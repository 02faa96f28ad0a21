/* SPDX-License-Identifier: MIT */
#include "ctl/props.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ctl/args.h"

static int ctl_props_dict_entry(sd_bus_message *m, struct json_object *into);

union ctl_basic {
	uint8_t y;
	int b; /* sd-bus reads a boolean into an int */
	int16_t n;
	uint16_t q;
	int32_t i;
	uint32_t u;
	int64_t x;
	uint64_t t;
	double d;
	const char *s;
};

static int ctl_props_basic(sd_bus_message *m, char type,
			   struct json_object **ret)
{
	union ctl_basic v;
	int r = sd_bus_message_read_basic(m, type, &v);

	if (r < 0) {
		return r;
	}
	switch (type) {
	case 'y':
		*ret = json_object_new_int64(v.y);
		break;
	case 'b':
		*ret = json_object_new_boolean(v.b);
		break;
	case 'n':
		*ret = json_object_new_int64(v.n);
		break;
	case 'q':
		*ret = json_object_new_int64(v.q);
		break;
	case 'i':
		*ret = json_object_new_int64(v.i);
		break;
	case 'u':
		*ret = json_object_new_int64(v.u);
		break;
	case 'x':
		*ret = json_object_new_int64(v.x);
		break;
	case 't':
		*ret = json_object_new_uint64(v.t);
		break;
	case 'd':
		*ret = json_object_new_double(v.d);
		break;
	case 'h':
		*ret = json_object_new_int64(v.i);
		break;
	case 's':
	case 'o':
	case 'g':
		*ret = json_object_new_string(v.s);
		break;
	default:
		return -EBADMSG;
	}
	return *ret ? 0 : -ENOMEM;
}

/* One {key value} of an open a{...}: a member of into, the key as text. */
static int ctl_props_dict_entry(sd_bus_message *m, struct json_object *into)
{
	struct json_object *key = NULL, *v = NULL;
	const char *contents;
	char type, text[64];
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r <= 0) {
		return r < 0 ? r : -EBADMSG;
	}
	r = sd_bus_message_enter_container(m, SD_BUS_TYPE_DICT_ENTRY, contents);
	if (r < 0) {
		return r;
	}
	r = ctl_props_value(m, &key);
	if (r >= 0) {
		r = ctl_props_value(m, &v);
	}
	if (r >= 0) {
		r = sd_bus_message_exit_container(m);
	}
	if (r >= 0) {
		/* Integer keys (a{us}) become their decimal text. */
		snprintf(text, sizeof(text), "%s", json_object_get_string(key));
		json_object_object_add(into, text, v);
		v = NULL;
	}
	json_object_put(key);
	json_object_put(v);
	return r < 0 ? r : 0;
}

/* The members of an open array or struct, until its end. */
static int ctl_props_members(sd_bus_message *m, bool dict,
			     struct json_object *into)
{
	int r;

	for (;;) {
		struct json_object *v;

		r = sd_bus_message_at_end(m, 0);
		if (r != 0) {
			return r < 0 ? r : 0;
		}
		if (dict) {
			r = ctl_props_dict_entry(m, into);
		} else {
			r = ctl_props_value(m, &v);
			if (r >= 0) {
				json_object_array_add(into, v);
			}
		}
		if (r < 0) {
			return r;
		}
	}
}

int ctl_props_value(sd_bus_message *m, struct json_object **ret)
{
	struct json_object *o = NULL;
	const char *contents;
	bool dict;
	char type;
	int r;

	r = sd_bus_message_peek_type(m, &type, &contents);
	if (r <= 0) {
		return r < 0 ? r : -EBADMSG;
	}
	if (type != SD_BUS_TYPE_ARRAY && type != SD_BUS_TYPE_STRUCT &&
	    type != SD_BUS_TYPE_VARIANT) {
		return ctl_props_basic(m, type, ret);
	}
	r = sd_bus_message_enter_container(m, type, contents);
	if (r < 0) {
		return r;
	}
	if (type == SD_BUS_TYPE_VARIANT) {
		r = ctl_props_value(m, &o);
	} else {
		/* a{s...}: a JSON object; any other array or a struct: an
		 * array. */
		dict = type == SD_BUS_TYPE_ARRAY && contents[0] == '{';
		o = dict ? json_object_new_object() : json_object_new_array();
		r = o ? ctl_props_members(m, dict, o) : -ENOMEM;
	}
	if (r >= 0) {
		r = sd_bus_message_exit_container(m);
	}
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*ret = o;
	return 0;
}

int ctl_props_dict(sd_bus_message *m, struct json_object *obj)
{
	int r = sd_bus_message_enter_container(m, SD_BUS_TYPE_ARRAY, "{sv}");

	if (r < 0) {
		return r;
	}
	r = ctl_props_members(m, true, obj);
	if (r < 0) {
		return r;
	}
	return sd_bus_message_exit_container(m);
}

int ctl_props_get_all(struct ctl_bus *b, const char *cmd, const char *path,
		      const char *iface, struct json_object **ret)
{
	sd_bus_message *reply = NULL;
	struct json_object *o;
	int r;

	r = ctl_bus_call(b, cmd, path, CTL_IFACE_PROPS, "GetAll", &reply, "s",
			 iface);
	if (r != 0) {
		return r;
	}
	o = json_object_new_object();
	r = o ? ctl_props_dict(reply, o) : -ENOMEM;
	sd_bus_message_unref(reply);
	if (r < 0) {
		json_object_put(o);
		return ctl_bus_bad_reply(cmd, "GetAll", r);
	}
	*ret = o;
	return 0;
}

int ctl_props_get(struct ctl_bus *b, const char *cmd, const char *path,
		  const char *iface, const char *name, struct json_object **ret)
{
	sd_bus_message *reply = NULL;
	int r;

	r = ctl_bus_call(b, cmd, path, CTL_IFACE_PROPS, "Get", &reply, "ss",
			 iface, name);
	if (r != 0) {
		return r;
	}
	r = ctl_props_value(reply, ret);
	sd_bus_message_unref(reply);
	return r < 0 ? ctl_bus_bad_reply(cmd, "Get", r) : 0;
}
