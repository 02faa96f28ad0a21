#!/usr/bin/env bash
# Many pairs on one ttwsd (issue 13, "Cost grows linearly"): live, in real
# time, for N = 1, 2, 4, 8 pairs. Per N: one ttws-earbud-sim --pair
# --pairs N (unix transport, nominal scenario, each pair its own seed and
# crystals), one ttwsd with N [pair.pK] sections (codec lc3, source
# pipewire: a sink ttws.sink.pK per pair), a private PipeWire daemon as
# the integration tests start it (pw-minimal.conf), and one pw-cat per
# sink playing a generated stereo file (ttws-earbud-sim --gen-audio),
# linked with pw-link. Once every pw-cat plays, for SCALE_SECONDS:
#   - cpu_pct: ttwsd's CPU, all its threads (utime + stime from
#     /proc/PID/stat), in % of one core;
#   - wakeup_p99_us: the RT thread's wake-up lateness P99 (GetStats
#     histograms.wakeup, reset at the window's start; a published
#     histogram is at most HIST_AGE_S old, so it is read that much later,
#     while the files still play);
# and over the whole run, from the simulator's render logs and ttwsd's
# frame logs (ttws-earbud-sim --report --pairs N --json, its .all):
#   - p99_us: the true inter-ear error P99 over all pairs' frames;
#   - lost, late: frames sent that no ear received, and frames that came
#     after their presentation time.
#
#   scale.sh [BUILD_DIR]
#   env: SCALE_N ("1 2 4 8"), SCALE_SECONDS (30), SCALE_SCENARIO
#        (nominal), SCALE_KEEP (a directory: keep each N's files in
#        DIR/N, the report's JSON line in DIR/N/report.json),
#        SCALE_LOOP_CONF (lines for ttwsd.conf's [loop] section, e.g.
#        "rx_coalesce_us = 0" to measure without receive coalescing)
#
# Targets: cpu_ratio_8_vs_1 <= 8.5 (linear or better), p99_ratio_8_vs_1
# <= 1.2, 0 lost at every N, <= 3 % of one core per pair at every N.
# A target whose N was not run is "n/a".
#
# As demo.sh on this 2-core VM: delay_margin_ms = 4 and delay_min_ms = 20
# cover a first stall of the hypervisor; the RT thread is SCHED_FIFO 80
# and the simulator 70 when run as root, unpinned.
#
# Prints a table, then one JSON line:
#   {"bench":"scale","pairs":{"1":{"cpu_pct":..,"p99_us":..,
#    "wakeup_p99_us":..,"lost":..,"late":..},...},"cpu_ratio_8_vs_1":..,
#    "p99_ratio_8_vs_1":..,"targets":{...}}
# Never fails on a number. When one N's run cannot be made (no lock, no
# sink, ttwsd failed), its object holds nulls and "error", the other N
# still run, and the script exits 1 after the JSON line.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SCALE_N=${SCALE_N:-1 2 4 8}
SECONDS_RUN=${SCALE_SECONDS:-30}
SCENARIO=${SCALE_SCENARIO:-nominal}
KEEP=${SCALE_KEEP:-}
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
# A published histogram is at most this old (engine.h).
HIST_AGE_S=2.2

for t in pipewire pw-cli pw-cat pw-link busctl jq; do
	command -v "$t" >/dev/null || { echo "scale bench: $t missing: ./dev setup" >&2; exit 1; }
done
for b in "$SIM" "$TTWSD"; do
	[[ -x $b ]] || { echo "$b missing: ./dev build" >&2; exit 1; }
done
grep -q '^#define HAVE_PIPEWIRE 1' "$BUILD/config.h" ||
	{ echo "scale bench: ttwsd built without PipeWire" >&2; exit 1; }
for n in $SCALE_N; do
	[[ $n =~ ^[1-8]$ ]] || { echo "scale bench: SCALE_N: $n is not 1..8" >&2; exit 2; }
done
if ! [[ $SECONDS_RUN =~ ^[0-9]+$ ]] || ((SECONDS_RUN < 2)); then
	echo "scale bench: SCALE_SECONDS: a whole number >= 2" >&2
	exit 2
fi

tmp=$(mktemp -d /tmp/ttws-bench-scale.XXXXXX)
pw_pid='' sim_pid='' ttwsd_pid=''
cat_pids=()
stop() { # PID...: TERM, then reap
	local p
	for p in "$@"; do
		if [[ -n $p ]]; then kill -TERM "$p" 2>/dev/null || true; fi
	done
	for p in "$@"; do
		if [[ -n $p ]]; then wait "$p" 2>/dev/null || true; fi
	done
}
cleanup() {
	stop "${cat_pids[@]}" "$ttwsd_pid" "$sim_pid" "$pw_pid"
	rm -rf "$tmp"
}
trap cleanup EXIT
# show_logs: the tail of the current run's logs, on stderr.
show_logs() {
	local f
	for f in "$run"/ttwsd.log "$run"/sim.err "$tmp"/pipewire.log "$run"/pw-cat-*.log; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 15 "$f" >&2
	done
}
die() {
	echo "scale bench: $*" >&2
	show_logs
	exit 1
}
# nfail MESSAGE: this N's run could not be made; its reason for the JSON.
nfail() { printf '%s\n' "$*" >"$run/error"; }
run=$tmp

