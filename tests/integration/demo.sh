#!/usr/bin/env bash
# The main job on the simulated pair: ttws-earbud-sim --pair (two earbuds,
# each with its own crystal and BLE link model) and ttwsd streaming to both
# over the unix transport, then the sync report from the render log (the
# TRUE host instant each ear played each frame) and ttwsd's frame log.
#
#   demo.sh BUILD_DIR [--duration S] [--scenario NAME|FILE] [--json]
#                     [--source tone|pipewire] [--codec pcm|lc3] [--keep DIR]
#
# --source pipewire (the default when ttwsd is built with PipeWire and the
# PipeWire tools are installed): a private PipeWire daemon, ttwsd with its
# ttws.sink node, and pw-cat playing a generated stereo test file (a tone
# per channel with alignment chirps) linked into ttws.sink with pw-link;
# the earbuds decode what they receive, and the report adds audio checks:
# per ear the decoded output against that ear's input channel (correlation
# >= 0.9 for LC3, sample-exact for PCM but at slips) and the lag between
# the ears' outputs (0 samples). --duration: the seconds of audio played.
# --source tone: ttwsd's internal test tone for --duration seconds.
# --codec: lc3 (default with PipeWire, when built with liblc3) or pcm.
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
SOURCE=
CODEC=
while (($#)); do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--scenario) SCENARIO=$2; shift 2 ;;
	--source) SOURCE=$2; shift 2 ;;
	--codec) CODEC=$2; shift 2 ;;
	--json) JSON=1; shift ;;
	--keep) KEEP=$2; shift 2 ;;
	-h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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

built_with() { grep -q "^#define $1 1" "$BUILD/config.h"; }
pw_tools() {
	local t
	for t in pipewire pw-cli pw-cat pw-link pw-dump; do
		command -v "$t" >/dev/null || return 1
	done
}
if [[ -z $SOURCE ]]; then
	SOURCE=tone
	if built_with HAVE_PIPEWIRE && pw_tools; then
		SOURCE=pipewire
	elif ((!JSON)); then
		echo "demo: no PipeWire (build or tools): playing the internal test tone"
	fi
fi
case $SOURCE in
tone) ;;
pipewire)
	built_with HAVE_PIPEWIRE || { echo "demo: ttwsd is built without PipeWire" >&2; exit 1; }
	pw_tools || { echo "demo: PipeWire tools missing (./dev setup)" >&2; exit 1; }
	;;
*) echo "demo: --source must be tone or pipewire" >&2; exit 2 ;;
esac
if [[ -z $CODEC ]]; then
	CODEC=pcm
	[[ $SOURCE == pipewire ]] && built_with HAVE_LC3 && CODEC=lc3
fi
[[ $CODEC == pcm || $CODEC == lc3 ]] || { echo "demo: --codec must be pcm or lc3" >&2; exit 2; }

