#!/usr/bin/env bash
# ttwsctl against a real ttwsd streaming to the simulated pair (one
# simulator process per earbud, so one ear can be killed): every command
# in human and --json form, the JSON field by field, get/set round trips,
# reload, reset-stats, the exit codes (2 usage, 3 unreachable, 1 refused),
# privileges (as nobody), monitor seeing the right ear go away, and the
# bash completion. Human output must fit 80 columns.
#
#   ttwsctl.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
CTL=$BUILD/src/ctl/ttwsctl
for b in "$SIM" "$TTWSD" "$CTL"; do
	[[ -x $b ]] || { echo "ttwsctl.sh: $b is not built" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "ttwsctl.sh: needs jq" >&2; exit 77; }

tmp=$(mktemp -d /tmp/ttwsctl-test.XXXXXX)
sim_l='' sim_r='' ttwsd_pid='' mon='' monj=''
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
	stop "$mon" "$monj" "$ttwsd_pid" "$sim_l" "$sim_r"
	rm -rf "$tmp"
}
trap cleanup EXIT
# Killed by meson's timeout or ^C: still clean up (EXIT runs on exit).
trap 'exit 143' TERM
trap 'exit 130' INT

fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$tmp"/ttwsd.log "$tmp"/sim-*.err "$tmp"/out "$tmp"/err \
		"$tmp"/mon.txt "$tmp"/mon.err; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Not for background jobs: $! would be a subshell, not ttwsctl.
ctl() { "$CTL" --socket "$tmp/control" "$@"; }
# run EXPECTED_RC ARGS...: ttwsctl's stdout in $tmp/out, stderr in $tmp/err.
run() {
	local want=$1 rc=0
	shift
	"$CTL" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	((rc == want)) || fail "ttwsctl $* exited $rc, want $want: $(cat "$tmp/err")"
}
# jqt FILTER: $tmp/out must make jq -e FILTER true.
jqt() {
	jq -e "$1" "$tmp/out" >/dev/null || fail "jq '$1' on: $(head -c 600 "$tmp/out")"
}
has() { # has TEXT FILE
	grep -qF -- "$1" "$2" || fail "'$1' not in ${2##*/}: $(head -c 600 "$2")"
}
fits80() { # every line of $tmp/out at most 80 columns
	awk 'length > 80 { print "line " NR " has " length " columns: " $0; bad = 1 }
		END { exit bad }' "$tmp/out" >&2 || fail "$1 is wider than 80 columns"
}

# ---- the pair and the daemon ------------------------------------------------
# Traversable by nobody (the privilege checks below); files keep their modes.
chmod 0711 "$tmp"
cat >"$tmp/ttwsd.conf" <<CONF
# Written by ttwsctl.sh.
[rt]
priority = 0
[stream]
source = tone
codec = pcm
CONF
pair_conf "$tmp" >>"$tmp/ttwsd.conf"
cp "$tmp/ttwsd.conf" "$tmp/ttwsd.conf.orig"

scenario=$ROOT/tests/scenarios/nominal.ini
"$SIM" --pair --scenario "$scenario" --left "$tmp/left.sock" \
	>"$tmp/sim-left.out" 2>"$tmp/sim-left.err" &
sim_l=$!
"$SIM" --pair --scenario "$scenario" --right "$tmp/right.sock" \
	>"$tmp/sim-right.out" 2>"$tmp/sim-right.err" &
sim_r=$!
wait_for 10 test -S "$tmp/left.sock" -a -S "$tmp/right.sock" ||
	fail "the simulated earbuds did not start"
"$TTWSD" --config "$tmp/ttwsd.conf" 2>"$tmp/ttwsd.log" &
ttwsd_pid=$!
wait_for 10 test -S "$tmp/control" || fail "ttwsd made no control socket"

both_streaming() {
	ctl status --json | jq -e '[.ears.left, .ears.right] | all(
		.State == "streaming" and .FramesSent > 0 and
		(.ServoState == "locked" or .ServoState == "stable"))'
}
wait_for 30 both_streaming || fail "the ears did not stream and lock"

