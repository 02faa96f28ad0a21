#!/usr/bin/env bash
# ./dev bench asha [SECONDS]: ttwsd driving two ASHA hearing aids played by
# Google's Bumble (tests/asha: asha-peer.py on BlueZ's controller emulator,
# one hci-uart dongle per ear bridged by hci-proxy), the tone for SECONDS
# (default 60). Per 20 ms slot, the difference between the two ears' SDUs
# of that slot:
#   send skew     the instants each left the host's controller (its TX
#                 completion, Number Of Completed Packets, read by ttwsd's
#                 own HCI host: status asha.send_skew);
#   arrival skew  the instants Bumble's aids received them (their records,
#                 CLOCK_MONOTONIC of the same host).
# Last line JSON: {"bench":"asha","seconds","slots","send_skew_p50_us",
# "send_skew_p99_us","send_skew_max_us","arrival_skew_p50_us",
# "arrival_skew_p99_us","arrival_skew_max_us","dropped_slots",
# "credit_stalls","reference_send_skew_p99_us"}.
#
# The model: btvirt has no radio and no connection events; it hands a
# packet to the peer's emulated controller when the host writes it, and
# completes it then. So the skew here is the host side's alone (how far
# apart ttwsd's one slot puts the two SDUs, through two ttys and two
# controller threads), not what a radio's connection events add; it is
# the part ttws controls.
#
# The reference (BlueZ's ASHA profile with PipeWire's bluez5 sink, against
# the same aids) is not run: it needs Debian testing's bluetoothd and
# PipeWire in a VM whose controller Bumble's aids can reach, which
# tests/vm does not build yet. reference_send_skew_p99_us is null.
#
#   asha.sh BUILD_DIR [SECONDS]
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../asha" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(realpath "$1")
SECONDS_RUN=${2:-60}

if [[ -z ${TTWS_BTVIRT_LE:-} ]]; then
	shim=$BUILD/tests/integration/btvirt/afalg-shim.so
	[[ -f $shim ]] || { echo "bench asha: no $shim (build first)" >&2; exit 1; }
	exec "$ROOT/tests/integration/btvirt/with-btvirt.sh" --shim "$shim" \
		-- bash "$ROOT/tests/bench/asha.sh" "$BUILD" "$SECONDS_RUN"
fi
# shellcheck source=../asha/lib.sh
. "$HERE/lib.sh"

start_peer bench --no-wav
write_conf bench
"$TTWSD" --config "$tmp/bench/ttwsd.conf" --duration "$SECONDS_RUN" \
	--stats-file "$tmp/bench/stats.json" 2>"$tmp/bench/ttwsd.log" ||
	fail "ttwsd failed"
stop_peer
d=$tmp/bench
a=.pairs[0].asha
jq -e "$a.send_skew.slots > 0" "$d/stats.json" >/dev/null ||
	fail "no slot completed on both ears"

# Arrival skew: the SDUs of one slot carry one sequence number; from the
# first number both aids got, the k-th SDU of each is the same slot.
arrival=$(python3 - "$d/left.jsonl" "$d/right.jsonl" <<'PY'
import json, sys
recs = []
for path in sys.argv[1:]:
    with open(path) as f:
        recs.append([(e['seq'], e['t_ns']) for e in map(json.loads, f)
                     if e['ev'] == 'sdu'])
l, r = recs
ls, rs = [s for s, _ in l], [s for s, _ in r]
first = ls[0] if ls[0] in rs[:64] else rs[0]
li, ri = ls.index(first), rs.index(first)
n = min(len(l) - li, len(r) - ri)
skew = sorted(abs(l[li + k][1] - r[ri + k][1]) / 1e3 for k in range(n)
              if ls[li + k] == rs[ri + k])
def pct(p):
    return round(skew[min(len(skew) - 1, int(p / 100 * len(skew)))], 1)
print(json.dumps({'slots': len(skew), 'p50': pct(50), 'p99': pct(99),
                  'max': round(skew[-1], 1)}))
PY
)

jq -n --argjson s "$(jq -c "$a" "$d/stats.json")" --argjson r "$arrival" \
	--argjson secs "$SECONDS_RUN" '
	"ttws, \($secs) s, \($s.slots) slots, \($s.dropped_slots) dropped, \($s.credit_stalls) credit stalls",
	"  send skew (TX completion)   p50 \($s.send_skew.p50_us) us  p99 \($s.send_skew.p99_us) us  max \($s.send_skew.max_us) us  over \($s.send_skew.slots) slots",
	"  arrival skew (at Bumble)    p50 \($r.p50) us  p99 \($r.p99) us  max \($r.max) us  over \($r.slots) slots",
	"reference (BlueZ ASHA + PipeWire bluez5): not run (see tests/bench/asha.sh)"' -r
jq -nc --argjson s "$(jq -c "$a" "$d/stats.json")" --argjson r "$arrival" \
	--argjson secs "$SECONDS_RUN" '{bench: "asha", seconds: $secs,
	slots: $s.slots, send_skew_p50_us: $s.send_skew.p50_us,
	send_skew_p99_us: $s.send_skew.p99_us,
	send_skew_max_us: $s.send_skew.max_us,
	arrival_skew_p50_us: $r.p50, arrival_skew_p99_us: $r.p99,
	arrival_skew_max_us: $r.max, dropped_slots: $s.dropped_slots,
	credit_stalls: $s.credit_stalls, reference_send_skew_p99_us: null}'
