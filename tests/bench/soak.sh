#!/usr/bin/env bash
# Soak (issue 14): ttwsd live for MINUTES on the stress scenario through
# PipeWire, watched for what a gateway that runs for months must not do:
# grow, leak descriptors, lose frames, or drift in sync. One
# ttws-earbud-sim --pair (unix transport, tests/scenarios/stress.ini:
# +-50 ppm wandering crystals, 30 ms intervals, 5 % loss per event, 80 us
# lognormal HCI jitter), one ttwsd (source = pipewire, LC3), a private
# PipeWire daemon as the integration tests start it (pw-minimal.conf), and
# pw-cat playing a generated stereo test tone, looped from a pipe for as
# long as the run lasts, linked into ttws.sink with pw-link.
#
# Every minute it samples:
#   - rss_kib: ttwsd's VmRSS (/proc/PID/status);
#   - fds: ttwsd's open descriptors (/proc/PID/fd);
#   - p99_us: the TRUE inter-ear error P99 of that minute's frames (the
#     mapping error: where each earbud's clock read the frame's
#     presentation time, from the simulator's render log; what
#     ttws-earbud-sim --report computes, as tests/bench/sync.sh and
#     scale.sh do), over the frames ttwsd sent from 3 s before the last
#     sample to 3 s before this one (so that every one of them has
#     played out);
#   - sent, lost, late: that window's frames (both ears).
# The first window starts after a 3 s warm-up (as sync-live-stress).
# After the run, the whole run's report gives frames_lost and late_frac.
#
#   soak.sh [BUILD_DIR [MINUTES]]       (./dev bench soak; not in CI)
#   env: SOAK_MINUTES (when MINUTES is not given; default 60),
#        SOAK_KEEP (a directory: keep the logs and per-minute files there)
#
# As demo.sh on this 2-core VM: delay_margin_ms = 4 and delay_min_ms = 20
# cover a first stall of the hypervisor; the RT thread is SCHED_FIFO 80
# and the simulator 70 when run as root, unpinned.
#
# Targets: no growth after the first minute (rss_growth_kib <= 0 and
# fd_growth <= 0, from the sample at the end of minute 1 to the last),
# frames_lost 0, p99_last_us within 20 % of p99_first_us.
#
# Prints a table, one row per minute, then one JSON line:
#   {"bench":"soak","minutes":M,"rss_growth_kib":..,"fd_growth":..,
#    "p99_first_us":..,"p99_last_us":..,"frames_lost":..,"late_frac":..,
#    "samples":[{"minute","rss_kib","fds","p99_us","sent","lost","late"}
#    ...],"targets":{...}}
# Never fails on a number; exits 1 when the run cannot be made.
set -euo pipefail
export LC_ALL=C

BUILD=$(realpath "${1:-build}")
MINUTES=${2:-${SOAK_MINUTES:-60}}
KEEP=${SOAK_KEEP:-}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
WARMUP_FRAMES=300 # 3 s of 10 ms frames
MARGIN_FRAMES=300 # frames younger than 3 s may not have played out yet

[[ $MINUTES =~ ^[0-9]+$ ]] && ((MINUTES >= 1)) ||
	{ echo "soak bench: MINUTES: a whole number >= 1" >&2; exit 2; }
for t in pipewire pw-cli pw-cat pw-link busctl jq; do
	command -v "$t" >/dev/null || { echo "soak bench: $t missing: ./dev setup" >&2; exit 1; }
done
for b in "$SIM" "$TTWSD"; do
	[[ -x $b ]] || { echo "$b missing: ./dev build" >&2; exit 1; }
done
grep -q '^#define HAVE_PIPEWIRE 1' "$BUILD/config.h" ||
	{ echo "soak bench: ttwsd built without PipeWire" >&2; exit 1; }

tmp=$(mktemp -d /tmp/ttws-bench-soak.XXXXXX)
pw_pid='' sim_pid='' ttwsd_pid='' cat_pid=''
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
	stop "$cat_pid" "$ttwsd_pid" "$sim_pid" "$pw_pid"
	if [[ -n $KEEP ]]; then
		mkdir -p "$KEEP"
		cp -r "$tmp"/. "$KEEP/"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
