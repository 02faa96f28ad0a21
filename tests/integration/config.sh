#!/usr/bin/env bash
# ttwsd --check-config: the shipped ttwsd.conf is valid (so it documents
# only keys that exist), a broken file is refused with file:line, and
# ttwsd.conf(5) marks each key live or restart as the code does.
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
grep -q "bad.conf:5: \[stream\] frame_us: [0-9.]* out of range" "$tmp/err" || {
	echo "unexpected message: $(cat "$tmp/err")" >&2
	exit 1
}
if "$TTWSD" --check-config --config "$tmp/missing.conf" 2>"$tmp/err"; then
	echo "a missing config was accepted" >&2
	exit 1
fi
grep -q "missing.conf: No such file or directory" "$tmp/err"
# transport = l2cap where the kernel has no Bluetooth: a clear refusal.
printf '[link.left]\ntransport = l2cap\naddress = 00:AA:01:00:00:01\n' >"$tmp/l2.conf"
if [[ ! -d /sys/module/bluetooth ]]; then
	if "$TTWSD" --config "$tmp/l2.conf" --duration 1 2>"$tmp/err"; then
		echo "l2cap without kernel Bluetooth was accepted" >&2
		exit 1
	fi
	grep -q "left ear: transport = l2cap: kernel has no Bluetooth" "$tmp/err" || {
		echo "unexpected message: $(cat "$tmp/err")" >&2
		exit 1
	}
else
	echo "this kernel has Bluetooth: the no-Bluetooth message is tested in tests/vm"
fi

# ttwsd.conf(5) marks every key live or restart as the code treats it.
MAN=$(dirname "$CONF")/../man/ttwsd.conf.5
"$TTWSD" --list-keys >"$tmp/keys"
[[ $(wc -l <"$tmp/keys") -ge 40 ]] || { echo "--list-keys: too few keys" >&2; exit 1; }
while IFS=$'\t' read -r name _ apply _; do
	key=${name##*.}
	# A key's heading line in the man page names it and its marking.
	if ! grep -E "^\.BR? .*\b$key\b.*\(($apply)\)" "$MAN" >/dev/null; then
		echo "ttwsd.conf(5) does not mark $name ($apply)" >&2
		exit 1
	fi
done <"$tmp/keys"
echo "config: ok"
