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
# The pair form: [pair.NAME] sections, their keys by name, and its errors
# with file:line.
pairs() { # NAME...: a [pair.NAME] per name, unix sockets under $tmp
	local n
	for n in "$@"; do
		printf '[pair.%s]\nleft.transport = unix\nleft.path = %s/%s-l\n' "$n" "$tmp" "$n"
		printf 'right.transport = unix\nright.path = %s/%s-r\n' "$tmp" "$n"
	done
}
{ pairs a b; printf 'delay_ms = 60\n'; } >"$tmp/pairs.conf"
"$TTWSD" --check-config --config "$tmp/pairs.conf" | grep -q ': ok$'
[[ $("$TTWSD" --config "$tmp/pairs.conf" --get pair.b.delay_ms) == 60 ]] ||
	{ echo "pair.b.delay_ms is not 60" >&2; exit 1; }
[[ $("$TTWSD" --config "$tmp/pairs.conf" --get pair.a.delay_ms) == 40 ]] ||
	{ echo "pair.a.delay_ms does not follow [stream]" >&2; exit 1; }
[[ $("$TTWSD" --config "$tmp/pairs.conf" --get pair.a.right.path) == "$tmp/a-r" ]] ||
	{ echo "pair.a.right.path" >&2; exit 1; }
"$TTWSD" --config "$tmp/pairs.conf" --list-keys >"$tmp/pkeys"
grep -q "^pair\.b\.left\.transport" "$tmp/pkeys" ||
	{ echo "--list-keys has no pair keys" >&2; exit 1; }
if grep -q "^link\." "$tmp/pkeys"; then
	echo "--list-keys: link.* keys in the pair form" >&2
	exit 1
fi
refused() { # FILE MESSAGE-REGEX
	if "$TTWSD" --check-config --config "$1" 2>"$tmp/err"; then
		echo "$1 was accepted" >&2
		exit 1
	fi
	grep -qE "$2" "$tmp/err" || {
		echo "unexpected message: $(cat "$tmp/err")" >&2
		exit 1
	}
}
{ printf '[link.left]\ntransport = unix\npath = /x\n'; pairs a; } >"$tmp/mixed.conf"
refused "$tmp/mixed.conf" "mixed.conf:4: \[pair.a\]: .*cannot be mixed"
pairs a b c d e f g h i >"$tmp/nine.conf"
refused "$tmp/nine.conf" "nine.conf:41: \[pair.i\]: at most 8 pairs"
pairs a b a >"$tmp/dup.conf"
refused "$tmp/dup.conf" "dup.conf:11: \[pair.a\]: a second section"
{ pairs a; printf '[pair.b]\nleft.transport = unix\nleft.path = %s/b-l\n' "$tmp"; } >"$tmp/one.conf"
refused "$tmp/one.conf" "one.conf:6: \[pair.b\]: a pair needs both ears"
{ pairs a; printf '[pair.b]\nleft.transport = unix\nleft.path = %s/a-r\n' "$tmp"
  printf 'right.transport = unix\nright.path = %s/b-r\n' "$tmp"; } >"$tmp/same.conf"
refused "$tmp/same.conf" "same.conf:6: \[pair.b\] left and \[pair.a\] right: the same path"
# security (issue 14): medium unless told, a bad value refused with
# file:line, none accepted on a radio transport, the unix transport
# refusing the key at the line of whichever of the two comes second.
[[ $("$TTWSD" --get link.left.security) == medium ]] ||
	{ echo "security does not default to medium" >&2; exit 1; }
printf '[link.left]\ntransport = l2cap\naddress = 00:AA:01:00:00:01\nsecurity = low\n' >"$tmp/sec-bad.conf"
refused "$tmp/sec-bad.conf" "sec-bad.conf:4: \[link.left\] security: unknown value 'low'"
printf '[link.left]\ntransport = l2cap\naddress = 00:AA:01:00:00:01\nsecurity = none\n' >"$tmp/sec-none.conf"
"$TTWSD" --check-config --config "$tmp/sec-none.conf" | grep -q ': ok$'
[[ $("$TTWSD" --config "$tmp/sec-none.conf" --get link.left.security) == none ]] ||
	{ echo "security = none does not read back" >&2; exit 1; }
printf '[link.right]\nsecurity = high\ntransport = unix\npath = /x\n' >"$tmp/sec-unix.conf"
refused "$tmp/sec-unix.conf" "sec-unix.conf:3: \[link.right\] security: the unix transport has no link security"
{ pairs a; printf 'left.security = medium\n'; } >"$tmp/sec-pair.conf"
refused "$tmp/sec-pair.conf" "sec-pair.conf:6: \[pair.a\] left.security: the unix transport has no link security"
echo "config: ok"
