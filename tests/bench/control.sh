#!/usr/bin/env bash
# What the control API costs the RT thread: ttwsd streams to the simulated
# pair (tone, nominal scenario) while, in interleaved rounds, nobody polls
# (quiet) or CLIENTS clients poll what `ttwsctl status` reads back to back
# (loaded, tests/bench/bench-control.c). Each phase starts with
# ResetStats; its RT wake-up P99 is the frame clock's lateness histogram
# (GetStats histograms.wakeup, recorded by the RT thread itself). The
# ratio is taken per round (loaded / quiet, the same machine minutes
# apart) and the median over rounds reported, so one noisy round cannot
# decide it. status_rtt_p99_us is the clients' round trip of one status
# (three GetAll calls) under that load, mostly the queue at ttwsd's one
# main thread; status_rtt_p99_us_one_client the same for a lone client.
#
#   control.sh [BUILD_DIR]
#   env: ROUNDS (7), CLIENTS (50), PHASE_S (15), SCENARIO (nominal),
#        RT_CPU (the last CPU), LOAD_CPUS (the others)
#
# The frame clock ticks 100 times a second, so a phase of PHASE_S seconds
# holds 100 * PHASE_S wake-ups and its P99 rests on PHASE_S of them: 15 s
# gives 15; shorter phases make the per-round ratio swing by tens of %.
#
# Placement as on a gateway (DESIGN.md, "Real-time placement"): the RT
# thread pinned to RT_CPU ([rt] cpu), the clients and the earbud
# simulator kept off it (taskset).
# ttwsd's main thread, which answers them, is not pinned: what it costs
# the RT thread is part of the measure. RT_CPU=-1 unpins everything.
#
# Prints a table, then one JSON line. Never fails on a number.
set -euo pipefail

BUILD=$(realpath "${1:-build}")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-7}
CLIENTS=${CLIENTS:-50}
PHASE_S=${PHASE_S:-15}
ncpu=$(nproc)
RT_CPU=${RT_CPU:-$((ncpu - 1))}
if ((RT_CPU >= 0 && ncpu > 1)); then
	LOAD_CPUS=${LOAD_CPUS:-0-$((RT_CPU > 0 ? RT_CPU - 1 : 0))}
	pin=(taskset -c "$LOAD_CPUS")
else
	RT_CPU=-1
	pin=()
fi
SCENARIO=${SCENARIO:-nominal}
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
LOAD=$BUILD/tests/bench/bench-control
for b in "$SIM" "$TTWSD" "$LOAD"; do
	[[ -x $b ]] || { echo "$b missing: ./dev build" >&2; exit 1; }
done
# shellcheck source=../integration/lib.sh
. "$ROOT/tests/integration/lib.sh"
# A published histogram is at most this old (engine.h).
HIST_AGE_S=2.2

tmp=$(mktemp -d)
sim_pid= ttwsd_pid=
cleanup() {
	[[ -n $ttwsd_pid ]] && kill "$ttwsd_pid" 2>/dev/null
	[[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

prio=0
((EUID == 0)) && prio=80
((prio)) || echo "control bench: not root, SCHED_FIFO will be refused; numbers are SCHED_OTHER" >&2
cat >"$tmp/ttwsd.conf" <<CONF
[rt]
priority = $prio
cpu = $RT_CPU
[stream]
source = tone
CONF
pair_conf "$tmp" >>"$tmp/ttwsd.conf"
# The earbuds are other devices: keep their simulator off the RT CPU.
"${pin[@]}" "$SIM" --pair --scenario "$ROOT/tests/scenarios/$SCENARIO.ini" \
	--left "$tmp/left.sock" --right "$tmp/right.sock" \
	--priority "$prio" >/dev/null 2>"$tmp/sim.err" &
sim_pid=$!
wait_for 2 test -S "$tmp/left.sock" -a -S "$tmp/right.sock" ||
	{ echo "the simulated pair did not start" >&2; exit 1; }
"$TTWSD" --config "$tmp/ttwsd.conf" 2>"$tmp/ttwsd.log" &
ttwsd_pid=$!

call() { busctl --address="unix:path=$tmp/control" call org.ttws.Daemon1 \
	/org/ttws/Daemon org.ttws.Daemon1 "$@"; }
both_streaming() {
	[[ $(ear_state "$tmp/control" left) == streaming &&
		$(ear_state "$tmp/control" right) == streaming ]]
}
wait_for 10 both_streaming || { tail "$tmp/ttwsd.log" >&2; echo "ttwsd did not stream" >&2; exit 1; }
wakeup_p99() { call GetStats | sed 's/^s //' | jq -r 'fromjson | .histograms.wakeup.p99_us // empty'; }

add() { awk -v a="$1" -v b="$2" -v c="${3:-0}" 'BEGIN { print a + b + c }'; }

printf '%-6s %14s %14s %8s %16s %10s\n' round quiet_p99_us loaded_p99_us ratio status_p99_us calls
Q=() L=() R=() S=()
for r in $(seq "$ROUNDS"); do
	call ResetStats >/dev/null
	sleep "$(add "$PHASE_S" "$HIST_AGE_S")"
	q=$(wakeup_p99)
	call ResetStats >/dev/null
	"${pin[@]}" "$LOAD" "$tmp/control" "$CLIENTS" "$(add "$PHASE_S" "$HIST_AGE_S" 1)" >"$tmp/load.$r" &
	lp=$!
	sleep "$(add "$PHASE_S" "$HIST_AGE_S")"
	l=$(wakeup_p99)
	wait "$lp" || { echo "load clients failed: $(cat "$tmp/load.$r")" >&2; exit 1; }
	read -r _ calls _ _ _ _ _ rtt _ _ <"$tmp/load.$r"
	[[ -n $q && -n $l ]] || { echo "no wake-up histogram in GetStats" >&2; exit 1; }
	ratio=$(awk -v a="$l" -v b="$q" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
	printf '%-6s %14s %14s %8s %16s %10s\n' "$r" "$q" "$l" "$ratio" "$rtt" "$calls"
	Q+=("$q") L+=("$l") R+=("$ratio") S+=("$rtt")
done
# One client alone: the round trip without the queue 50 clients make.
"${pin[@]}" "$LOAD" "$tmp/control" 1 2 >"$tmp/load.single"
read -r _ _ _ _ _ _ _ rtt1 _ _ <"$tmp/load.single"
echo "one client alone: status round trip p99 $rtt1 us"
med() { printf '%s\n' "$@" | sort -g |
	awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
echo "medians over $ROUNDS rounds of ${PHASE_S}+ s, $CLIENTS clients${pin:+ on CPUs $LOAD_CPUS}, RT thread prio $prio on CPU $RT_CPU"
jq -cn --argjson rounds "$ROUNDS" --argjson clients "$CLIENTS" --argjson rtcpu "$RT_CPU" \
	--argjson q "$(med "${Q[@]}")" --argjson l "$(med "${L[@]}")" \
	--argjson ratio "$(med "${R[@]}")" --argjson rtt "$(med "${S[@]}")" \
	--argjson rtt1 "$rtt1" '{
	bench: "control", rounds: $rounds, clients: $clients, rt_cpu: $rtcpu,
	status_rtt_p99_us: $rtt, status_rtt_p99_us_one_client: $rtt1,
	rt_wakeup_p99_us_quiet: $q, rt_wakeup_p99_us_loaded: $l,
	rt_wakeup_p99_ratio_under_load: $ratio,
	target_ratio: 1.10, met: ($ratio <= 1.10) }'
