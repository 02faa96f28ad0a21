/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ctl/cmd.h"

/*
 * Set and Reload answer with a note: "" or "needs restart: NAME, ..."
 * (the contract: a restart-only key is then not applied, yet the call
 * succeeds). The note is a warning: stderr, exit 0; with --json it is
 * also the document {"note": NOTE} on stdout.
 */
static int ctl_cmd_note(const struct ctl_args *args, sd_bus_message *reply,
			const char *member)
{
	struct json_object *o;
	const char *note;
	int r = sd_bus_message_read(reply, "s", &note);

	if (r < 0) {
		return ctl_bus_bad_reply(args->cmd_name, member, r);
	}
	if (note[0]) {
		fprintf(stderr, "ttwsctl: %s: %s%s\n", args->cmd_name, note,
			args->cmd == CTL_CMD_SET ? " (not applied)" : "");
	}
	if (!args->json) {
		return CTL_EXIT_OK;
	}
	o = json_object_new_object();
	json_object_object_add(o, "note", json_object_new_string(note));
	r = ctl_cmd_print_json(o);
	json_object_put(o);
	return r;
}

int ctl_cmd_set(struct ctl_bus *b, const struct ctl_args *args)
{
	sd_bus_message *reply = NULL;
	char name[CTL_KEY_MAX];
	int r;

	ctl_cmd_key_name(args, args->arg[0], name, sizeof(name));
	r = ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON, CTL_IFACE_DAEMON,
			 "Set", &reply, "ss", name, args->arg[1]);
	if (r == 0) {
		r = ctl_cmd_note(args, reply, "Set");
	}
	sd_bus_message_unref(reply);
	return r;
}

int ctl_cmd_reload(struct ctl_bus *b, const struct ctl_args *args)
{
	sd_bus_message *reply = NULL;
	int r;

	r = ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON, CTL_IFACE_DAEMON,
			 "Reload", &reply, "");
	if (r == 0) {
		r = ctl_cmd_note(args, reply, "Reload");
	}
	sd_bus_message_unref(reply);
	return r;
}

int ctl_cmd_reset_stats(struct ctl_bus *b, const struct ctl_args *args)
{
	return ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON,
			    CTL_IFACE_DAEMON, "ResetStats", NULL, "");
}

int ctl_cmd_capture_start(struct ctl_bus *b, const struct ctl_args *args)
{
	const char *file = args->arg[0];
	char cwd[PATH_MAX], path[PATH_MAX * 2];

	/* ttwsd opens the file in its own working directory: send an
	 * absolute path. */
	if (file[0] != '/') {
		if (!getcwd(cwd, sizeof(cwd))) {
			fprintf(stderr,
				"ttwsctl: %s: cannot get the current "
				"directory: %m\n",
				args->cmd_name);
			return CTL_EXIT_DAEMON;
		}
		snprintf(path, sizeof(path), "%s/%s", cwd, file);
		file = path;
	}
	return ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON,
			    CTL_IFACE_DAEMON, "CaptureStart", NULL, "s", file);
}

int ctl_cmd_capture_stop(struct ctl_bus *b, const struct ctl_args *args)
{
	return ctl_bus_call(b, args->cmd_name, CTL_PATH_DAEMON,
			    CTL_IFACE_DAEMON, "CaptureStop", NULL, "");
}
