#!/usr/bin/env bash
# The RT proof on the unix transport, the parts the other live tests do
# not run (sync-live, control and pw-e2e run the io_uring backend under
# both checks too):
#  1. the epoll backend (timerfd, epoll_wait busy-polling, recvmsg,
#     send) with the right earbud dropping its link for 1.5 s: ttwsd runs
#     under the rtcheck shim and TTWS_RT_SECCOMP=1, and the RT thread,
#     through streaming, the drop, the reconnect (a new socket, connect,
#     its options) and the shutdown, makes no forbidden call (rtcheck: 0
#     of each; seccomp: ttwsd alive, exit 0), while it is seen at work
#     (rtcheck's clock reads, frames to both ears, the reconnect) and the
#     filter is seen installed on the RT thread alone (/proc);
#  2. the filter is live: with TTWS_RT_SECCOMP=1 the test hook
#     DebugStallRT makes the RT thread call clock_nanosleep inside its
#     loop, and ttwsd dies of SIGSYS;
#  3. the same hook in the log mode: ttwsd lives, streams on, reports
#     clock_nanosleep's number, and exits 0 on SIGTERM.
#
#   unix.sh BUILD_DIR RTCHECK_SO
set -euo pipefail
BUILD=$(realpath "$1") SHIM=$(realpath "$2")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TTWSD=$BUILD/src/daemon/ttwsd
SIM=$BUILD/src/sim/ttws-earbud-sim
tmp=$(mktemp -d /tmp/ttws-rtproof.XXXXXX)
sim_pid= ttwsd_pid=
cleanup() {
	local p
	for p in $ttwsd_pid $sim_pid; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$tmp"/*.log "$tmp"/sim.err; do
		[[ -s $f ]] && { echo "---- ${f##*/}" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
if rtp_sanitized "$TTWSD"; then
	echo "SKIP: ttwsd is built with AddressSanitizer (no shim, no filter)"
	exit 77
fi
grep -q '^#define HAVE_TEST_HOOKS 1' "$BUILD/config.h" || {
	echo "SKIP: a build without test hooks has no TTWS_RT_SECCOMP"
	exit 77
}
command -v busctl >/dev/null || fail "busctl missing (package systemd)"
# A dying ttwsd should not leave a core file behind.
ulimit -c 0

# sim_start SCENARIO_FILE: the simulated pair on $tmp/{left,right}.sock.
sim_start() {
	rm -f "$tmp/left.sock" "$tmp/right.sock"
	"$SIM" --pair --scenario "$1" --left "$tmp/left.sock" \
		--right "$tmp/right.sock" --render-log "$tmp/render.csv" \
		>"$tmp/sim.out" 2>"$tmp/sim.err" &
	sim_pid=$!
	wait_for 5 test -S "$tmp/right.sock" || fail "the simulated pair did not start"
}
sim_stop() {
	kill "$sim_pid" 2>/dev/null || true
	wait "$sim_pid" 2>/dev/null || true
	sim_pid=
}
# conf [EXTRA]: ttwsd.conf for the pair, without real-time privileges
# (the proof is about calls, not timing: this machine is shared).
conf() {
	cat >"$tmp/ttwsd.conf" <<CONF
[rt]
priority = 0
lock_memory = no
dma_latency = no
[reconnect]
backoff_min_ms = 100
backoff_max_ms = 400
$1
CONF
	pair_conf "$tmp" >>"$tmp/ttwsd.conf"
}
streaming() {
	[[ $(ear_state "$tmp/control" left) == streaming &&
		$(ear_state "$tmp/control" right) == streaming ]]
}

# ---- 1. epoll, a drop and a reconnect, both checks --------------------------
cp "$ROOT/tests/scenarios/nominal.ini" "$tmp/drop.ini"
# Appended to [right], the scenario's last section.
printf '\ndrop_at_s = 2\ndrop_for_s = 1.5\n' >>"$tmp/drop.ini"
sim_start "$tmp/drop.ini"
conf "[loop]
backend = epoll
busy_poll_us = 100
spin_guard_us = 50"
env LD_PRELOAD="$SHIM" TTWS_RTCHECK_OUT="$tmp/rt.txt" TTWS_RT_SECCOMP=1 \
	"$TTWSD" --config "$tmp/ttwsd.conf" --duration 6 \
	--stats-file "$tmp/stats.json" 2>"$tmp/epoll.log" &
ttwsd_pid=$!
rtp_confined "$ttwsd_pid"
rc=0
wait "$ttwsd_pid" || rc=$?
ttwsd_pid=
sim_stop
((rc == 0)) || fail "ttwsd under the filter exited $rc (159: killed by SIGSYS)"
grep -q "TTWS_RT_SECCOMP: the RT thread is confined" "$tmp/epoll.log" ||
	fail "ttwsd did not say the RT thread is confined"
grep -q "RT loop: epoll" "$tmp/epoll.log" || fail "not the epoll backend"
s() { jq -r "$1" "$tmp/stats.json"; }
(($(s .ears.right.connects) >= 2)) || fail "the right ear never reconnected"
for ear in left right; do
	(($(s ".ears.$ear.frames_sent") >= 200)) ||
		fail "$ear: only $(s ".ears.$ear.frames_sent") frames sent"
done
[[ $(s .ears.right.state) == streaming ]] || fail "right not streaming at the end"
rtp_zero "$tmp/rt.txt" "epoll: the RT thread"
rtp_seen "$tmp/rt.txt.rt" 1000 "epoll: the RT thread"
echo "epoll: $(s .ears.left.frames_sent)/$(s .ears.right.frames_sent) frames," \
	"right reconnected; rtcheck: RT thread clean, $(rtp_count "$tmp/rt.txt.rt" clock_gettime) clock reads; seccomp: alive, exit 0"

# ---- 2. a forbidden call kills ----------------------------------------------
cp "$ROOT/tests/scenarios/nominal.ini" "$tmp/plain.ini"
sim_start "$tmp/plain.ini"
conf ""
TTWS_RT_SECCOMP=1 "$TTWSD" --config "$tmp/ttwsd.conf" 2>"$tmp/kill.log" &
ttwsd_pid=$!
wait_for 10 streaming || fail "kill probe: the ears did not stream"
rtp_confined "$ttwsd_pid"
busctl --address="unix:path=$tmp/control" call org.ttws.Daemon1 \
	/org/ttws/Daemon org.ttws.Daemon1 DebugStallRT u 1 >/dev/null ||
	fail "DebugStallRT refused"
# The stall starts at the next stats tick (<= 100 ms).
n=250
while kill -0 "$ttwsd_pid" 2>/dev/null && ((n-- > 0)); do
	sleep 0.02
done
rc=0
wait "$ttwsd_pid" || rc=$?
ttwsd_pid=
sim_stop
((rc == 128 + $(kill -l SYS))) ||
	fail "clock_nanosleep on the confined RT thread: ttwsd ended with $rc, not SIGSYS"
echo "kill probe: clock_nanosleep in the RT loop (DebugStallRT) killed ttwsd with SIGSYS"

# ---- 3. the log mode notes it and carries it out ----------------------------
sim_start "$tmp/plain.ini"
TTWS_RT_SECCOMP=log "$TTWSD" --config "$tmp/ttwsd.conf" 2>"$tmp/log.log" &
ttwsd_pid=$!
wait_for 10 streaming || fail "log probe: the ears did not stream"
busctl --address="unix:path=$tmp/control" call org.ttws.Daemon1 \
	/org/ttws/Daemon org.ttws.Daemon1 DebugStallRT u 1 >/dev/null ||
	fail "DebugStallRT refused"
nr=$(rtp_nr clock_nanosleep)
wait_for 5 grep -q "the RT thread made syscall $nr (log mode)" "$tmp/log.log" ||
	fail "log mode: no line for clock_nanosleep ($nr)"
# It slept its second and went on.
sleep 1.5
wait_for 5 streaming || fail "log mode: the ears stopped streaming"
kill -TERM "$ttwsd_pid"
rc=0
wait "$ttwsd_pid" || rc=$?
ttwsd_pid=
sim_stop
((rc == 0)) || fail "log mode: ttwsd exited $rc"
# Only clock_nanosleep was off the list.
other=$(grep "the RT thread made syscall" "$tmp/log.log" | grep -v "syscall $nr " || true)
[[ -z $other ]] || fail "log mode: other syscalls off the list: $other"
echo "log probe: clock_nanosleep ($nr) noted and carried out; ttwsd streamed on and exited 0"
echo "rtproof-unix: ok"
