#!/usr/bin/env bash
# ttws.sink (src/pw/sink) against a private PipeWire daemon.
#
#   pw-sink.sh PW_SINK_TEST PW_MINIMAL_CONF [RTCHECK_SO]
#
# Starts `pipewire -c PW_MINIMAL_CONF` in a temporary runtime directory (no
# session manager, no D-Bus), plays a 2 s stereo frame-counter file with
# pw-cat linked by pw-link into ttws.sink, and checks what pw-sink-test
# (the RT thread's part: trigger, ring, framer) received:
#   - every counter sample arrived once, in order, left on left, right on
#     right, and only silence around them (a quantum of silence inside,
#     PipeWire's answer to a late pw-cat on a busy machine, is counted:
#     it loses nothing);
#   - the node's SPA_PARAM_Latency is in pw-dump with the value set last,
#     and pw-cat sees it as its delay;
#   - driver mode: while streaming the dummy driver is suspended, every
#     cycle was one ttws.sink triggered, and the graph clock pw-cat reports
#     advances at 48 kHz * the rate_diff given (1.0005), which only
#     ttws.sink's clock does;
#   - follower mode (--no-driver, S16): the dummy driver leads, triggers are
#     refused, the counter still arrives intact;
#   - counters sane: no overrun, bounded ring level;
#   - with RTCHECK_SO preloaded (not under ASan), the RT thread's side of
#     the sink (pw_sink_trigger, pw_sink_quantum, the framer on the ring)
#     and the sink's process() callback on PipeWire's data thread (marked
#     by the test-hook build: one section per cycle, each reading the
#     clock) never allocated, mapped memory, locked, waited, slept,
#     printed or logged directly.
# Asserts integrity exactly, never wall-clock timing (the graph clock
# check compares PipeWire's clock fields, not time). Cleans up even on
# failure.
set -euo pipefail

prog=$1
shim=${3:+$(realpath "$3")}
# pipewire -c looks a relative path up in its config directories.
conf=$(realpath "$2")

for t in pipewire pw-cli pw-cat pw-link pw-dump jq; do
	if ! command -v "$t" >/dev/null; then
		echo "SKIP: $t not installed (./dev setup)"
		exit 77
	fi
done

T=$(mktemp -d /tmp/ttws-pw-sink.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

# Everything PipeWire finds goes through the temporary directory.
export XDG_RUNTIME_DIR=$T PIPEWIRE_RUNTIME_DIR=$T
unset PIPEWIRE_REMOTE PIPEWIRE_CORE PIPEWIRE_DEBUG

fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$T"/*.out "$T"/*.err "$T"/*.cat "$T"/pipewire.log; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 30 "$f" >&2
	done
	exit 1
}

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

has_line() {
	grep -q -- "$2" "$1"
}

# Not grep -q: exiting early could fail pw-link under pipefail.
port_exists() {
	pw-link "$1" | grep -x -- "$2" >/dev/null
}

pipewire -c "$conf" >"$T/pipewire.log" 2>&1 &
pids+=($!)
wait_for 10 pw-cli info 0 || fail "private pipewire did not answer"

# 0.5 s of silence, 2 s of counter (96000 samples), 0.5 s of silence.
"$prog" gen "$T/counter.wav" 2 0.5 0.5 || fail "cannot write the test file"
COUNTER=96000
LAT1=12500000
LAT2=45000000

# scenario NAME [pw-sink-test run options...]
# With LINK=target, pw-cat plays with --target ttws.sink, as a user would,
# and the session manager links it; otherwise pw-link does.
scenario() {
	local name=$1
	shift
	local out=$T/$name.out cat=$T/$name.cat tp cp n

	env ${PRELOAD:+LD_PRELOAD=$PRELOAD} \
		TTWS_RTCHECK_OUT="$T/$name.rtcheck" \
		"$prog" run --timeout 90 --latency-ns "$LAT1" \
		--latency2-ns "$LAT2" --expect "$COUNTER" "$@" \
		>"$out" 2>"$T/$name.err" &
	tp=$!
	pids+=("$tp")
	wait_for 10 has_line "$out" '^ready$' || fail "$name: sink not ready"
	wait_for 10 port_exists -i ttws.sink:playback_FL ||
		fail "$name: ttws.sink has no DSP ports"

	if [[ ${LINK:-} == target ]]; then
		pw-cat -p -v --target ttws.sink \
			-P '{ node.name = ttws-test-src }' \
			"$T/counter.wav" >"$cat" 2>&1 &
		cp=$!
		pids+=("$cp")
	else
		# Without a session manager target.object links nothing:
		# both ends get DSP ports from adapter.auto-port-config and
		# pw-link joins them. node.want-driver = false keeps pw-cat
		# from running on the dummy driver before it is linked.
		pw-cat -p -v -P '{ node.name = ttws-test-src
			node.want-driver = false adapter.auto-port-config =
			{ mode = dsp position = preserve } }' \
			"$T/counter.wav" >"$cat" 2>&1 &
		cp=$!
		pids+=("$cp")
		wait_for 10 port_exists -o ttws-test-src:output_FL ||
			fail "$name: pw-cat has no DSP ports"
		pw-link ttws-test-src:output_FL ttws.sink:playback_FL ||
			fail "$name: pw-link FL"
		pw-link ttws-test-src:output_FR ttws.sink:playback_FR ||
			fail "$name: pw-link FR"
	fi

	# Audio flows, then the main thread publishes LAT2.
	wait_for 20 has_line "$out" "^latency $LAT2 0\$" ||
		fail "$name: no audio, or the latency update failed"
	sleep 0.3
	pw-dump >"$T/$name.dump.json" || fail "$name: pw-dump"

	n=0
	while kill -0 "$cp" 2>/dev/null; do
		((n++ < 1500)) || fail "$name: pw-cat did not finish"
		sleep 0.02
	done
	wait "$cp" || true
	sleep 0.3
	kill -TERM "$tp"
	wait "$tp" || fail "$name: pw-sink-test exited $?"
	tail -n 1 "$out" >"$T/$name.json"
	echo "$name: $(cat "$T/$name.json")"
}

