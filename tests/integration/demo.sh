#!/usr/bin/env bash
# The main job on the simulated pair: ttws-earbud-sim --pair (two earbuds,
# each with its own crystal and BLE link model) and ttwsd streaming to both
# over the unix transport, then the sync report from the render log (the
# TRUE host instant each ear played each frame) and ttwsd's frame log.
#
#   demo.sh BUILD_DIR [--duration S] [--scenario NAME|FILE] [--json]
#                     [--keep DIR]
#
# With --json the last line is one JSON object (see README).
set -euo pipefail

BUILD=${1:?usage: demo.sh BUILD_DIR [options]}
shift
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DURATION=10
SCENARIO=nominal
JSON=0
KEEP=
while (($#)); do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--scenario) SCENARIO=$2; shift 2 ;;
	--json) JSON=1; shift ;;
	--keep) KEEP=$2; shift 2 ;;
	-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown option $1" >&2; exit 2 ;;
	esac
done
if [[ -f $SCENARIO ]]; then
	SCENARIO_FILE=$SCENARIO
else
	SCENARIO_FILE=$ROOT/tests/scenarios/$SCENARIO.ini
fi
[[ -f $SCENARIO_FILE ]] || { echo "demo: no scenario $SCENARIO" >&2; exit 2; }

SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
for b in "$SIM" "$TTWSD"; do
	[[ -x $b ]] || { echo "demo: $b is not built (./dev build)" >&2; exit 1; }
done

dir=${KEEP:-$(mktemp -d /tmp/ttws-demo.XXXXXX)}
mkdir -p "$dir"
sim_pid=
cleanup() {
	[[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null
	[[ -n $KEEP ]] || rm -rf "$dir"
}
trap cleanup EXIT

# Real time only when we may: the report says what was obtained.
prio=0
((EUID == 0)) && prio=70
cat >"$dir/ttwsd.conf" <<CONF
# Written by demo.sh: both ears over the unix transport to the simulator.
[rt]
priority = $((prio ? 80 : 0))
[control]
socket = $dir/control
[link.left]
transport = unix
path = $dir/left.sock
[link.right]
transport = unix
path = $dir/right.sock
CONF

"$SIM" --pair --scenario "$SCENARIO_FILE" --left "$dir/left.sock" \
	--right "$dir/right.sock" --render-log "$dir/render.csv" \
	--priority "$prio" --spin-guard-us 50 >"$dir/sim.out" 2>"$dir/sim.err" &
sim_pid=$!
for _ in $(seq 100); do
	[[ -S $dir/left.sock && -S $dir/right.sock ]] && break
	sleep 0.02
done
[[ -S $dir/left.sock ]] || { cat "$dir/sim.err" >&2; exit 1; }

((JSON)) || echo "ttws demo: scenario $(basename "$SCENARIO_FILE" .ini), ${DURATION} s, ttwsd + simulated earbud pair"
# TTWSD_PRELOAD: a shim for ttwsd only (the tests' rtcheck).
${TTWSD_PRELOAD:+env LD_PRELOAD=$TTWSD_PRELOAD} \
	"$TTWSD" --config "$dir/ttwsd.conf" --duration "$DURATION" \
	--frame-log "$dir/frames.csv" --stats-file "$dir/stats.json" \
	2>"$dir/ttwsd.log" || {
	cat "$dir/ttwsd.log" >&2
	exit 1
}
# Let the last frames play out before the earbuds go away.
sleep 0.5
kill -TERM "$sim_pid"
wait "$sim_pid" || true
sim_pid=

"$SIM" --report --render-log "$dir/render.csv" --frame-log "$dir/frames.csv" \
	--json >"$dir/report.txt"
report_json=$(tail -n 1 "$dir/report.txt")

ears=$(jq -c '.ears | with_entries(.value |= {state, servo: .servo.state,
	offset_ns: .servo.offset_ns, rate_ppm: (.servo.rate_ppb / 1000),
	steps: .servo.steps, reconnects: ((.connects // 1) - 1),
	frames_sent, late_at_earbud: .ear_late})' "$dir/stats.json")

if ((!JSON)); then
	echo
	echo "per ear (ttwsd's view at exit):"
	jq -r '.ears | to_entries[] | "  \(.key): link \(.value.state), servo \(.value.servo.state), offset \(.value.servo.offset_ns / 1e9) s, rate \(.value.servo.rate_ppb / 1000) ppm, \(.value.frames_sent) frames sent, \((.value.connects // 1) - 1) reconnects"' "$dir/stats.json"
	grep -v '^{' "$dir/sim.out" | sed 's/^/  /'
	echo
	head -n -1 "$dir/report.txt"
	grep -E "WARN|FAILED" "$dir/ttwsd.log" | sed 's/^/  note: /' | head -5 || true
else
	jq -cn --argjson r "$report_json" --argjson e "$ears" \
		--arg sc "$(basename "$SCENARIO_FILE" .ini)" \
		--argjson d "$DURATION" \
		'$r + {scenario: $sc, duration_s: $d, source: "tone", ears: $e}'
fi