die() {
	echo "soak bench: $*" >&2
	local f
	for f in "$tmp"/ttwsd.log "$tmp"/sim.err "$tmp"/pipewire.log "$tmp"/pw-cat.log; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
# wait_until SECONDS COMMAND...: every 100 ms until it succeeds (0) or
# SECONDS have passed on the clock (1).
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
((prio)) || echo "soak bench: not root, SCHED_FIFO will be refused; numbers are SCHED_OTHER" >&2

export XDG_RUNTIME_DIR=$tmp/pw PIPEWIRE_RUNTIME_DIR=$tmp/pw
unset PIPEWIRE_REMOTE PIPEWIRE_CORE
mkdir -p "$tmp/pw"
pipewire -c "$ROOT/tests/integration/pw-minimal.conf" >"$tmp/pipewire.log" 2>&1 &
pw_pid=$!
wait_until 10 pw-cli info 0 || die "the private PipeWire daemon did not start"
# 10 s of the test tone as raw S16 stereo (the WAV without its 44-byte
# header), looped into pw-cat's stdin for as long as the run lasts.
"$SIM" --gen-audio "$tmp/tone.wav" --duration 10 >/dev/null ||
	die "cannot write the test file"
tail -c +45 "$tmp/tone.wav" >"$tmp/tone.raw"

cat >"$tmp/ttwsd.conf" <<CONF
# Written by soak.sh: the stress scenario, LC3 from PipeWire.
[rt]
priority = $((prio ? 80 : 0))
[stream]
source = pipewire
codec = lc3
delay_margin_ms = 4
delay_min_ms = 20
CONF
. "$ROOT/tests/integration/lib.sh"
pair_conf "$tmp" >>"$tmp/ttwsd.conf"

"$SIM" --pair --scenario "$ROOT/tests/scenarios/stress.ini" \
	--left "$tmp/left.sock" --right "$tmp/right.sock" \
	--render-log "$tmp/render.csv" --priority "$prio" \
	--spin-guard-us 50 >"$tmp/sim.out" 2>"$tmp/sim.err" &
sim_pid=$!
wait_until 5 test -S "$tmp/left.sock" -a -S "$tmp/right.sock" ||
	die "the simulated pair did not start"
"$TTWSD" --config "$tmp/ttwsd.conf" --frame-log "$tmp/frames.csv" \
	--stats-file "$tmp/stats.json" 2>"$tmp/ttwsd.log" &
ttwsd_pid=$!
port_exists() { pw-link "$1" | grep -x -- "$2" >/dev/null; }
wait_until 10 port_exists -i ttws.sink:playback_FL || die "ttws.sink did not appear"
locked() {
	[[ $(ear_state "$tmp/control" left) == streaming &&
		$(ear_state "$tmp/control" right) == streaming ]]
}
wait_until 30 locked || die "the earbuds did not stream within 30 s"

# The tone, looped; pw-cat's pid is the pipeline's (the loop ends with
# it, on SIGPIPE).
(while :; do cat "$tmp/tone.raw"; done) |
	pw-cat -p --format s16 --rate 48000 --channels 2 \
		-P '{ node.name = ttws-soak-src node.want-driver = false
		adapter.auto-port-config = { mode = dsp position = preserve } }' \
		- >"$tmp/pw-cat.log" 2>&1 &
cat_pid=$!
wait_until 10 port_exists -o ttws-soak-src:output_FL || die "pw-cat has no output ports"
pw-link ttws-soak-src:output_FL ttws.sink:playback_FL || die "pw-link FL"
pw-link ttws-soak-src:output_FR ttws.sink:playback_FR || die "pw-link FR"

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# The complete lines of a log being written (its last may be partial).
snap() { head -n "$(($(wc -l <"$1") - 1))" "$1" >"$2"; }
# window A B: the report of frames A..B-1 into $tmp/win.json.
window() {
	local a=$1 b=$2
	snap "$tmp/render.csv" "$tmp/render.now"
	snap "$tmp/frames.csv" "$tmp/frames.now"
	awk -F, -v b="$b" 'NR == 1 || $2 < b' "$tmp/render.now" >"$tmp/render.win"
	awk -F, -v b="$b" 'NR == 1 || $2 < b' "$tmp/frames.now" >"$tmp/frames.win"
	"$SIM" --report --render-log "$tmp/render.win" \
		--frame-log "$tmp/frames.win" --skip-frames "$a" --json \
		2>"$tmp/report.err" | tail -n 1 >"$tmp/win.json"
}
last_seq() { awk -F, 'NR > 1 && $2 > m { m = $2 } END { print m + 0 }' "$1"; }