# ---- status -----------------------------------------------------------------
version=$("$CTL" --version | awk '{ print $2 }')
[[ -n $version ]] || fail "--version printed no version"
run 0 --socket "$tmp/control" status
fits80 status
has "in sync: left streaming/" "$tmp/out"
has "rt placement" "$tmp/out"
has "frames sent" "$tmp/out"
run 0 --socket "$tmp/control" status --json
[[ $(wc -l <"$tmp/out") == 1 ]] || fail "status --json is not one line"
jqt ".daemon.Version == \"$version\""
jqt '.daemon.Backend == "io_uring" or .daemon.Backend == "epoll"'
jqt '.daemon.Source == "tone" and .daemon.Codec == "pcm"'
jqt '.daemon.Estimator == "ttws"'
jqt '.daemon.Uptime > 0 and .daemon.PresentationDelayUs > 0'
jqt '.daemon.RtPlacement | length > 0 and all(has("item") and has("status") and has("detail"))'
for ear in left right; do
	jqt ".ears.$ear.State == \"streaming\""
	jqt ".ears.$ear.Transport == \"unix\""
	jqt ".ears.$ear.ServoState == \"locked\" or .ears.$ear.ServoState == \"stable\""
	jqt ".ears.$ear.FramesSent > 0 and .ears.$ear.Reconnects == 0"
	jqt ".ears.$ear | (.OffsetNs, .RatePpb, .LastResidualNs, .FramesLate,
		.FramesLost, .Battery) | type == \"number\""
done
# FramesSent grows: ttwsd sends a frame every 10 ms.
sent0=$(ctl status --json | jq .ears.left.FramesSent)
grows() { (($(ctl status --json | jq .ears.left.FramesSent) > sent0)); }
wait_for 5 grows || fail "FramesSent does not grow past $sent0"
# The environment names the socket when --socket does not.
TTWS_CONTROL_SOCKET=$tmp/control run 0 status --json
jqt '.ears.right.State == "streaming"'
TTWS_CONTROL_SOCKET=/nonexistent/control run 0 --socket "$tmp/control" status

# ---- ears -------------------------------------------------------------------
run 0 --socket "$tmp/control" ears
fits80 ears
has "conn. interval" "$tmp/out"
has "servo samples" "$tmp/out"
run 0 --socket "$tmp/control" ears --json
jqt '.left.State == "streaming" and .right.State == "streaming"'
jqt '.left.stats.transport == "unix" and .left.stats.frames_sent > 0'
jqt '.right.stats.servo.samples > 0'

# ---- stats ------------------------------------------------------------------
run 0 --socket "$tmp/control" stats
fits80 stats
has "stream" "$tmp/out"
has "loop" "$tmp/out"
has "late at earbud" "$tmp/out"
grep -q "histogram (us)" "$tmp/out" && fail "stats printed histograms without --histogram"
run 0 --socket "$tmp/control" stats --histogram
fits80 "stats --histogram"
has "histogram (us)" "$tmp/out"
has "left rx_kernel" "$tmp/out"
run 0 --socket "$tmp/control" stats --json
jqt ".version == \"$version\" and .uptime_s > 0"
jqt '.stream.source == "tone" and .stream.frames > 0'
jqt '.ears.left.state == "streaming" and .ears.right.frames_sent > 0'
jqt '.histograms.left | has("rx_kernel") and has("tx_done")'

# ---- latency ----------------------------------------------------------------
run 0 --socket "$tmp/control" latency
fits80 latency
[[ $(grep -c '^tail: rx ' "$tmp/out") == 2 ]] || fail "latency: no tail line per ear"
run 0 --socket "$tmp/control" latency --json
for ear in left right; do
	jqt ".$ear.rx | keys == [\"handler\", \"kernel\", \"loop\", \"transport\"]"
	jqt ".$ear.tx | keys == [\"done\", \"kernel\", \"submit\"]"
	# The dominant layer has the largest P99 among those with samples,
	# and there is none when no layer has samples.
	for dir in rx tx; do
		jqt ".$ear as \$e | [\$e.${dir}[] | select(. != null) | .p99_us] as \$p |
			if (\$p | length) == 0 then \$e.dominant_$dir == null
			else \$e.${dir}[\$e.dominant_$dir].p99_us == (\$p | max) end"
	done
done

# ---- keys, get, set ---------------------------------------------------------
run 0 --socket "$tmp/control" keys
fits80 keys
has "servo.estimator" "$tmp/out"
run 0 --socket "$tmp/control" keys --json
jqt 'length > 10 and all(has("name") and has("value") and has("mode") and has("range"))'
jqt '.[] | select(.name == "servo.estimator") | .mode == "live" and .value == "ttws"'
jqt '.[] | select(.name == "stream.codec") | .mode == "restart"'

run 0 --socket "$tmp/control" get servo.estimator
[[ $(cat "$tmp/out") == ttws ]] || fail "get servo.estimator: $(cat "$tmp/out")"
run 0 --socket "$tmp/control" get servo.estimator --json
jqt '.name == "servo.estimator" and .value == "ttws"'
run 0 --socket "$tmp/control" set servo.estimator naive
[[ $(ctl get servo.estimator) == naive ]] || fail "set servo.estimator naive did not stick"
[[ $(ctl status --json | jq -r .daemon.Estimator) == naive ]] ||
	fail "the Estimator property does not follow set"