# wait_until SECONDS COMMAND...: run COMMAND every 100 ms until it succeeds
# (0) or SECONDS have passed on the clock (1). Not lib.sh's wait_for, which
# counts its 20 ms sleeps: a status read through busctl and jq takes tens
# of ms on a loaded machine.
wait_until() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while ((${EPOCHREALTIME/./} < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

prio=0
((EUID == 0)) && prio=70
((prio)) || echo "scale bench: not root, SCHED_FIFO will be refused; numbers are SCHED_OTHER" >&2

# One private PipeWire daemon for every N (nothing of the user's session
# touched); each N's sinks and pw-cats leave with their processes.
export XDG_RUNTIME_DIR=$tmp/pw PIPEWIRE_RUNTIME_DIR=$tmp/pw
unset PIPEWIRE_REMOTE PIPEWIRE_CORE
mkdir -p "$tmp/pw"
pipewire -c "$ROOT/tests/integration/pw-minimal.conf" >"$tmp/pipewire.log" 2>&1 &
pw_pid=$!
wait_until 10 pw-cli info 0 || die "the private PipeWire daemon did not start"
# The file outlasts the window: the pw-links (up to 8 pairs, a few
# hundred ms), 1 s to settle, the window, the histogram's age, a margin.
AUDIO_S=$((SECONDS_RUN + 8))
"$SIM" --gen-audio "$tmp/input.wav" --duration "$AUDIO_S" >/dev/null ||
	die "cannot write the test file"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# thread_ticks PID: "tid comm ticks switches" per thread (comm may hold
# spaces: the fields after its closing parenthesis are counted from
# there; switches: voluntary context switches, i.e. sleeps).
thread_ticks() {
	local t
	for t in /proc/"$1"/task/*; do
		[[ -r $t/stat ]] || continue
		printf '%s %s %s %s\n' "${t##*/}" "$(tr ' ' '_' <"$t/comm")" \
			"$(sed 's/.*) //' "$t/stat" | awk '{ print $12 + $13 }')" \
			"$(awk '/^voluntary_ctxt_switches/ { print $2 }' "$t/status")"
	done
}
call() { busctl --address="unix:path=$run/control" call org.ttws.Daemon1 \
	/org/ttws/Daemon org.ttws.Daemon1 "$@"; }
stats() { call GetStats | sed 's/^s //' | jq -c 'fromjson'; }
port_exists() { pw-link "$1" | grep -x -- "$2" >/dev/null; }
streaming_ears() { # the ears streaming with their servo locked
	stats | jq '[.pairs[].ears[] | select(.state == "streaming" and
		.servo.state != "unlocked")] | length'
}
locked() { # N: every ear of the N pairs streaming and locked
	[[ $(streaming_ears) == $((2 * $1)) ]]
}

