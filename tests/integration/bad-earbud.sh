#!/usr/bin/env bash
# The trust boundary, live: ttwsd's left ear talks to a misbehaving earbud
# (bad-earbud.c) that answers each HELLO with a HELLO_ACK carrying one
# out-of-range value (connection intervals of 5 s, 1 us, 7499 us and
# 2^32-1 us, clock ticks of 0 and 2 ms) after a STATUS with a 150 %
# battery. ttwsd must refuse each (counted in out_of_range), reset the
# link and reconnect, stay alive, not spin (its CPU time stays far from a
# busy thread's), and report the ear not streaming.
#
#   bad-earbud.sh BUILD_DIR BAD_EARBUD
set -euo pipefail
BUILD=$(realpath "$1") BAD=$(realpath "$2")
TTWSD=$BUILD/src/daemon/ttwsd
tmp=$(mktemp -d)
bad_pid= ttwsd_pid=
cleanup() {
	[[ -n $ttwsd_pid ]] && kill "$ttwsd_pid" 2>/dev/null
	[[ -n $bad_pid ]] && kill "$bad_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[[ -s $tmp/ttwsd.log ]] && tail -n 15 "$tmp/ttwsd.log" >&2
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

"$BAD" "$tmp/left.sock" >"$tmp/bad.out" 2>"$tmp/bad.err" &
bad_pid=$!
wait_for 5 test -S "$tmp/left.sock" || fail "the bad earbud did not start"
cat >"$tmp/ttwsd.conf" <<CONF
[rt]
priority = 0
[reconnect]
backoff_min_ms = 50
backoff_max_ms = 200
[control]
socket = $tmp/control
[link.left]
transport = unix
path = $tmp/left.sock
CONF
"$TTWSD" --config "$tmp/ttwsd.conf" --stats-file "$tmp/stats.json" \
	2>"$tmp/ttwsd.log" &
ttwsd_pid=$!
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
t0=$(date +%s.%N)
c0=$(ticks "$ttwsd_pid")
wait "$bad_pid" || fail "bad earbud: $(cat "$tmp/bad.err")"
bad_pid=
grep -q '^served 6$' "$tmp/bad.out" || fail "not every value was sent: $(cat "$tmp/bad.out")"
kill -0 "$ttwsd_pid" 2>/dev/null || fail "ttwsd died"
c1=$(ticks "$ttwsd_pid")
t1=$(date +%s.%N)
# A busy RT thread burns a whole CPU; an idle ttwsd a few %.
awk -v c=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v a="$t0" -v b="$t1" \
	'BEGIN { exit !(c / hz < 0.5 * (b - a)) }' ||
	fail "ttwsd used $((c1 - c0)) ticks in $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s: a busy thread"
kill -TERM "$ttwsd_pid"
wait "$ttwsd_pid" || fail "ttwsd did not exit cleanly"
ttwsd_pid=
n=$(jq .ears.left.out_of_range "$tmp/stats.json")
# Six HELLO_ACKs and six STATUS messages.
((n >= 12)) || fail "out_of_range is $n, want at least 12"
[[ $(jq -r .ears.left.state "$tmp/stats.json") != streaming ]] || fail "the bad ear streams"
(($(jq .ears.left.frames_sent "$tmp/stats.json") == 0)) || fail "frames went to a refused earbud"
grep -q "HELLO_ACK with ci_us out of range dropped" "$tmp/ttwsd.log" || fail "no log of the refusal"
echo "bad-earbud: ok ($n values refused)"