run 0 --socket "$tmp/control" set servo.estimator ttws --json
jqt '.note == ""'
[[ $(ctl get servo.estimator) == ttws ]] || fail "set servo.estimator back to ttws"

dmax=$(ctl get stream.delay_max_ms)
run 0 --socket "$tmp/control" set stream.delay_max_ms 200
[[ $(ctl get stream.delay_max_ms) == 200 ]] || fail "stream.delay_max_ms is not 200"
run 0 --socket "$tmp/control" set stream.delay_max_ms "$dmax"
[[ $(ctl get stream.delay_max_ms) == "$dmax" ]] || fail "stream.delay_max_ms not restored"

# ---- exit codes -------------------------------------------------------------
run 2 --socket "$tmp/control" frobnicate
has "unknown command 'frobnicate'" "$tmp/err"
run 2 --socket "$tmp/control" status --frob
run 2 --socket "$tmp/control" get
run 2 --socket "$tmp/control" status --histogram
run 2 --socket "$tmp/control" capture
run 2
run 3 --socket "$tmp/nonexistent" status
has "$tmp/nonexistent" "$tmp/err"
has "No such file or directory" "$tmp/err"
# A socket nobody listens on.
python3 -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' \
	"$tmp/dead" 2>/dev/null && {
	run 3 --socket "$tmp/dead" status
	has "Connection refused" "$tmp/err"
}
run 1 --socket "$tmp/control" set servo.estimator x
has "ttwsctl: set: servo.estimator" "$tmp/err"
run 1 --socket "$tmp/control" set stream.delay_max_ms 999999
has "stream.delay_max_ms" "$tmp/err"
run 1 --socket "$tmp/control" get no.such_key
has "no.such_key" "$tmp/err"
run 1 --socket "$tmp/control" set stream.codec lc3
has "restart" "$tmp/err"
[[ $(ctl get stream.codec) == pcm ]] || fail "a restart-only key changed live"
# Capture needs an hci-uart dongle: refused, not unreachable.
run 1 --socket "$tmp/control" capture start capture.btsnoop
run 1 --socket "$tmp/control" capture stop
if [[ ! -S /run/dbus/system_bus_socket ]]; then
	rc=0
	env -u DBUS_SYSTEM_BUS_ADDRESS "$CTL" --system status >"$tmp/out" \
		2>"$tmp/err" || rc=$?
	((rc == 3)) || fail "--system without a system bus exited $rc, want 3"
	has "system bus" "$tmp/err"
fi

# ---- metrics, reset-stats, reload ------------------------------------------
run 0 --socket "$tmp/control" metrics
[[ $(tail -n 1 "$tmp/out") == "# EOF" ]] || fail "metrics does not end with # EOF"
run 0 --socket "$tmp/control" metrics --json
jqt '.metrics | endswith("# EOF\n")'

before=$(ctl status --json | jq .ears.left.FramesSent)
run 0 --socket "$tmp/control" reset-stats
after=$(ctl status --json | jq .ears.left.FramesSent)
((after < before)) || fail "reset-stats: FramesSent $before -> $after"

run 0 --socket "$tmp/control" reload
[[ ! -s $tmp/err ]] || fail "reload of an unchanged file printed: $(cat "$tmp/err")"
# A live key and a restart-only key change: the first applies, the other
# is reported.
sed -i -e 's/^codec = pcm$/codec = lc3/' "$tmp/ttwsd.conf"
printf '[servo]\nestimator = median-iir\n' >>"$tmp/ttwsd.conf"
run 0 --socket "$tmp/control" reload
has "needs restart" "$tmp/err"
has "stream.codec" "$tmp/err"
[[ $(ctl get servo.estimator) == median-iir ]] || fail "reload did not apply servo.estimator"
[[ $(ctl get stream.codec) == pcm ]] || fail "reload applied a restart-only key"
printf 'estimator = bogus\n' >>"$tmp/ttwsd.conf"
run 1 --socket "$tmp/control" reload
has "ttwsd.conf:" "$tmp/err"
[[ $(ctl get servo.estimator) == median-iir ]] || fail "a refused reload changed things"
cp "$tmp/ttwsd.conf.orig" "$tmp/ttwsd.conf"
run 0 --socket "$tmp/control" reload --json
jqt '.note == ""'
[[ $(ctl get servo.estimator) == ttws ]] || fail "reload back to the original file"