# check NAME JQ-EXPRESSION MESSAGE: the summary must satisfy the expression.
check() {
	jq -e "$2" "$T/$1.json" >/dev/null || fail "$1: $3"
}

# node_state DUMP NODE-NAME
node_state() {
	jq -r --arg n "$2" '.[] | select(.type == "PipeWire:Interface:Node"
		and .info.props["node.name"] == $n) | .info.state' "$1"
}

# Graph clock rate seen by pw-cat: first and last "stream time" of -v,
# (ticks difference) / (now difference) in samples per second.
clock_rate() {
	grep -o 'now:[0-9]* rate:1/48000 ticks:[0-9]*' "$1" |
		sed 's/now:\([0-9]*\) rate:1\/48000 ticks:\([0-9]*\)/\1 \2/' |
		awk '$2 > 0 { if (!n++) { t0 = $1; k0 = $2 } t1 = $1; k1 = $2 }
		     END { if (n < 2) print 0;
			   else printf "%.3f\n", (k1 - k0) * 1e9 / (t1 - t0) }'
}

common_checks() {
	local name=$1
	check "$name" ".counter_samples == $COUNTER" \
		"counter samples lost or invented"
	check "$name" '.counter_errors == 0 and .first_error_at == -1' \
		"counter out of order or corrupted"
	check "$name" '.swapped == 0' "left and right swapped"
	check "$name" '.noise_in_silence == 0 and .lead_samples > 0 and
		.tail_samples > 0' "silence around the counter is not silent"
	# On a busy machine pw-cat can miss a cycle (it reads the file in
	# its process callback); PipeWire then plays a quantum of silence
	# and pw-cat's data follows. That loses and reorders nothing (checked
	# above) but must stay the exception.
	check "$name" '.xrun_silence <= 24000' "pw-cat underran for > 0.5 s"
	check "$name" '.bad_records == 0 and .sink.oversize == 0' \
		"malformed ring records"
	check "$name" '.sink.overruns == 0' "ring overruns"
	check "$name" '.sink.quanta > 0 and
		.sink.samples >= .counter_samples + .lead_samples' \
		"sink counters inconsistent with what arrived"
	check "$name" '.sink.error == false' "stream or core error"
	# Bounded: the consumer keeps up, at most a few quanta wait (a
	# record is a 40-byte header and 8 bytes per stereo sample).
	check "$name" '.max_ring_bytes <= 8 * (40 + 8 * .sink.quantum)' \
		"ring level unbounded"
	check "$name" ".sink.latency_ns == $LAT2" "latency not recorded"

	# SPA_PARAM_Latency on the node and its ports, as last set.
	jq -e --argjson l "$LAT2" '[.[] | select(.type ==
		"PipeWire:Interface:Node" and
		.info.props["node.name"] == "ttws.sink") |
		.info.params.Latency[] | select(.direction == "Input" and
		.minNs == $l and .maxNs == $l)] | length == 1' \
		"$T/$name.dump.json" >/dev/null ||
		fail "$name: node Latency param not $LAT2 in pw-dump"
	jq -e --argjson l "$LAT2" '[.[] | select(.type ==
		"PipeWire:Interface:Port" and (.info.props["port.alias"] //
		"" | startswith("ttws earbuds:"))) | .info.params.Latency[] |
		select(.direction == "Input" and .minNs == $l)] | length == 2' \
		"$T/$name.dump.json" >/dev/null ||
		fail "$name: port Latency params not $LAT2 in pw-dump"
	# PipeWire propagates it upstream: pw-cat's delay covers 45 ms.
	grep -Eq 'delay:(2[1-9][0-9]{2}|[3-9][0-9]{3})\b' "$T/$name.cat" ||
		fail "$name: pw-cat's delay does not include the sink latency"
	[[ $(node_state "$T/$name.dump.json" ttws.sink) == running ]] ||
		fail "$name: ttws.sink not running while streaming"
	[[ $(node_state "$T/$name.dump.json" ttws-test-src) == running ]] ||
		fail "$name: pw-cat not running while streaming"
}