# run_n N: one run of N pairs; writes its JSON object {"cpu_pct",
# "p99_us","wakeup_p99_us","lost","late",...} to $run/result.json, or
# returns 1 with the reason in $run/error and its processes left for the
# caller to stop. Not in a subshell: the caller and cleanup see the pids.
run_n() {
	local n=$1 k names=() c
	run=$tmp/n$n
	mkdir -p "$run"
	for ((k = 0; k < n; k++)); do
		names+=("p$k")
	done
	{
		cat <<CONF
# Written by scale.sh: $n pairs over the unix transport, LC3 from PipeWire.
[rt]
priority = $((prio ? 80 : 0))
[stream]
source = pipewire
codec = lc3
delay_margin_ms = 4
delay_min_ms = 20
[loop]
${SCALE_LOOP_CONF:-}
[control]
socket = $run/control
CONF
		for c in "${names[@]}"; do
			cat <<CONF
[pair.$c]
left.transport = unix
left.path = $run/left-$c.sock
right.transport = unix
right.path = $run/right-$c.sock
CONF
		done
	} >"$run/ttwsd.conf"
	# --pair-names: a run of one pair names its files -p0 too.
	local pn
	pn=$(IFS=,; echo "${names[*]}")
	"$SIM" --pair --pairs "$n" --pair-names "$pn" \
		--scenario "$ROOT/tests/scenarios/$SCENARIO.ini" \
		--left "$run/left.sock" --right "$run/right.sock" \
		--render-log "$run/render.csv" --priority "$prio" \
		--spin-guard-us 50 >"$run/sim.out" 2>"$run/sim.err" &
	sim_pid=$!
	for c in "${names[@]}"; do
		wait_until 5 test -S "$run/left-$c.sock" -a -S "$run/right-$c.sock" ||
			{ nfail "the simulated pair $c did not start"; return 1; }
	done
	"$TTWSD" --config "$run/ttwsd.conf" --frame-log "$run/frames.csv" \
		--stats-file "$run/stats.json" 2>"$run/ttwsd.log" &
	ttwsd_pid=$!
	for c in "${names[@]}"; do
		wait_until 10 port_exists -i "ttws.sink.$c:playback_FL" ||
			{ nfail "ttws.sink.$c did not appear"; return 1; }
	done
	# Audio before the lock would not reach the earbuds.
	wait_until 30 locked "$n" || {
		nfail "$(streaming_ears || echo "?") of $((2 * n)) ears streaming and locked after 30 s"
		return 1
	}

	# One pw-cat per sink, linked as pw-e2e.sh does (no session
	# manager: DSP ports on both ends; want-driver = false keeps the
	# file still until its sink drives it).
	cat_pids=()
	for c in "${names[@]}"; do
		pw-cat -p -P "{ node.name = src-$c node.want-driver = false
			adapter.auto-port-config = { mode = dsp position = preserve } }" \
			"$tmp/input.wav" >"$run/pw-cat-$c.log" 2>&1 &
		cat_pids+=($!)
	done
	for c in "${names[@]}"; do
		wait_until 10 port_exists -o "src-$c:output_FL" || { nfail "pw-cat $c has no ports"; return 1; }
		pw-link "src-$c:output_FL" "ttws.sink.$c:playback_FL" || { nfail "pw-link $c FL"; return 1; }
		pw-link "src-$c:output_FR" "ttws.sink.$c:playback_FR" || { nfail "pw-link $c FR"; return 1; }
	done

	# The window: every file playing.
	local tck c0 c1 w0 w1 wake p
	sleep 1
	call ResetStats >/dev/null || { nfail "ResetStats failed"; return 1; }
	tck=$(getconf CLK_TCK)
	thread_ticks "$ttwsd_pid" >"$run/threads0"
	c0=$(cpu_ticks "$ttwsd_pid") w0=$(date +%s.%N)
	sleep "$SECONDS_RUN"
	c1=$(cpu_ticks "$ttwsd_pid") w1=$(date +%s.%N)
	thread_ticks "$ttwsd_pid" >"$run/threads1"
	# Where the CPU went, per thread (% of one core, and sleeps per
	# second), for the table.
	awk -v tck="$tck" -v w0="$w0" -v w1="$w1" '
		NR == FNR { t0[$1] = $3; s0[$1] = $4; next }
		{ c[$2] += ($3 - t0[$1]) / tck / (w1 - w0) * 100
		  w[$2] += ($4 - s0[$1]) / (w1 - w0) }
		END { for (k in c) printf "%s=%.2f%% (%.0f/s) ", k, c[k], w[k]
		      print "" }' \
		"$run/threads0" "$run/threads1" >"$run/threads"
	sleep "$HIST_AGE_S"
	wake=$(stats | jq '.histograms.wakeup.p99_us // empty')
	[[ -n $wake ]] || { nfail "no wake-up histogram in GetStats"; return 1; }
	for p in "${cat_pids[@]}"; do
		kill -0 "$p" 2>/dev/null ||
			{ nfail "a pw-cat ended inside the window (its file is ${AUDIO_S} s)"; return 1; }
	done
	for p in "${cat_pids[@]}"; do
		wait "$p" || true
	done
	cat_pids=()
	# The last frames: the presentation delay, then their reports.
	sleep 0.5
	kill -TERM "$ttwsd_pid"
	wait "$ttwsd_pid" || { nfail "ttwsd failed"; return 1; }
	ttwsd_pid=
	sleep 0.5
	kill -TERM "$sim_pid"
	wait "$sim_pid" || true
	sim_pid=

	# ttwsd writes FILE.NAME per pair when it has several, FILE alone
	# for one; the report reads FILE-NAME.csv (ttws-earbud-sim(1)).
	for c in "${names[@]}"; do
		if ((n > 1)); then
			ln -sf "frames.csv.$c" "$run/frames-$c.csv"
		else
			ln -sf frames.csv "$run/frames-$c.csv"
		fi
	done
	"$SIM" --report --pairs "$n" --pair-names "$pn" \
		--render-log "$run/render.csv" --frame-log "$run/frames.csv" \
		--json >"$run/report.txt" 2>"$run/report.err" ||
		{ nfail "the report failed: $(cat "$run/report.err")"; return 1; }
	tail -n 1 "$run/report.txt" >"$run/report.json"
	jq -e --argjson n "$n" '.pairs | length == $n' "$run/report.json" >/dev/null ||
		{ nfail "the report has not $n pairs"; return 1; }
	jq -c --argjson tck "$tck" --argjson c0 "$c0" --argjson c1 "$c1" \
		--argjson w0 "$w0" --argjson w1 "$w1" --argjson wake "$wake" '{
		cpu_pct: (($c1 - $c0) / $tck / ($w1 - $w0) * 10000 | round / 100),
		p99_us: .all.inter_ear_error_us.p99,
		wakeup_p99_us: $wake,
		lost: .all.frames.lost, late: .all.frames.late,
		frames_sent: .all.frames.sent, frames_both: .all.frames.both }' \
		"$run/report.json" >"$run/result.json"
	if [[ -n $KEEP ]]; then
		mkdir -p "$KEEP/$n"
		cp -r "$run"/. "$KEEP/$n/"
	fi
}