# ---- privileges -------------------------------------------------------------
if ((EUID == 0)) && command -v setpriv >/dev/null; then
	nobody() {
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$CTL" \
			--socket "$tmp/control" "$@" >"$tmp/out" 2>"$tmp/err"
	}
	rc=0
	nobody status || rc=$?
	# The socket is 0660 (root or group ttws): nobody cannot connect.
	((rc == 3)) || fail "nobody: status exited $rc, want 3: $(cat "$tmp/err")"
	has "Permission denied" "$tmp/err"
	chmod 0666 "$tmp/control"
	nobody status --json || fail "nobody cannot read: $(cat "$tmp/err")"
	jqt '.ears.left.State == "streaming"'
	for cmd in "set servo.estimator naive" reload reset-stats "capture stop"; do
		rc=0
		# shellcheck disable=SC2086 # the words of cmd are arguments
		nobody $cmd || rc=$?
		((rc == 1)) || fail "nobody: $cmd exited $rc, want 1"
		has "group ttws" "$tmp/err"
	done
	[[ $(ctl get servo.estimator) == ttws ]] || fail "nobody changed a key"
fi

# ---- bash completion --------------------------------------------------------
complete_words() { # the completions of the words given (the last is cur)
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_ttwsctl
	printf '%s\n' "${COMPREPLY[@]}"
}
# shellcheck source=/dev/null # the file under test
source "$ROOT/shell-completion/bash/ttwsctl"
[[ $(complete_words ttwsctl st | sort | tr '\n' ' ') == "stats status " ]] ||
	fail "completion of 'st': $(complete_words ttwsctl st)"
[[ $(complete_words ttwsctl capture "" | tr '\n' ' ') == "start stop " ]] ||
	fail "completion of 'capture'"
[[ $(complete_words ttwsctl --his) == --histogram ]] || fail "completion of --his"
[[ $(complete_words "$CTL" --socket "$tmp/control" get servo.est) == servo.estimator ]] ||
	fail "completion of key names from the daemon"

# ---- monitor ----------------------------------------------------------------
# bash starts background jobs with SIGINT ignored; undo that, so ^C's
# path is the one tested.
env --default-signal=INT "$CTL" --socket "$tmp/control" monitor \
	>"$tmp/mon.txt" 2>"$tmp/mon.err" &
mon=$!
"$CTL" --socket "$tmp/control" monitor --json >"$tmp/monj.txt" \
	2>"$tmp/monj.err" &
monj=$!
# monitoring FILE...: make a change; true once every monitor output FILE
# shows one (so that monitor is subscribed).
monitoring() {
	local f
	ctl set servo.estimator naive && ctl set servo.estimator ttws || return 1
	for f in "$@"; do
		grep -q "Estimator" "$f" || return 1
	done
}
wait_for 10 monitoring "$tmp/mon.txt" "$tmp/monj.txt" ||
	fail "monitor printed no Estimator change"
grep -qE '^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}  daemon  Estimator   (ttws -> naive|naive -> ttws)$' \
	"$tmp/mon.txt" || fail "monitor's line format: $(cat "$tmp/mon.txt")"
# The right earbud goes away.
stop "$sim_r"
sim_r=
right_gone() {
	grep -qE '  right   State       streaming -> ' "$tmp/mon.txt" &&
		jq -e -s 'any(.[]; .object == "/org/ttws/Daemon/ear/right" and
			.property == "State" and .old == "streaming")' \
			"$tmp/monj.txt" >/dev/null
}
wait_for 10 right_gone || fail "monitor did not see the right ear go"
# Every --json line is one object with every member.
jq -e -s 'length > 0 and all(has("time") and has("object") and
	has("property") and has("old") and has("new"))' "$tmp/monj.txt" >/dev/null ||
	fail "monitor --json lines: $(cat "$tmp/monj.txt")"
kill -INT "$mon"
rc=0
wait "$mon" || rc=$?
mon=
((rc == 0)) || fail "monitor exited $rc on SIGINT"
kill -TERM "$monj"
rc=0
wait "$monj" || rc=$?
monj=
((rc == 0)) || fail "monitor --json exited $rc on SIGTERM"

# The pair is no longer in sync, and status says so (still exit 0).
run 0 --socket "$tmp/control" status
has "NOT in sync" "$tmp/out"
run 0 --socket "$tmp/control" status --json
jqt '.ears.right.State != "streaming" and .ears.left.State == "streaming"'

# monitor ends with 3 when ttwsd goes away.
"$CTL" --socket "$tmp/control" monitor >"$tmp/mon.txt" 2>"$tmp/mon.err" &
mon=$!
wait_for 10 monitoring "$tmp/mon.txt" ||
	fail "the second monitor printed no change"
stop "$ttwsd_pid"
ttwsd_pid=
rc=0
wait "$mon" || rc=$?
mon=
((rc == 3)) || fail "monitor exited $rc when ttwsd stopped, want 3"
has "lost the connection" "$tmp/mon.err"
echo "ttwsctl: ok"
