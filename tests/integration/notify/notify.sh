#!/usr/bin/env bash
# ttwsd and its service manager (src/daemon/notify.h), without systemd:
# ttwsd on the simulated pair with NOTIFY_SOCKET pointing at a datagram
# socket this test reads (notify-listen.py), WATCHDOG_USEC=2000000 and
# WATCHDOG_PID=ttwsd's pid. Asserts:
#   - the first notification is a STATUS= without READY=1, and READY=1
#     comes later, with a STATUS= made from the engine's snapshot (both
#     ears named), once the RT loop has run (GetStats right after it:
#     loop wake-ups, service.ready);
#   - STATUS= later says both ears are locked, and is sent only on change
#     (no two consecutive identical STATUS= lines);
#   - WATCHDOG=1 arrives regularly (at most 1.2 s apart for a 2 s
#     watchdog);
#   - test builds (HAVE_TEST_HOOKS): DebugStallRT 5 stops the pings for
#     >= 4 s (it would not if the watchdog were fed without looking at
#     the RT heartbeat), they resume after it, and the method refuses 0
#     and 601 seconds; in other builds the method does not exist.
# Cleans up after itself even when it fails.
#
#   notify.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TTWSD=$BUILD/src/daemon/ttwsd
SIM=$BUILD/src/sim/ttws-earbud-sim
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"

for t in busctl jq /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

dir=$(mktemp -d /tmp/ttws-notify.XXXXXX)
listen_pid= sim_pid= ttwsd_pid=
cleanup() {
	local p
	set +e # a killed child's status must not become the test's
	for p in $ttwsd_pid $sim_pid $listen_pid; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in $ttwsd_pid $sim_pid $listen_pid; do
		wait "$p" 2>/dev/null || true
	done
	[[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$dir/notify.log" "$dir/ttwsd.log" "$dir/sim.err"; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 25 "$f" >&2
	done
	exit 1
}
mono_ns() { /usr/bin/python3 -c 'import time; print(time.monotonic_ns())'; }
bus() {
	busctl --address="unix:path=$dir/control" "$@"
}

/usr/bin/python3 "$HERE/notify-listen.py" "$dir/notify.sock" \
	"$dir/notify.log" &
listen_pid=$!
wait_for 5 test -S "$dir/notify.sock" || fail "the listener did not start"
: >>"$dir/notify.log"

"$SIM" --pair --scenario "$ROOT/tests/scenarios/nominal.ini" \
	--left "$dir/left.sock" --right "$dir/right.sock" \
	>"$dir/sim.out" 2>"$dir/sim.err" &
sim_pid=$!
wait_for 5 test -S "$dir/right.sock" || fail "the simulated pair did not start"

cat >"$dir/ttwsd.conf" <<CONF
[rt]
priority = 0
[stream]
source = tone
delay_margin_ms = 4
delay_min_ms = 20
CONF
pair_conf "$dir" >>"$dir/ttwsd.conf"

# exec in a subshell: WATCHDOG_PID is ttwsd's own pid, as systemd sets it
# (sd_watchdog_enabled() ignores the variables for any other pid).
(
	export NOTIFY_SOCKET=$dir/notify.sock WATCHDOG_USEC=2000000
	WATCHDOG_PID=$BASHPID
	export WATCHDOG_PID
	exec "$TTWSD" --config "$dir/ttwsd.conf"
) 2>"$dir/ttwsd.log" &
ttwsd_pid=$!

ready() { grep -q 'READY=1' "$dir/notify.log"; }
wait_for 15 ready || fail "no READY=1"
bus call org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 GetStats |
	sed 's/^s //' | jq -r . >"$dir/at-ready.json" ||
	fail "GetStats after READY=1"
jq -e '.service.ready == true and .loop.wakeups > 0 and
	.service.watchdog_usec == 2000000' "$dir/at-ready.json" >/dev/null ||
	fail "at READY=1 the RT loop had not run or the service section is wrong: $(jq -c '{service, loop}' "$dir/at-ready.json")"

locked() { grep -q 'STATUS=left locked, right locked' "$dir/notify.log"; }
wait_for 25 locked || fail "STATUS= never said both ears are locked"

hooks=0
grep -q '^#define HAVE_TEST_HOOKS 1' "$BUILD/config.h" && hooks=1
stall_at=0
if ((hooks)); then
	# Out-of-range stalls are refused.
	for s in 0 601; do
		if bus call org.ttws.Daemon1 /org/ttws/Daemon \
			org.ttws.Daemon1 DebugStallRT u "$s" >"$dir/bad.out" 2>&1; then
			fail "DebugStallRT $s was accepted"
		fi
		grep -qi 'invalid\|1\.\.600' "$dir/bad.out" ||
			fail "DebugStallRT $s: unexpected error: $(cat "$dir/bad.out")"
	done
	# Pings first, for a baseline.
	sleep 3
	stall_at=$(mono_ns)
	bus call org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 \
		DebugStallRT u 5 || fail "DebugStallRT 5 failed"
	sleep 8
else
	echo "built without test hooks: the stall part is skipped"
	# ... and the hook is not there at all.
	if bus call org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 \
		DebugStallRT u 5 >"$dir/bad.out" 2>&1; then
		fail "DebugStallRT exists in a build without test hooks"
	fi
	grep -qi 'unknown' "$dir/bad.out" ||
		fail "DebugStallRT without test hooks: $(cat "$dir/bad.out")"
	sleep 4
fi

# Judge the notifications (times in ns, CLOCK_MONOTONIC).
/usr/bin/python3 - "$dir/notify.log" "$stall_at" <<'PY' || fail "see above"
import re, sys

lines = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1])]
msgs = [(int(t), m) for t, m in lines]
stall_at = int(sys.argv[2])
bad = []