# 1. Driver mode: F32, one cycle per 10 ms frame, earbuds 500 ppm fast.
# ASan insists on being the first preloaded library: no shim then. (Not
# `ldd | grep -q`: grep's early exit fails ldd under pipefail.)
if [[ -n $shim && $(ldd "$prog") != *libasan* ]]; then
	PRELOAD=$shim scenario driver --format f32 --rate-diff 1.0005
else
	echo "rtcheck skipped: ${shim:-no shim given}, or built with ASan"
	scenario driver --format f32 --rate-diff 1.0005
fi
common_checks driver
if [[ -s $T/driver.rtcheck ]]; then
	rc() { awk -v n="$1" '$1 == n { print $2 }' "$T/driver.rtcheck$2"; }
	# Positive controls: the shim saw the thread at work, and process()
	# marked, once per cycle at least, reading the clock each time.
	(($(rc clock_gettime .rt) > 100)) || fail "driver: rtcheck saw no RT work"
	(($(rc sections .process) >= 100)) ||
		fail "driver: rtcheck saw $(rc sections .process) process() calls"
	(($(rc clock_gettime .process) >= $(rc sections .process))) ||
		fail "driver: rtcheck saw no clock read in process()"
	while read -r f n; do
		[[ $f == clock_gettime ]] && continue
		((n == 0)) || fail "driver: the RT thread or process() called $f $n times"
	done <"$T/driver.rtcheck"
	echo "driver: rtcheck: RT thread and $(rc sections .process) process() calls: no allocation, mapping, lock, wait, sleep, print or log"
fi
check driver '.driving_seen and .sink.cycles > 0 and
	.sink.trigger_errors == 0' "ttws.sink never drove a cycle"
# Every trigger became a cycle with its own nsec (a cycle that had to wait
# for a slow follower runs late, and is counted in late_cycles).
check driver '.sink.dropped == 0 and .sink.stuck == 0' \
	"triggers were dropped"
# Every quantum that reached process() came from a cycle ttws.sink
# started: nothing else drove the graph.
check driver '.sink.quanta <= .sink.cycles' \
	"quanta arrived that ttws.sink did not trigger"
# node.latency 480/48000 with clock.power-of-two-quantum = false.
check driver '.sink.quantum == 480' "the graph does not run 480-sample cycles"
# ttws.sink's own clock: positions continuous, host times increasing.
# (Under the dummy driver a busy machine can make PipeWire rerun a cycle:
# a repeated position the framer flags; that is PipeWire's clock, not
# asserted in the follower scenario.)
check driver '.discont_frames == 0 and .framer_discont == 0 and
	.bad_nsec == 0' "graph position or time jumped while driving"
[[ $(node_state "$T/driver.dump.json" Dummy-Driver) != running ]] ||
	fail "driver: the dummy driver runs while ttws.sink streams"
rate=$(clock_rate "$T/driver.cat")
awk -v r="$rate" 'BEGIN { exit !(r > 48019 && r < 48029) }' ||
	fail "driver: graph clock ${rate} Hz, not 48000 * 1.0005 = 48024"
echo "driver: graph clock as pw-cat sees it: $rate Hz (48024 expected)"

# 2. Follower mode: S16, the dummy driver leads, triggers are refused.
scenario follower --format s16 --no-driver
common_checks follower
check follower '.driving_seen == false and .sink.cycles == 0' \
	"ttws.sink drove although not a driver"
[[ $(node_state "$T/follower.dump.json" Dummy-Driver) == running ]] ||
	fail "follower: the dummy driver does not lead"
rate=$(clock_rate "$T/follower.cat")
awk -v r="$rate" 'BEGIN { exit !(r > 47990 && r < 48010) }' ||
	fail "follower: graph clock ${rate} Hz, not the dummy's 48000"
echo "follower: graph clock as pw-cat sees it: $rate Hz (48000 expected)"

# 3. As a user plays: WirePlumber on a private D-Bus session bus links
# `pw-cat --target ttws.sink`; ttws.sink drives.
if command -v wireplumber >/dev/null && command -v dbus-daemon >/dev/null; then
	dbus-daemon --session --nofork --nopidfile \
		--address="unix:path=$T/bus" >"$T/dbus.log" 2>&1 &
	pids+=($!)
	export DBUS_SESSION_BUS_ADDRESS=unix:path=$T/bus
	wait_for 10 test -S "$T/bus" || fail "session: no D-Bus session bus"
	wireplumber >"$T/wireplumber.log" 2>&1 &
	wp=$!
	pids+=("$wp")
	LINK=target scenario session --format f32 --rate-diff 1.0005
	common_checks session
	check session '.driving_seen and .sink.cycles > 0 and
		.sink.dropped == 0 and .discont_frames == 0' \
		"ttws.sink did not drive the session-manager-linked graph"
	kill "$wp"
	wait "$wp" || true
else
	echo "session: SKIP (wireplumber or dbus-daemon not installed)"
fi

echo "PASS"