dir=${KEEP:-$(mktemp -d /tmp/ttws-demo.XXXXXX)}
mkdir -p "$dir"
sim_pid= ttwsd_pid= pw_pid= cat_pid=
stop() { # pid...: TERM, then wait
	local p
	for p in "$@"; do
		[[ -n $p ]] && kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		[[ -n $p ]] && wait "$p" 2>/dev/null
	done
	return 0
}
cleanup() {
	stop "$cat_pid" "$ttwsd_pid" "$sim_pid" "$pw_pid"
	[[ -n $KEEP ]] || rm -rf "$dir"
}
trap cleanup EXIT

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
die() {
	echo "demo: $*" >&2
	local f
	for f in "$dir"/ttwsd.log "$dir"/sim.err "$dir"/pipewire.log "$dir"/pw-cat.log; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

# Real time only when we may: the report says what was obtained.
prio=0
((EUID == 0)) && prio=70
cat >"$dir/ttwsd.conf" <<CONF
# Written by demo.sh: both ears over the unix transport to the simulator.
[rt]
priority = $((prio ? 80 : 0))
[stream]
source = $SOURCE
codec = $CODEC
# This 2-core VM's hypervisor (and a loaded machine) stalls the RT thread
# for milliseconds now and then: a margin and a floor that cover a first
# stall, where a gateway on real hardware runs the defaults (1 ms, 5 ms).
delay_margin_ms = 4
delay_min_ms = 20
CONF
pair_conf "$dir" >>"$dir/ttwsd.conf"
# TTWSD_CONF_APPEND: more configuration for ttwsd (the tests' hook).
[[ -z ${TTWSD_CONF_APPEND:-} ]] || printf '%s\n' "$TTWSD_CONF_APPEND" >>"$dir/ttwsd.conf"

wav_args=()
if [[ $SOURCE == pipewire ]]; then
	# A private PipeWire daemon: nothing of the user's session is
	# touched, and nothing of it is needed (no session manager, no
	# D-Bus).
	export XDG_RUNTIME_DIR=$dir/pw PIPEWIRE_RUNTIME_DIR=$dir/pw
	unset PIPEWIRE_REMOTE PIPEWIRE_CORE
	mkdir -p "$dir/pw"
	pipewire -c "$ROOT/tests/integration/pw-minimal.conf" \
		>"$dir/pipewire.log" 2>&1 &
	pw_pid=$!
	wait_for 10 pw-cli info 0 || die "the private PipeWire daemon did not start"
	"$SIM" --gen-audio "$dir/input.wav" --duration "$DURATION" ||
		die "cannot write the test file"
	wav_args=(--wav-prefix "$dir/ear")
fi

"$SIM" --pair --scenario "$SCENARIO_FILE" --left "$dir/left.sock" \
	--right "$dir/right.sock" --render-log "$dir/render.csv" \
	"${wav_args[@]}" --priority "$prio" --spin-guard-us 50 \
	>"$dir/sim.out" 2>"$dir/sim.err" &
sim_pid=$!
for _ in $(seq 100); do
	[[ -S $dir/left.sock && -S $dir/right.sock ]] && break
	sleep 0.02
done
[[ -S $dir/left.sock ]] || die "the simulated pair did not start"

sname=$(basename "$SCENARIO_FILE" .ini)
if [[ $SOURCE == tone ]]; then
	((JSON)) || echo "ttws demo: scenario $sname, ${DURATION} s, ttwsd + simulated earbud pair"
	# TTWSD_PRELOAD: a shim for ttwsd only (the tests' rtcheck).
	${TTWSD_PRELOAD:+env LD_PRELOAD=$TTWSD_PRELOAD} \
		"$TTWSD" --config "$dir/ttwsd.conf" --duration "$DURATION" \
		--frame-log "$dir/frames.csv" --stats-file "$dir/stats.json" \
		2>"$dir/ttwsd.log" || die "ttwsd failed"
else
	((JSON)) || echo "ttws demo: scenario $sname, ${DURATION} s of a stereo test file through PipeWire (ttws.sink, ${CODEC^^}) to the simulated earbud pair"
	${TTWSD_PRELOAD:+env LD_PRELOAD=$TTWSD_PRELOAD} \
		"$TTWSD" --config "$dir/ttwsd.conf" \
		--frame-log "$dir/frames.csv" --stats-file "$dir/stats.json" \
		2>"$dir/ttwsd.log" &
	ttwsd_pid=$!
	port_exists() { pw-link "$1" | grep -x -- "$2" >/dev/null; }
	wait_for 10 port_exists -i ttws.sink:playback_FL ||
		die "ttws.sink did not appear"
	# Play once both ears are locked: audio before that would not
	# reach them (the earbuds must know when to play it).
	locked() {
		grep -q "left ear: servo locked" "$dir/ttwsd.log" &&
			grep -q "right ear: servo locked" "$dir/ttwsd.log"
	}
	wait_for 20 locked || die "the earbuds did not lock"
	# Without a session manager target.object links nothing: both ends
	# get DSP ports (adapter.auto-port-config) and pw-link joins them;
	# node.want-driver = false keeps pw-cat off the dummy driver until
	# it is linked to ttws.sink, which then drives.
	pw-cat -p -v -P '{ node.name = ttws-demo-src node.want-driver = false
		adapter.auto-port-config = { mode = dsp position = preserve } }' \
		"$dir/input.wav" >"$dir/pw-cat.log" 2>&1 &
	cat_pid=$!
	wait_for 10 port_exists -o ttws-demo-src:output_FL ||
		die "pw-cat has no output ports"
	pw-link ttws-demo-src:output_FL ttws.sink:playback_FL || die "pw-link FL"
	pw-link ttws-demo-src:output_FR ttws.sink:playback_FR || die "pw-link FR"
	# ttwsd's CPU time (user + sys, all its threads) while it plays,
	# for ./dev bench pipeline.
	cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
	cpu0=$(cpu_ticks "$ttwsd_pid") wall0=$(date +%s.%N)
	# The graph while it plays: ttws.sink's Latency param, who drives.
	sleep 1
	pw-dump >"$dir/pw-dump.json" 2>/dev/null || true
	n=$((DURATION * 50 + 1000))
	while kill -0 "$cat_pid" 2>/dev/null; do
		((n-- > 0)) || die "pw-cat did not finish"
		sleep 0.02
	done
	wait "$cat_pid" || true
	cat_pid=
	echo "$(getconf CLK_TCK) $cpu0 $(cpu_ticks "$ttwsd_pid") $wall0 $(date +%s.%N)" \
		>"$dir/cpu.txt"
	# The last frames: the presentation delay, then their reports.
	sleep 0.5
	kill -TERM "$ttwsd_pid"
	wait "$ttwsd_pid" || die "ttwsd failed"
	ttwsd_pid=