first_t, first = msgs[0]
if "READY=1" in first or not first.startswith("STATUS="):
    bad.append("first notification is not a STATUS= alone: %r" % first)
ready = [(t, m) for t, m in msgs if "READY=1" in m.split("|")]
if len(ready) != 1:
    bad.append("READY=1 sent %d times" % len(ready))
else:
    t, m = ready[0]
    st = [f for f in m.split("|") if f.startswith("STATUS=")]
    if not st or not re.match(r"STATUS=left \w+, right \w+; test tone$",
                              st[0]):
        bad.append("READY=1 without a snapshot STATUS=: %r" % m)
statuses = [m for _, m in msgs
            for f in m.split("|") if f.startswith("STATUS=")]
texts = [f for _, m in msgs for f in m.split("|") if f.startswith("STATUS=")]
for a, b in zip(texts, texts[1:]):
    if a == b:
        bad.append("STATUS= repeated without a change: %r" % a)
        break
pings = [t for t, m in msgs if "WATCHDOG=1" in m.split("|")]
print("notifications: %d, STATUS=: %d, WATCHDOG=1: %d" %
      (len(msgs), len(texts), len(pings)))
if len(pings) < 5:
    bad.append("only %d WATCHDOG=1" % len(pings))
gaps = [(b - a) / 1e9 for a, b in zip(pings, pings[1:])]
if stall_at:
    before = [g for a, g in zip(pings, gaps) if a < stall_at]
    after_stall = [t for t in pings if t > stall_at]
    # The stall starts at the RT thread's next stats tick (<= 100 ms).
    long = [(a, g) for a, g in zip(pings, gaps)
            if g >= 4.0 and a >= stall_at - 2e9 and a <= stall_at + 1e9]
    if not long:
        bad.append("no WATCHDOG=1 gap >= 4 s around DebugStallRT 5 "
                   "(gaps after it: %s)" %
                   [round(g, 2) for a, g in zip(pings, gaps)
                    if a >= stall_at - 2e9])
    else:
        end = long[0][0] + long[0][1] * 1e9
        resumed = [t for t in after_stall if t >= end]
        if len(resumed) < 2:
            bad.append("pings did not resume after the stall")
        print("stall: no WATCHDOG=1 for %.2f s, then %d pings" %
              (long[0][1], len(resumed)))
    if before and max(before) > 1.2:
        bad.append("pings more than 1.2 s apart before the stall: %.2f"
                   % max(before))
elif gaps and max(gaps) > 1.2:
    bad.append("pings more than 1.2 s apart: %.2f" % max(gaps))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
kill -0 "$ttwsd_pid" 2>/dev/null || fail "ttwsd died"
echo "notify: ok"