printf '%-6s %8s %13s %8s %14s %6s %6s %8s\n' pairs cpu_% cpu_%_per_pair \
	p99_us wakeup_p99_us lost late sent
: >"$tmp/per_n.jsonl"
failed=0
for n in $SCALE_N; do
	if ! run_n "$n"; then
		echo "scale bench: N=$n: $(cat "$run/error")" >&2
		show_logs
		stop "${cat_pids[@]}" "$ttwsd_pid" "$sim_pid"
		cat_pids=() ttwsd_pid='' sim_pid=''
		if [[ -n $KEEP ]]; then
			mkdir -p "$KEEP/$n"
			cp -r "$run"/. "$KEEP/$n/"
		fi
		jq -cn --arg n "$n" --arg e "$(cat "$run/error")" '{($n): {cpu_pct: null,
			p99_us: null, wakeup_p99_us: null, lost: null, late: null,
			error: $e}}' >>"$tmp/per_n.jsonl"
		printf '%-6s %s\n' "$n" "run failed: $(cat "$run/error")"
		failed=1
		continue
	fi
	r=$(cat "$run/result.json")
	jq -c --arg n "$n" '{($n): .}' <<<"$r" >>"$tmp/per_n.jsonl"
	jq -r --argjson n "$n" '[$n, .cpu_pct, (.cpu_pct / $n * 100 | round / 100),
		.p99_us, .wakeup_p99_us, .lost, .late, .frames_sent] | @tsv' <<<"$r" |
		awk -F'\t' '{ printf "%-6s %8s %13s %8s %14s %6s %6s %8s\n",
			$1, $2, $3, $4, $5, $6, $7, $8 }'
	echo "       threads (% of one core): $(cat "$run/threads")"
done
echo "each N: ${SECONDS_RUN} s window, scenario $SCENARIO, LC3 from PipeWire, RT prio $((prio ? 80 : 0))"

# A target over an N that was asked for and failed is missed; over an N
# not asked for (SCALE_N), n/a.
jq -cs --argjson secs "$SECONDS_RUN" '
	add as $p
	| def ok($k): $p[$k] != null and $p[$k].error == null;
	def ratio($k): if ok("8") and ok("1") and $p["1"][$k] > 0
		then ($p["8"][$k] / $p["1"][$k] * 1000 | round / 1000) else null end;
	def verdict($asked; $v; cond): if ($asked | not) then "n/a"
		elif $v == null then "missed" elif ($v | cond) then "met"
		else "missed" end;
	($p["1"] != null and $p["8"] != null) as $both
	| ratio("cpu_pct") as $cr | ratio("p99_us") as $pr
	| ([$p[] | .lost] | if any(. == null) then null else max end) as $lost
	| ([$p | to_entries[] | if .value.cpu_pct == null then null
		else .value.cpu_pct / (.key | tonumber) end]
		| if any(. == null) then null else (max * 100 | round / 100) end) as $per
	| { bench: "scale",
	    pairs: ($p | with_entries(.value |= ({cpu_pct, p99_us, wakeup_p99_us,
		lost, late} + if .error then {error} else {} end))),
	    cpu_ratio_8_vs_1: $cr, p99_ratio_8_vs_1: $pr,
	    seconds: $secs,
	    targets: {
		cpu_ratio_8_vs_1_le_8_5: { value: $cr,
			result: verdict($both; $cr; . <= 8.5) },
		p99_ratio_8_vs_1_le_1_2: { value: $pr,
			result: verdict($both; $pr; . <= 1.2) },
		lost_0_at_every_n: { value: $lost,
			result: verdict(true; $lost; . == 0) },
		cpu_pct_per_pair_le_3: { value: $per,
			result: verdict(true; $per; . <= 3) } } }
	' "$tmp/per_n.jsonl"
exit "$failed"
