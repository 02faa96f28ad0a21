#!/usr/bin/env bash
# Pairs in the control API, ttwsctl, the metrics and the logs (issue 13):
# ttwsd with two pairs, "living-room" (a name sd_bus_path_encode()
# escapes: '-' is not a path character) and "b", on one simulator
# process (ttws-earbud-sim --pair --pair-names living-room,b). Checked:
#   - busctl tree has /org/ttws/Daemon/pair/living_2droom and .../pair/b,
#     each with ear/left and ear/right; Pair1's Name, SinkNode (none with
#     source = tone), Codec, delay bounds (b's own delay_min_ms); the
#     Daemon1 Pairs property and ListPairs;
#   - the pair ears stream and lock, and /org/ttws/Daemon/ear/left is the
#     first pair's;
#   - ttwsctl pairs (80 columns) and --json; --pair b status/ears/stats/
#     latency/keys; an unknown --pair fails with status 1, --pair on a
#     command without pairs is a usage error (2);
#   - a per-pair set through --pair changes that pair only;
#   - the metrics carry pair="NAME" on the per-ear and per-pair series,
#     for both pairs, and the textfile passes promtool check metrics;
#   - RT log lines name the pair ("b/left ear: ...").
# Cleans up even on failure.
#
#   ctl-pairs.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
CTL=$BUILD/src/ctl/ttwsctl
SCEN=$ROOT/tests/scenarios/nominal.ini

for t in jq busctl promtool; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
for b in "$SIM" "$TTWSD" "$CTL"; do
	[[ -x $b ]] || { echo "ctl-pairs.sh: $b is not built" >&2; exit 1; }
done

# shellcheck source=lib.sh
. "$ROOT/tests/integration/pairs/lib.sh"
pairs_scaffold ctl-pairs
# run EXPECTED_RC ARGS...: ttwsctl on the test's socket, stdout in
# $dir/out, stderr in $dir/err.
run() {
	local want=$1 rc=0
	shift
	"$CTL" --socket "$dir/control" "$@" >"$dir/out" 2>"$dir/err" || rc=$?
	((rc == want)) || fail "ttwsctl $* exited $rc, want $want: $(cat "$dir/err")"
}
jqt() { jq -e "$1" "$dir/out" >/dev/null || fail "jq '$1' on: $(head -c 800 "$dir/out")"; }
has() { grep -qF -- "$1" "${2:-$dir/out}" || fail "'$1' not in ${2:-out}: $(head -c 800 "${2:-$dir/out}")"; }
fits80() {
	awk 'length > 80 { print "line " NR " has " length " columns: " $0; bad = 1 }
		END { exit bad }' "$dir/out" >&2 || fail "$1 is wider than 80 columns"
}
bus() { busctl --address="unix:path=$dir/control" "$@"; }
LR=/org/ttws/Daemon/pair/living_2droom
B=/org/ttws/Daemon/pair/b

cat >"$dir/ttwsd.conf" <<CONF
[rt]
priority = 0
[stream]
source = tone
codec = pcm
[control]
socket = $dir/control
[metrics]
textfile = $dir/ttws.prom
interval_s = 1
[pair.living-room]
left.transport = unix
left.path = $dir/left-living-room.sock
right.transport = unix
right.path = $dir/right-living-room.sock
[pair.b]
left.transport = unix
left.path = $dir/left-b.sock
right.transport = unix
right.path = $dir/right-b.sock
delay_min_ms = 25
CONF

"$SIM" --pair --pair-names living-room,b --scenario "$SCEN" \
	--left "$dir/left.sock" --right "$dir/right.sock" \
	>"$dir/sim.out" 2>"$dir/sim.err" &
pids+=($!)
wait_for 10 test -S "$dir/left-b.sock" -a -S "$dir/right-living-room.sock" ||
	fail "the simulated pairs did not start"
"$TTWSD" --config "$dir/ttwsd.conf" 2>"$dir/ttwsd.log" &
pids+=($!)
wait_for 10 test -S "$dir/control" || fail "ttwsd made no control socket"

