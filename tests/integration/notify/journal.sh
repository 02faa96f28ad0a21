# shellcheck shell=bash
# SPDX-License-Identifier: MIT
# Sourced by the notify tests: ttwsd's records as journald gets them, with
# every field (TTWS_EVENT, MESSAGE_ID, ERRNO, ...), without a journald.
#
# journal-listen.py binds DIR/sd/journal/socket; ttwsd runs in its own
# mount namespace where DIR/sd is bind-mounted over /run/systemd, so
# sd_journal_sendv() reaches the listener at /run/systemd/journal/socket,
# and with $JOURNAL_STREAM naming its stderr, so it picks the journal
# sink (src/daemon/log_journal.c). Needs root (or user namespaces) and
# /run/systemd; without them journal_ok stays 0 and ttwsd logs to stderr.
#
#   journal_start DIR     start the listener (sets journal_pid, journal_ok)
#   journal_exec DIR CMD  exec CMD (same pid) as above; plain exec when
#                         journal_ok is 0
#   journal_text DIR      every MESSAGE received, one per line

# shellcheck disable=SC2034 # read by the scripts that source this
journal_pid=
journal_ok=0

journal_start() {
	local d=$1
	mkdir -p "$d/sd/journal"
	/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/journal-listen.py" \
		"$d/sd/journal/socket" "$d/journal.jsonl" &
	journal_pid=$!
	wait_for 5 test -S "$d/sd/journal/socket" || return 1
	: >>"$d/journal.jsonl"
	journal_ok=0
	if [[ -d /run/systemd ]] &&
		journal_unshare 'test -S /run/systemd/journal/socket' "$d" \
			2>/dev/null; then
		journal_ok=1
	fi
}

# The unshare(1) options: a mount namespace (in a user namespace when not
# root).
journal_ns() {
	if ((EUID == 0)); then
		echo --mount
	else
		echo --user --map-root-user --mount
	fi
}

# journal_unshare SCRIPT DIR ARGS...: bash -c SCRIPT in a new mount
# namespace with DIR/sd over /run/systemd ("$@" in SCRIPT are ARGS).
journal_unshare() {
	local script=$1 d=$2
	shift 2
	# shellcheck disable=SC2046,SC2016 # words; for the inner bash
	unshare $(journal_ns) /bin/bash -c \
		'mount --bind "$0" /run/systemd && '"$script" "$d/sd" "$@"
}

journal_exec() {
	local d=$1
	shift
	if ((!journal_ok)); then
		exec "$@"
	fi
	JOURNAL_STREAM=$(stat -L -c '%d:%i' /proc/self/fd/2)
	export JOURNAL_STREAM
	# unshare and bash exec in turn: the pid stays (WATCHDOG_PID).
	# shellcheck disable=SC2046,SC2016 # words; for the inner bash
	exec unshare $(journal_ns) /bin/bash -c \
		'mount --bind "$0" /run/systemd && exec "$@"' "$d/sd" "$@"
}

journal_text() {
	jq -r '.MESSAGE // empty' "$1/journal.jsonl"
}