fi
# Let the last frames play out before the earbuds go away.
sleep 0.5
kill -TERM "$sim_pid"
wait "$sim_pid" || true
sim_pid=
stop "$pw_pid"
pw_pid=

"$SIM" --report --render-log "$dir/render.csv" --frame-log "$dir/frames.csv" \
	--json >"$dir/report.txt"
report_json=$(tail -n 1 "$dir/report.txt")

ears=$(jq -c '.ears | with_entries(.value |= {state, servo: .servo.state,
	offset_ns: .servo.offset_ns, rate_ppm: (.servo.rate_ppb / 1000),
	steps: .servo.steps, reconnects: ((.connects // 1) - 1),
	frames_sent, late_at_earbud: .ear_late})' "$dir/stats.json")

audio=null pipewire=null
if [[ $SOURCE == pipewire ]]; then
	"$SIM" --compare-audio --input "$dir/input.wav" \
		--wav-prefix "$dir/ear" --json >"$dir/audio.txt" ||
		die "cannot compare the earbuds' audio"
	audio=$(tail -n 1 "$dir/audio.txt")
	# Driver check from the graph itself: the dummy driver idles while
	# ttws.sink drives.
	latency=$(jq '[.[] | select(.type == "PipeWire:Interface:Node" and
		.info.props["node.name"] == "ttws.sink") |
		.info.params.Latency[]? | select(.direction == "Input") |
		.minNs] | first // null' "$dir/pw-dump.json" 2>/dev/null || echo null)
	dummy=$(jq -r '[.[] | select(.type == "PipeWire:Interface:Node" and
		.info.props["node.name"] == "Dummy-Driver") | .info.state] |
		first // "?"' "$dir/pw-dump.json" 2>/dev/null || echo "?")
	pipewire=$(jq -c --argjson lat "${latency:-null}" --arg dummy "$dummy" \
		'.pipewire | {underruns, overruns: .sink.overruns,
		quanta, triggers, cycles: .sink.cycles, quantum: .sink.quantum,
		ring_max_bytes, rate_diff, handoff_us,
		latency_ns: .sink.latency_ns, latency_in_graph_ns: $lat,
		dummy_driver_while_playing: $dummy}' "$dir/stats.json")
fi

