#!/usr/bin/env bash
# ttwsd --check-config: the shipped ttwsd.conf is valid (so it documents
# only keys that exist), and a broken file is refused with file:line.
set -euo pipefail
TTWSD=$1
CONF=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$TTWSD" --check-config --config "$CONF" | grep -q ': ok$'

printf '[rt]\npriority = 80\n\n[stream]\nframe_us = 9\n' >"$tmp/bad.conf"
if "$TTWSD" --check-config --config "$tmp/bad.conf" 2>"$tmp/err"; then
	echo "a bad config was accepted" >&2
	exit 1
fi
grep -q "bad.conf:5: \[stream\] frame_us: out of range" "$tmp/err" || {
	echo "unexpected message: $(cat "$tmp/err")" >&2
	exit 1
}
if "$TTWSD" --check-config --config "$tmp/missing.conf" 2>"$tmp/err"; then
	echo "a missing config was accepted" >&2
	exit 1
fi
grep -q "missing.conf: No such file or directory" "$tmp/err"
echo "config: ok"
