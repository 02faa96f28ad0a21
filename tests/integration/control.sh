#!/usr/bin/env bash
# The control API against a streaming ttwsd and the simulated pair, with
# busctl (systemd's own D-Bus client) and ttwsctl as the peers:
# - the socket file gets mode 0660 and group ttws by default;
# - busctl --address introspects the daemon and ear objects;
# - Set of the estimator and of the delay bounds while streaming shows in
#   GetStats, bad values and restart-only keys are refused with the
#   reason, a bad reload keeps the running values and names file:line, a
#   good one reports the keys that need a restart;
# - a user outside group ttws reads but is refused Set (AccessDenied); a
#   user in it may Set (needs root to create them; skipped otherwise);
# - 100 concurrent `ttwsctl status` clients are answered;
# - ResetStats zeroes the counters;
# - [metrics] textfile is written and promtool accepts it;
# and through all of it, from the simulator's render log: every frame of
# the run rendered by both ears, none lost or late, no gap; and the RT
# thread never allocated, mapped memory, locked, waited, slept, printed
# or logged directly (rtcheck), nor made a syscall off its loop's list
# (TTWS_RT_SECCOMP=1: the filter would have killed ttwsd), through every
# Set, Reload and ResetStats it adopted (neither under ASan).
#
#   control.sh BUILD_DIR RTCHECK_SO
set -euo pipefail
BUILD=$(realpath "$1") SHIM=$(realpath "$2")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TTWSD=$BUILD/src/daemon/ttwsd
TTWSCTL=$BUILD/src/ctl/ttwsctl
tmp=$(mktemp -d /tmp/ttws-control.XXXXXX)
chmod 755 "$tmp"
demo_pid= lone_pid=
made_users=()
cleanup() {
	local u
	[[ -n $lone_pid ]] && kill "$lone_pid" 2>/dev/null
	[[ -n $demo_pid ]] && kill "$demo_pid" 2>/dev/null && wait "$demo_pid" 2>/dev/null
	for u in "${made_users[@]}"; do
		userdel "$u" 2>/dev/null || true
	done
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$tmp"/run/ttwsd.log "$tmp"/lone.log; do
		[[ -s $f ]] && { echo "---- $f" >&2; tail -n 20 "$f" >&2; }
	done
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v busctl >/dev/null || fail "busctl missing (package systemd)"
command -v jq >/dev/null || fail "jq missing"

root=0
((EUID == 0)) && root=1
if ((root)) && ! getent group ttws >/dev/null; then
	groupadd -r ttws
fi
mkuser() { # NAME [GROUP]
	if ! id "$1" >/dev/null 2>&1; then
		useradd -r -M -d / -s /usr/sbin/nologin ${2:+-G "$2"} "$1"
		made_users+=("$1")
	fi
}

# ---- the socket file: 0660, group ttws ------------------------------------
cat >"$tmp/lone.conf" <<CONF
[rt]
priority = 0
[control]
socket = $tmp/lone/control
[link.left]
transport = unix
path = $tmp/nobody.sock
CONF
"$TTWSD" --config "$tmp/lone.conf" 2>"$tmp/lone.log" &
lone_pid=$!
wait_for 10 test -S "$tmp/lone/control" || fail "no control socket"
mode=$(stat -c %a "$tmp/lone/control")
[[ $mode == 660 ]] || fail "socket mode $mode, want 660"
if ((root)); then
	group=$(stat -c %G "$tmp/lone/control")
	[[ $group == ttws ]] || fail "socket group $group, want ttws"
fi
# An ear nobody answers is not streaming, and the API says so.
st=$(busctl --address="unix:path=$tmp/lone/control" get-property \
	org.ttws.Daemon1 /org/ttws/Daemon/ear/left org.ttws.Ear1 State)
[[ $st == 's "idle"' || $st == 's "connecting"' ]] || fail "lone left ear: $st"
kill "$lone_pid"
wait "$lone_pid" || fail "ttwsd did not exit cleanly on SIGTERM"
lone_pid=
[[ ! -e $tmp/lone/control ]] || fail "socket file left behind"

# ---- a streaming run ------------------------------------------------------
use_shim=1
if [[ $(ldd "$TTWSD") == *libasan* ]]; then
	echo "rtcheck skipped: ttwsd is built with AddressSanitizer"
	use_shim=0
fi
export TTWS_RTCHECK_OUT=$tmp/rt.txt
((use_shim)) && export TTWSD_PRELOAD=$SHIM TTWS_RT_SECCOMP=1
# A delay floor of 30 ms: the live estimator switch below (ttws -> naive)
# moves each ear's map by up to a half connection interval at once, and
# the test asserts that no frame comes late through all of it.
export TTWSD_CONF_APPEND="[control]
socket_mode = 0666
[metrics]
textfile = $tmp/run/ttws.prom
interval_s = 1
[stream]
delay_min_ms = 30"
DURATION=16
mkdir -p "$tmp/run"
chmod 755 "$tmp/run"
"$ROOT/tests/integration/demo.sh" "$BUILD" --source tone --duration $DURATION \
	--json --keep "$tmp/run" >"$tmp/out" 2>&1 &
demo_pid=$!
sock=$tmp/run/control
export TTWS_CONTROL_SOCKET=$sock
bctl() { busctl --address="unix:path=$sock" "$@"; }
call() { bctl call org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 "$@"; }
earprop() { bctl get-property org.ttws.Daemon1 "/org/ttws/Daemon/ear/$1" org.ttws.Ear1 "$2"; }
stats() { call GetStats | sed 's/^s //' | jq -r 'fromjson'; }
wait_for 10 test -S "$sock" || fail "no control socket in the streaming run"
streaming() {
	[[ $(earprop left State) == 's "streaming"' &&
		$(earprop right State) == 's "streaming"' ]]
}
wait_for 10 streaming || fail "the ears did not stream"
t_start=$(date +%s.%N)

# Introspection, by busctl.
bctl introspect org.ttws.Daemon1 /org/ttws/Daemon >"$tmp/intro.txt" ||
	fail "busctl introspect failed"
for m in .GetStats .GetMetrics .Get .Set .Reload .ResetStats .CaptureStart \
	.CaptureStop .ListKeys .Version .Uptime .Backend .Source .Codec \
	.PresentationDelayUs .RtPlacement .Estimator; do
	grep -q "^\\$m " "$tmp/intro.txt" || fail "introspection lacks $m"
done
bctl introspect org.ttws.Daemon1 /org/ttws/Daemon/ear/right >"$tmp/intro-ear.txt"
for m in .State .Transport .ServoState .OffsetNs .RatePpb .LastResidualNs \
	.FramesSent .FramesLate .FramesLost .Reconnects .Battery; do
	grep -q "^\\$m " "$tmp/intro-ear.txt" || fail "ear introspection lacks $m"
done
[[ $(earprop left Transport) == 's "unix"' ]] || fail "left transport"

# Live changes while streaming. A bus client that has not yet said
# Hello() is connected meanwhile: the PropertiesChanged the change sets
# off must not reach it before its Hello() reply (sd-bus clients such as
# busctl fail with EIO on that; hello-order.py).
/usr/bin/python3 "$ROOT/tests/integration/hello-order.py" "$sock" "$tmp/hello.go" \
	>"$tmp/hello.out" 2>&1 &
hello_pid=$!
wait_for 10 grep -q ready "$tmp/hello.out" || fail "hello-order.py did not connect: $(cat "$tmp/hello.out")"
[[ $(call Get s servo.estimator) == 's "ttws"' ]] || fail "estimator is not ttws at start"
[[ $(call Set ss servo.estimator naive) == 's ""' ]] || fail "Set estimator"
sleep 1.5 # past the next control tick, which announces the change
touch "$tmp/hello.go"
wait "$hello_pid" || fail "a slow bus client: $(tail -n 1 "$tmp/hello.out")"
[[ $(stats | jq -r .config.estimator) == naive ]] || fail "GetStats does not show the new estimator"
[[ $(bctl get-property org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 Estimator) == 's "naive"' ]] ||
	fail "Estimator property"
call Set ss stream.delay_min_ms 35 >/dev/null || fail "Set delay_min_ms"
call Set ss stream.delay_max_ms 120 >/dev/null || fail "Set delay_max_ms"
s=$(stats)
[[ $(jq .config.delay_min_us <<<"$s") == 35000 ]] || fail "delay_min not in status"
[[ $(jq .config.delay_max_us <<<"$s") == 120000 ]] || fail "delay_max not in status"
awk -v t="$(jq .stream.delay_target_us <<<"$s")" 'BEGIN { exit !(t >= 35000 && t <= 120000) }' ||
	fail "delay target $(jq .stream.delay_target_us <<<"$s") outside the new bounds"
err=$(call Set ss stream.delay_max_ms 5000 2>&1) && fail "an out-of-range value was accepted"
[[ $err == *"stream.delay_max_ms: 5000 out of range [1, 2000]"* ]] || fail "range error: $err"
err=$(call Set ss link.left.path /elsewhere 2>&1) && fail "a restart-only key was set live"
[[ $err == *"needs a restart"* ]] || fail "restart error: $err"
err=$(call Set ss servo.nonsense 1 2>&1) && fail "an unknown key was accepted"
[[ $err == *"unknown key"* ]] || fail "unknown key error: $err"
[[ $(call Get s link.left.path) == "s \"$tmp/run/left.sock\"" ]] || fail "left path changed"

# A bad file: refused with file:line, the running values stay.
cp "$tmp/run/ttwsd.conf" "$tmp/good.conf"
printf '[servo]\nestimator = ttws\nholdover_ms = 0\n' >>"$tmp/run/ttwsd.conf"
line=$(wc -l <"$tmp/run/ttwsd.conf")
err=$(call Reload 2>&1) && fail "a bad reload was accepted"
[[ $err == *"ttwsd.conf:$line: [servo] holdover_ms: 0 out of range"* ]] || fail "reload error: $err"
[[ $(call Get s servo.estimator) == 's "naive"' ]] || fail "a bad reload changed the estimator"
[[ $(call Get s stream.delay_min_ms) == 's "35"' ]] || fail "a bad reload changed delay_min_ms"
# A good file with a restart-only change: the rest applies, that is named.
cp "$tmp/good.conf" "$tmp/run/ttwsd.conf"
printf '[reconnect]\nbackoff_max_ms = 3000\n[loop]\nbackend = epoll\n' >>"$tmp/run/ttwsd.conf"
note=$(call Reload) || fail "a good reload was refused"
[[ $note == *"needs restart: loop.backend"* ]] || fail "reload note: $note"
[[ $(call Get s reconnect.backoff_max_ms) == 's "3000"' ]] || fail "reload did not apply backoff_max_ms"
[[ $(call Get s servo.estimator) == 's "ttws"' ]] || fail "reload did not restore the file's estimator"
[[ $(call Get s loop.backend) == 's "auto"' ]] || fail "a restart-only key changed live"
call ListKeys | grep -q '"servo.estimator" "ttws" "live"' || fail "ListKeys"

# Who may change things.
if ((root)); then
	mkuser ttws-ctl-out
	mkuser ttws-ctl-in ttws
	runuser -u ttws-ctl-out -- "$TTWSCTL" --socket "$sock" status >/dev/null ||
		fail "a user outside group ttws cannot read status"
	if out=$(runuser -u ttws-ctl-out -- "$TTWSCTL" --socket "$sock" set servo.estimator naive 2>&1); then
		fail "a user outside group ttws could set"
	fi
	[[ $out == *"needs uid 0 or membership of group ttws"* ]] || fail "refusal: $out"
	err=$(runuser -u ttws-ctl-out -- busctl --address="unix:path=$sock" call \
		org.ttws.Daemon1 /org/ttws/Daemon org.ttws.Daemon1 Reload 2>&1) &&
		fail "a user outside group ttws could reload"
	[[ $err == *"Access denied"* || $err == *"needs uid 0"* ]] || fail "reload refusal: $err"
	runuser -u ttws-ctl-in -- "$TTWSCTL" --socket "$sock" set servo.estimator median-iir ||
		fail "a member of group ttws could not set"
	[[ $(call Get s servo.estimator) == 's "median-iir"' ]] || fail "member's set not applied"
	call Set ss servo.estimator ttws >/dev/null
else
	echo "not root: the user/group checks are skipped"
fi

# 100 clients at once.
pids=()
for i in $(seq 100); do
	"$TTWSCTL" --socket "$sock" --json status >"$tmp/st.$i" 2>&1 &
	pids+=($!)
done
bad=0
for p in "${pids[@]}"; do
	wait "$p" || bad=$((bad + 1))
done
((bad == 0)) || fail "$bad of 100 concurrent status clients failed: $(cat "$tmp"/st.* | grep -v '^{' | head -3)"
for i in $(seq 100); do
	jq -e . "$tmp/st.$i" >/dev/null || fail "client $i: not JSON"
done

# ResetStats: counters from zero.
before=$(earprop left FramesSent | awk '{ print $2 }')
call ResetStats >/dev/null || fail "ResetStats"
after=$(earprop left FramesSent | awk '{ print $2 }')
((before > 100 && after < before / 2)) || fail "ResetStats: FramesSent $before -> $after"

# The metrics file, in the Prometheus text format node_exporter reads.
wait_for 5 test -s "$tmp/run/ttws.prom" || fail "no metrics textfile"
if command -v promtool >/dev/null; then
	promtool check metrics <"$tmp/run/ttws.prom" || fail "promtool rejects the textfile"
else
	echo "promtool missing: textfile not validated (./dev setup installs prometheus)"
fi
grep -q '^ttws_link_frames_sent_total{ear="left"} [0-9]' "$tmp/run/ttws.prom" ||
	grep -q '^ttws_.*_total{.*ear="left"' "$tmp/run/ttws.prom" ||
	fail "no per-ear counter in the textfile"
# GetMetrics: OpenMetrics 1.0, as the reference parser reads it (Debian's
# python3-prometheus-client; the pyenv python3 first on PATH may lack it).
"$TTWSCTL" --socket "$sock" metrics >"$tmp/om.txt" || fail "ttwsctl metrics"
[[ $(tail -n 1 "$tmp/om.txt") == "# EOF" ]] || fail "GetMetrics does not end with # EOF"
om_py=
for p in /usr/bin/python3 python3; do
	if "$p" -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then
		om_py=$p
		break
	fi
done
if [[ -n $om_py ]]; then
	"$om_py" - "$tmp/om.txt" <<'PY' || fail "GetMetrics is not valid OpenMetrics"
import sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
sent = [s for s in fams["ttws_link_frames_sent"].samples if s.labels.get("ear") == "left"]
assert sent and sent[0].value > 0, "no frames sent on the left ear"
assert fams["ttws_loop_wakeup_latency_seconds"].type == "histogram"
PY
else
	echo "python3-prometheus-client missing: GetMetrics not parsed (./dev setup installs it)"
fi
t_end=$(date +%s.%N)
# Everything above happened while streaming: it must have fit in the run.
awk -v a="$t_start" -v b="$t_end" -v d=$DURATION 'BEGIN { exit !(b - a < d - 2) }' ||
	fail "the checks took longer than the run; raise DURATION"

wait "$demo_pid" || fail "demo failed: $(tail -n 5 "$tmp/out")"
demo_pid=
r=$(tail -n 1 "$tmp/out")
j() { jq -r "$1" <<<"$r"; }
(($(j .frames.lost) == 0)) || fail "$(j .frames.lost) frames lost"
(($(j .frames.late) == 0)) || fail "$(j .frames.late) frames late"
(($(j .frames.rendered_left) == $(j .frames.rendered_right))) || fail "the ears rendered different counts"
# No gap: each ear rendered every sequence number from its first to its
# last, on time (a link that fell back to syncing would skip some).
awk -F, 'NR > 1 && $5 != 0 && $6 == 0 {
		n[$1]++
		if (!($1 in lo) || $2 < lo[$1]) lo[$1] = $2
		if ($2 > hi[$1]) hi[$1] = $2
	}
	END {
		for (e in n) {
			if (n[e] != hi[e] - lo[e] + 1) {
				printf "%s: %d rendered in %d..%d\n", e, n[e], lo[e], hi[e]
				exit 1
			}
		}
		exit length(n) != 2
	}' "$tmp/run/render.csv" || fail "a gap in the rendered frames"
min=$(((DURATION - 3) * 100))
(($(j .frames.rendered_left) >= min)) || fail "only $(j .frames.rendered_left) frames rendered"

if ((use_shim)); then
	count() { awk -v n="$1" '$1 == n { print $2 }' "$tmp/rt.txt.rt"; }
	[[ $(count clock_gettime) -ge 100 ]] || fail "the shim never saw the RT thread"
	while read -r name n; do
		[[ $name == clock_gettime ]] && continue
		((n == 0)) || fail "RT thread called $name $n times in steady state"
	done <"$tmp/rt.txt"
	grep -q "TTWS_RT_SECCOMP: the RT thread is confined" "$tmp/run/ttwsd.log" ||
		fail "ttwsd did not say its RT thread is confined (TTWS_RT_SECCOMP)"
fi
echo "control: ok"