if ((!JSON)); then
	echo
	echo "per ear (ttwsd's view at exit):"
	jq -r '.ears | to_entries[] | "  \(.key): link \(.value.state), servo \(.value.servo.state), offset \(.value.servo.offset_ns / 1e9) s, rate \(.value.servo.rate_ppb / 1000) ppm, \(.value.frames_sent) frames sent, \((.value.connects // 1) - 1) reconnects"' "$dir/stats.json"
	grep -v '^{' "$dir/sim.out" | sed 's/^/  /'
	echo
	head -n -1 "$dir/report.txt"
	if [[ $SOURCE == pipewire ]]; then
		echo
		echo "PipeWire (ttws.sink):"
		jq -r '"  driver: \(.triggers) cycles started at rate_diff \(.rate_diff), quantum \(.quantum), dummy driver \(.dummy_driver_while_playing) while playing",
			"  latency published \(.latency_ns / 1e6) ms (in the graph: \(if .latency_in_graph_ns then (.latency_in_graph_ns / 1e6 | tostring) + " ms" else "?" end))",
			"  underruns \(.underruns), overruns \(.overruns), ring at most \(.ring_max_bytes) bytes",
			"  hand-over process() -> AUDIO sent: p50 \(.handoff_us.p50) us, p99 \(.handoff_us.p99) us"' <<<"$pipewire"
		echo
		echo "audio (what each earbud decoded vs the file's channel, ${CODEC^^}):"
		head -n -1 "$dir/audio.txt"
		# Inter-ear: each ear rounds its own render instants to the
		# sample, so ears a few us apart differ by one sample for a
		# while; the mean over the run must round to 0 and no 0.5 s
		# period reach 1.5 samples (see sim/audiocheck.h).
		jq -r --arg codec "$CODEC" '
			def ok(c): if c then "ok" else "FAILED" end;
			"  slips followed (frames landing 480 +- n samples apart): left \(.left_slips), right \(.right_slips); resyncs: left \(.left_resyncs), right \(.right_resyncs)",
			(if $codec == "pcm" then
				"  check: every sample exact but at slips (mismatches <= 2 x slips): \(ok(.left_mismatches <= 2 * .left_slips and .right_mismatches <= 2 * .right_slips))"
			else
				"  check: correlation >= 0.9 on both ears: \(ok(.left_corr >= 0.9 and .right_corr >= 0.9))"
			end),
			"  check: left on left, right on right: \(ok(.left_corr > .left_cross_corr and .right_corr > .right_cross_corr))",
			"  check: inter-ear lag 0 samples (mean \(.inter_ear_lag_mean) over \(.inter_ear_periods) periods of 0.5 s, largest period \(.inter_ear_lag_max_mean)): \(ok(.inter_ear_periods > 0 and (.inter_ear_lag_mean | fabs) < 0.5 and .inter_ear_lag_max <= 1))"' <<<"$audio"
	fi
	grep -E "WARN|FAILED" "$dir/ttwsd.log" | sed 's/^/  note: /' | head -5 || true
else
	jq -cn --argjson r "$report_json" --argjson e "$ears" \
		--arg sc "$sname" --argjson d "$DURATION" --arg src "$SOURCE" \
		--arg codec "$CODEC" --argjson a "$audio" \
		--argjson pw "$pipewire" \
		'$r + {scenario: $sc, duration_s: $d, source: $src, codec: $codec,
		ears: $e} + (if $a then {audio: {left_corr: $a.left_corr,
		right_corr: $a.right_corr,
		inter_ear_lag_samples: $a.inter_ear_lag_samples,
		left_cross_corr: $a.left_cross_corr,
		right_cross_corr: $a.right_cross_corr,
		left_mismatches: $a.left_mismatches,
		right_mismatches: $a.right_mismatches,
		inserted_silence: $a.inserted_silence,
		left_slips: $a.left_slips, right_slips: $a.right_slips,
		left_resyncs: $a.left_resyncs,
		right_resyncs: $a.right_resyncs,
		inter_ear_lag_max: $a.inter_ear_lag_max,
		inter_ear_lag_max_mean: $a.inter_ear_lag_max_mean,
		inter_ear_lag_mean: $a.inter_ear_lag_mean,
		inter_ear_periods: $a.inter_ear_periods}, pipewire: $pw}
		else {} end)'
fi
