#!/usr/bin/env bash
# The PipeWire pipeline's cost: a stereo test file played through
# ttws.sink to the simulated earbud pair (the demo, --source pipewire),
# LC3 at 10 ms frames.
#   - hand-over: from ttws.sink's process() taking a quantum to the
#     frame's AUDIO message queued on the transport, both ears, measured
#     by ttwsd's RT thread for every frame (P50/P99 us);
#   - CPU: ttwsd's user + sys time (all its threads: the RT loop, LC3
#     encoding of both ears, PipeWire's data and client threads) per second
#     of stereo audio, in % of one core.
# Targets: hand-over P99 <= 200 us, CPU <= 5 % of one core.
#
#   pipeline.sh [BUILD_DIR]
#   env: DURATION (20 s of audio), CODEC (lc3), SCENARIO (nominal)
#
# Prints a summary, then one JSON line:
#   {"bench":"pipeline","handoff_p50_us":..,"handoff_p99_us":..,
#    "cpu_pct_one_core":..,...}
# Never fails on a number.
set -euo pipefail

BUILD=${1:-build}
DURATION=${DURATION:-20}
CODEC=${CODEC:-lc3}
SCENARIO=${SCENARIO:-nominal}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

command -v jq >/dev/null || { echo "jq missing: ./dev setup" >&2; exit 1; }
if ! grep -q '^#define HAVE_PIPEWIRE 1' "$BUILD/config.h" ||
	! command -v pipewire >/dev/null || ! command -v pw-cat >/dev/null; then
	echo "pipeline bench: skipped (ttwsd built without PipeWire, or PipeWire not installed)"
	exit 0
fi
tmp=$(mktemp -d /tmp/ttws-bench-pipeline.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$HERE/../integration/demo.sh" "$BUILD" --source pipewire --codec "$CODEC" \
	--scenario "$SCENARIO" --duration "$DURATION" --json \
	--keep "$tmp/run" >"$tmp/out" 2>&1 || {
	tail -n 30 "$tmp/out" >&2
	exit 1
}
r=$(tail -n 1 "$tmp/out")
read -r tck c0 c1 w0 w1 <"$tmp/run/cpu.txt"
cpu=$(awk -v t="$tck" -v c0="$c0" -v c1="$c1" -v w0="$w0" -v w1="$w1" \
	'BEGIN { printf "%.2f", (c1 - c0) / t / (w1 - w0) * 100 }')
wall=$(awk -v w0="$w0" -v w1="$w1" 'BEGIN { printf "%.1f", w1 - w0 }')

jq -r --arg cpu "$cpu" --arg wall "$wall" '
	"pipeline: \(.duration_s) s of stereo \(.codec | ascii_upcase) through ttws.sink, scenario \(.scenario)",
	"  frames \(.frames.sent) AUDIO messages, \(.frames.lost) lost, \(.frames.late) late; inter-ear error p99 \(.inter_ear_error_us.p99) us",
	"  hand-over process() -> AUDIO sent (\(.pipewire.handoff_us.count) frames): p50 \(.pipewire.handoff_us.p50) us, p99 \(.pipewire.handoff_us.p99) us, max \(.pipewire.handoff_us.max) us (target p99 <= 200)",
	"  ttwsd CPU while playing (\($wall) s): \($cpu) % of one core (target <= 5)",
	"  graph: \(.pipewire.cycles) cycles driven by ttws.sink, underruns \(.pipewire.underruns), overruns \(.pipewire.overruns)"' <<<"$r"
jq -cn --argjson r "$r" --argjson cpu "$cpu" '{bench: "pipeline",
	handoff_p50_us: $r.pipewire.handoff_us.p50,
	handoff_p99_us: $r.pipewire.handoff_us.p99,
	handoff_max_us: $r.pipewire.handoff_us.max,
	cpu_pct_one_core: $cpu, codec: $r.codec, frame_ms: 10,
	seconds: $r.duration_s, frames: $r.frames.sent,
	underruns: $r.pipewire.underruns}'