printf '%-7s %9s %5s %9s %7s %5s %5s\n' minute rss_kib fds p99_us sent lost late
: >"$tmp/samples.jsonl"
a=$WARMUP_FRAMES
t_start=${EPOCHREALTIME/./}
for ((m = 1; m <= MINUTES; m++)); do
	# Sleep to the minute mark on the clock, not by counting sleeps.
	now=${EPOCHREALTIME/./}
	due=$((t_start + m * 60000000))
	((due > now)) && sleep "$(((due - now) / 1000000)).$(printf '%06d' $(((due - now) % 1000000)))"
	kill -0 "$ttwsd_pid" 2>/dev/null || die "ttwsd died in minute $m"
	kill -0 "$cat_pid" 2>/dev/null || die "pw-cat stopped in minute $m"
	rss=$(rss_kib "$ttwsd_pid") fd=$(fds "$ttwsd_pid")
	b=$(($(last_seq "$tmp/frames.csv") - MARGIN_FRAMES))
	if ((b > a)); then
		window "$a" "$b"
	else
		echo '{}' >"$tmp/win.json"
	fi
	jq -c --argjson m "$m" --argjson rss "$rss" --argjson fd "$fd" '{
		minute: $m, rss_kib: $rss, fds: $fd,
		p99_us: (.inter_ear_error_us.p99 // null),
		sent: (.frames.sent // null), lost: (.frames.lost // null),
		late: (.frames.late // null) }' "$tmp/win.json" >>"$tmp/samples.jsonl"
	tail -n 1 "$tmp/samples.jsonl" | jq -r '[.minute, .rss_kib, .fds,
		.p99_us, .sent, .lost, .late] | map(. // "-") | @tsv' |
		awk -F'\t' '{ printf "%-7s %9s %5s %9s %7s %5s %5s\n",
			$1, $2, $3, $4, $5, $6, $7 }'
	a=$b
done

# The end: the tone stops, the last frames play out, ttwsd and the
# earbuds go; then the whole run's report.
stop "$cat_pid"
cat_pid=
sleep 0.5
kill -TERM "$ttwsd_pid"
wait "$ttwsd_pid" || die "ttwsd failed at exit"
ttwsd_pid=
sleep 0.5
stop "$sim_pid"
sim_pid=
"$SIM" --report --render-log "$tmp/render.csv" --frame-log "$tmp/frames.csv" \
	--skip-frames "$WARMUP_FRAMES" --json 2>"$tmp/report.err" |
	tail -n 1 >"$tmp/all.json" || die "the report failed: $(cat "$tmp/report.err")"
echo "$MINUTES min, scenario stress, LC3 from PipeWire, RT prio $((prio ? 80 : 0)); the whole run:"
jq -c '{inter_ear_error_us, frames}' "$tmp/all.json"

jq -cs --slurpfile all "$tmp/all.json" --argjson minutes "$MINUTES" '
	. as $s | $all[0] as $r
	| ($s | first) as $f | ($s | last) as $l
	| ($r.frames.sent // 0) as $sent
	| {
	    bench: "soak", minutes: $minutes,
	    rss_growth_kib: ($l.rss_kib - $f.rss_kib),
	    fd_growth: ($l.fds - $f.fds),
	    p99_first_us: $f.p99_us, p99_last_us: $l.p99_us,
	    frames_lost: $r.frames.lost,
	    late_frac: (if $sent > 0 then $r.frames.late / $sent else null end),
	    samples: $s }
	| . + { targets: {
	    no_rss_growth: (.rss_growth_kib <= 0),
	    no_fd_growth: (.fd_growth <= 0),
	    no_frames_lost: (.frames_lost == 0),
	    p99_last_within_20pct: (if .p99_first_us == null or
		.p99_last_us == null then false
		else .p99_last_us <= 1.2 * .p99_first_us end) } }
	' "$tmp/samples.jsonl"
