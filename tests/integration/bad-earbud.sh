#!/usr/bin/env bash
# The trust boundary, live, in two parts.
#
# 1. Out-of-range values: ttwsd's left ear talks to a misbehaving earbud
#    (bad-earbud.c) that answers each HELLO with a HELLO_ACK carrying one
#    out-of-range value (connection intervals of 5 s, 1 us, 7499 us and
#    2^32-1 us, clock ticks of 0 and 2 ms) after a STATUS with a 150 %
#    battery. ttwsd must refuse each (counted in out_of_range), reset the
#    link and reconnect, stay alive, not spin (its CPU time stays far from
#    a busy thread's), and report the ear not streaming.
#
# 2. Hostile messages in a live session: the simulated pair streams, the
#    left earbud behind bad-earbud --proxy, which then slips in, between
#    the earbud's genuine messages, malformed (bad magic, version, unknown
#    type, bad size, trailing octets), truncated (header, payload),
#    oversized (a length over any message's, a 70 kB datagram), unexpected
#    (a host-bound type), out-of-order (a STATUS numbered far behind, an
#    answer to a superseded timing request) and replayed messages (a
#    STATUS octet for octet, a report numbered afresh), then a flood of
#    garbage. ttwsd must count each by kind, exactly (the metrics' per-kind
#    counters), drop them (the replayed and the out-of-order STATUS carry
#    battery levels that must not stand: 77 % must), reset the left link
#    after the flood and stream on it again, and leave the right ear
#    untouched: every frame of it rendered on time, nothing counted, no
#    disconnect.
#
#   bad-earbud.sh BUILD_DIR BAD_EARBUD
set -euo pipefail
BUILD=$(realpath "$1") BAD=$(realpath "$2")
TTWSD=$BUILD/src/daemon/ttwsd
SIM=$BUILD/src/sim/ttws-earbud-sim
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
bad_pid= ttwsd_pid= sim_l= sim_r=
cleanup() {
	local p
	for p in $ttwsd_pid $bad_pid $sim_l $sim_r; do
		kill "$p" 2>/dev/null
	done
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
echo "bad-earbud: part 1 ok ($n values refused)"

# ---- part 2: hostile messages in a live session ------------------------
[[ -x $SIM ]] || fail "no $SIM (build ttws-earbud-sim)"
scenario=$ROOT/tests/scenarios/nominal.ini
"$SIM" --pair --scenario "$scenario" --left "$tmp/left-real.sock" \
	--render-log "$tmp/render-left.csv" >"$tmp/sim-left.out" 2>&1 &
sim_l=$!
"$SIM" --pair --scenario "$scenario" --right "$tmp/right.sock" \
	--render-log "$tmp/render-right.csv" >"$tmp/sim-right.out" 2>&1 &
sim_r=$!
wait_for 10 test -S "$tmp/left-real.sock" -a -S "$tmp/right.sock" ||
	fail "the simulated earbuds did not start"
rm -f "$tmp/left.sock"
"$BAD" --proxy "$tmp/left.sock" "$tmp/left-real.sock" >"$tmp/proxy.out" \
	2>"$tmp/proxy.err" &
bad_pid=$!
wait_for 5 test -S "$tmp/left.sock" || fail "the proxy did not start"
cat >"$tmp/ttwsd2.conf" <<CONF
[rt]
priority = 0
[reconnect]
backoff_min_ms = 50
backoff_max_ms = 200
CONF
pair_conf "$tmp" >>"$tmp/ttwsd2.conf"
: >"$tmp/ttwsd.log"
"$TTWSD" --config "$tmp/ttwsd2.conf" 2>"$tmp/ttwsd.log" &
ttwsd_pid=$!
sock=$tmp/control
call() {
	busctl --json=short --address="unix:path=$sock" call org.ttws.Daemon1 \
		/org/ttws/Daemon org.ttws.Daemon1 "$@"
}
stats() { call GetStats | jq -r '.data[0] | fromjson'; }
metrics() { call GetMetrics | jq -r '.data[0]'; }
wait_for 30 grep -q '^done$' "$tmp/proxy.out" ||
	fail "the proxy did not get through: $(tr '\n' ' ' <"$tmp/proxy.out") $(cat "$tmp/proxy.err")"
kill -0 "$ttwsd_pid" 2>/dev/null || fail "ttwsd died"
streaming() { [[ $(ear_state "$sock" "$1") == streaming ]]; }
wait_for 5 streaming left || fail "the left ear did not stream again after its reset"
streaming right || fail "the right ear stopped streaming"
sleep 0.5
stats >"$tmp/stats2.json" || fail "GetStats"
metrics >"$tmp/metrics.txt" || fail "GetMetrics"
kill -TERM "$ttwsd_pid"
wait "$ttwsd_pid" || fail "ttwsd did not exit cleanly"
ttwsd_pid=
kill -TERM "$bad_pid" "$sim_l" "$sim_r"
wait "$bad_pid" "$sim_l" "$sim_r" 2>/dev/null || true
bad_pid= sim_l= sim_r=

# kind EAR KIND: that ear's per-kind drop counter in the metrics.
kind() {
	awk -v e="ear=\"$1\"" -v k="kind=\"$2\"" '
		$1 ~ /^ttws_link_malformed_messages_total[{]/ &&
		index($1, e) && index($1, k) { print $2; found = 1 }
		END { if (!found) print "missing" }' "$tmp/metrics.txt"
}
# What the proxy sent, kind by kind (16 of the bad magic are the flood).
declare -A want=(
	[bad-magic]=17 [version]=1 [unknown-type]=1 [bad-size]=1 [trailing]=1
	[short-header]=1 [short-payload]=1 [too-long]=2
	[out-of-order]=2 [replayed]=2 [empty]=0 [audio-len]=0
)
for k in "${!want[@]}"; do
	got=$(kind left "$k")
	[[ $got == "${want[$k]}" ]] ||
		fail "left ear: $got '$k' messages counted, want ${want[$k]} (proxy: $(tr '\n' ' ' <"$tmp/proxy.out"))"
	got=$(kind right "$k")
	[[ $got == 0 ]] || fail "right ear: $got '$k' messages counted"
done
left=$(jq '.ears.left' "$tmp/stats2.json")
right=$(jq '.ears.right' "$tmp/stats2.json")
(($(jq .unexpected <<<"$left") == 1)) || fail "left: $(jq .unexpected <<<"$left") unexpected, want 1"
(($(jq .out_of_range <<<"$left") == 0)) || fail "left: out_of_range $(jq .out_of_range <<<"$left")"
# Dropped, not taken: the replayed 55 % and the out-of-order 42 % must
# not have overwritten the 77 % that came between them.
[[ $(jq .battery_pct <<<"$left") == 77 ]] ||
	fail "left battery $(jq .battery_pct <<<"$left") %: a dropped STATUS was taken"
# The flood reset the link (once), and only the left one.
(($(jq .disconnects <<<"$left") == 1)) || fail "left: $(jq .disconnects <<<"$left") disconnects, want 1 (the flood)"
grep -q "left ear: nothing usable: 16 messages in a row dropped" "$tmp/ttwsd.log" ||
	fail "no log of the reset after the flood"
for f in unexpected out_of_range disconnects supervision_timeouts; do
	(($(jq ".$f" <<<"$right") == 0)) || fail "right: $f $(jq ".$f" <<<"$right")"
done
[[ $(jq .battery_pct <<<"$right") == null ]] || fail "right battery changed"
# The right ear: every frame from its first to its last, rendered on time,
# except where the host itself was late for both ears at once. On this
# shared 2-CPU machine the RT thread (priority 0 here) is sometimes
# preempted for tens of ms; the stream then skips frames or sends them
# late to both ears alike, and counts late ticks. A right-ear frame late
# or missing while the left ear's same frame was fine is the left's
# misbehaviour reaching the right: that fails, as does any disturbance
# without a late tick.
late_ticks=$(jq .stream.late_ticks "$tmp/stats2.json")
awk -F, -v ticks="$late_ticks" '
	NR > 1 && $1 == "left" { lbad[$2] = ($6 != 0 || $5 == 0); lseen[$2] = 1 }
	NR > 1 && $1 == "right" {
		n++; seen[$2] = 1; if ($6 != 0 || $5 == 0) bad[$2] = 1
		if (lo == "" || $2 < lo) lo = $2
		if ($2 > hi) hi = $2
	}
	END {
		for (s = lo; s <= hi; s++) {
			if (seen[s] && !bad[s]) continue
			host++
			if (lseen[s] && !lbad[s]) {
				printf "right frame %d %s, left fine\n", s, seen[s] ? "late" : "missing"
				alone++
			}
		}
		if (n < 300 || alone || (host && ticks == 0)) {
			printf "right: %d rendered in %d..%d, %d late or missing (%d of them the right alone), %d late ticks\n", n, lo, hi, host, alone, ticks
			exit 1
		}
		if (host) {
			printf "right: %d frames late or missing with the left ear alike (host late %d times)\n", host, ticks
		}
	}' "$tmp/render-left.csv" "$tmp/render-right.csv" || fail "the right ear was disturbed"
echo "bad-earbud: part 2 ok ($(grep -c '^injected' "$tmp/proxy.out") misbehaviours counted by kind and dropped; right ear untouched)"