all_streaming() {
	"$CTL" --socket "$dir/control" pairs --json | jq -e '
		(.pairs | length) == 2 and all(.pairs[].ears[];
		.State == "streaming" and
		(.ServoState == "locked" or .ServoState == "stable"))'
}
wait_for 30 all_streaming || fail "the pairs' ears did not stream and lock"

# ---- D-Bus objects ------------------------------------------------------
bus tree org.ttws.Daemon1 >"$dir/out" 2>"$dir/err" || fail "busctl tree"
for p in "$LR" "$LR/ear/left" "$LR/ear/right" "$B" "$B/ear/left" \
	"$B/ear/right" /org/ttws/Daemon/ear/left; do
	grep -qE -- "─$p\$" "$dir/out" || fail "busctl tree has no $p: $(cat "$dir/out")"
done
prop() { # PATH IFACE NAME: the value as busctl prints it
	bus get-property org.ttws.Daemon1 "$1" "$2" "$3"
}
[[ $(prop "$LR" org.ttws.Pair1 Name) == 's "living-room"' ]] || fail "living-room's Name"
[[ $(prop "$B" org.ttws.Pair1 Name) == 's "b"' ]] || fail "b's Name"
[[ $(prop "$B" org.ttws.Pair1 SinkNode) == 's ""' ]] || fail "b has a sink with source = tone"
[[ $(prop "$B" org.ttws.Pair1 Codec) == 's "pcm"' ]] || fail "b's Codec"
[[ $(prop "$B" org.ttws.Pair1 DelayMinUs) == 't 25000' ]] ||
	fail "b's DelayMinUs is not its own delay_min_ms: $(prop "$B" org.ttws.Pair1 DelayMinUs)"
[[ $(prop "$LR" org.ttws.Pair1 DelayMinUs) != 't 25000' ]] ||
	fail "living-room took b's delay_min_ms"
f=$(prop "$B" org.ttws.Pair1 Frames)
[[ $f =~ ^t\ [1-9][0-9]*$ ]] || fail "b's Frames: $f"
[[ $(prop "$B/ear/right" org.ttws.Ear1 State) == 's "streaming"' ]] ||
	fail "b's right ear object"
[[ $(prop /org/ttws/Daemon org.ttws.Daemon1 Pairs) == 'as 2 "living-room" "b"' ]] ||
	fail "Daemon1 Pairs: $(prop /org/ttws/Daemon org.ttws.Daemon1 Pairs)"
out=$(bus call org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 ListPairs)
[[ $out == "a(so) 2 \"living-room\" \"$LR\" \"b\" \"$B\"" ]] || fail "ListPairs: $out"
# The old objects are the first pair's.
f1=$(prop /org/ttws/Daemon/ear/left org.ttws.Ear1 OffsetNs)
f2=$(prop "$LR/ear/left" org.ttws.Ear1 OffsetNs)
f3=$(prop "$B/ear/left" org.ttws.Ear1 OffsetNs)
[[ ${f1% *} == "${f2% *}" && $f1 == "$f2" || $f2 != "$f3" ]] ||
	fail "ear/left ($f1) is not living-room's ($f2) but like b's ($f3)"

# ---- ttwsctl ----------------------------------------------------------------
run 0 pairs
fits80 "ttwsctl pairs"
has "living-room"
grep -qE '^b +- +pcm +[0-9.]+ ms +streaming/(locked|stable) +streaming/' "$dir/out" ||
	fail "no row for pair b: $(cat "$dir/out")"
run 0 pairs --json
jqt '[.pairs[].Name] == ["living-room", "b"]'
jqt '.pairs[1].DelayMinUs == 25000 and .pairs[1].SinkNode == ""'
jqt '.pairs[0].ears.left.Transport == "unix"'
run 0 --pair b status
fits80 "ttwsctl --pair b status"
has "pairs         living-room, b"
grep -qE '^pair +b: in sync' "$dir/out" || fail "status names no pair b: $(cat "$dir/out")"
run 0 status --pair b --json
jqt '.pair.Name == "b" and .pair.DelayMinUs == 25000'
jqt '.ears.left.State == "streaming" and .daemon.Pairs == ["living-room", "b"]'
run 0 --pair b ears --json
jqt '.left.stats.frames_sent > 0 and .right.stats.transport == "unix"'
# Histograms are copied out with the snapshots: wait for samples.
b_hists() {
	"$CTL" --socket "$dir/control" --pair b stats --json |
		jq -e '.histograms.left.rx_loop.count > 0'
}
wait_for 10 b_hists || fail "pair b's histograms stay empty"
run 0 --pair b stats --json
jqt '.name == "b" and .ears.left.frames_sent > 0 and .histograms.left.rx_loop.count > 0'
run 0 --pair b stats
fits80 "ttwsctl --pair b stats"
run 0 --pair living-room latency --json
jqt '.left.rx.loop.count > 0'
run 0 --pair b keys --json
jqt 'length > 0 and all(.[]; .name | startswith("pair.b."))'
run 1 --pair nope status
run 1 --pair nope stats
has "no pair 'nope'" "$dir/err"
run 2 --pair b reload
run 2 --pair 'B!' status

# A pair's own key, through --pair; the other pair keeps its value.
run 0 --pair b get delay_max_ms
before_lr=$("$CTL" --socket "$dir/control" get pair.living-room.delay_max_ms)
run 0 --pair b set delay_max_ms 200
run 0 get pair.b.delay_max_ms
[[ $(cat "$dir/out") == 200 ]] || fail "pair.b.delay_max_ms is $(cat "$dir/out"), want 200"
run 0 --pair b get delay_max_ms --json
jqt '.name == "pair.b.delay_max_ms" and .value == "200"'
[[ $(prop "$B" org.ttws.Pair1 DelayMaxUs) == 't 200000' ]] ||
	fail "b's DelayMaxUs after the set: $(prop "$B" org.ttws.Pair1 DelayMaxUs)"
run 0 --pair living-room get delay_max_ms
[[ $(cat "$dir/out") == "$before_lr" ]] || fail "living-room's delay_max_ms moved"

# ---- metrics ------------------------------------------------------------
run 0 metrics
for p in living-room b; do
	for e in left right; do
		grep -qE "^ttws_link_frames_sent_total\\{pair=\"$p\",ear=\"$e\"\\} [1-9]" "$dir/out" ||
			fail "no frames sent of pair $p, ear $e in the metrics"
		grep -qE "^ttws_link_state\\{pair=\"$p\",ear=\"$e\",ttws_link_state=\"streaming\"\\} 1" "$dir/out" ||
			fail "no link state of pair $p, ear $e"
	done
	has "ttws_presentation_delay_seconds{pair=\"$p\"}"
	has "ttws_stream_frames_total{pair=\"$p\"}"
done
grep -q '^ttws_link_frames_sent_total{ear=' "$dir/out" &&
	fail "a per-ear series without its pair label"
wait_for 5 test -s "$dir/ttws.prom" || fail "no metrics textfile"
cp "$dir/ttws.prom" "$dir/check.prom"
has 'ttws_servo_offset_seconds{pair="b",ear="right"}' "$dir/check.prom"
out=$(promtool check metrics <"$dir/check.prom" 2>&1) ||
	fail "promtool check metrics: $out"
[[ -z $out ]] || fail "promtool check metrics: $out"

# ---- logs -----------------------------------------------------------------
for p in living-room b; do
	for e in left right; do
		grep -qE "ttwsd\\[rt\\].*: $p/$e ear: HELLO_ACK" "$dir/ttwsd.log" ||
			fail "no RT log line naming $p/$e"
	done
done
grep -qE 'ttwsd\[rt\].*: (left|right) ear: ' "$dir/ttwsd.log" &&
	fail "an RT link line without its pair"
echo "ctl-pairs: ok"
