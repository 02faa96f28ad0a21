#!/usr/bin/env bash
# Live end to end: ttwsd and the simulated pair on one scenario (nominal,
# stress, realistic: one meson test each). Asserts, from the render log
# (the TRUE instants each ear played each frame):
#  - the P99 of the inter-ear error of the mapping (pts_host left - right,
#    what ttwsd controls) <= 50 us after WARMUP_S, <= 100 us over the
#    whole run (twice both under ASan; why these, below); the acoustic
#    error (where the sound
#    started, which adds the earbud's sample grid) is printed, not bounded;
#  - no frame lost; late frames <= 1 per 10 000 rendered, in integers
#    (late * 10000 <= rendered, so none in a run this short), plus
#    LATE_EXTRA; a frame counts once however many ears played it late
#    (a stall of the host, or of this whole VM, makes both late at once:
#    the listener hears one late frame), and against the frames both
#    ears rendered; plus
#    LATE_EXTRA (default 0) for a scenario whose connection interval grows
#    mid-run: a frame already in flight when the earbud announces the
#    update (at the least lead the specification allows, 6 events) may
#    wait for the longer interval; over the bench's hour that is inside
#    1e-4, in 38 s it is one frame;
#  - both ears locked and streaming at the end, equal rendered counts;
#  - through the rtcheck shim, that the RT thread never allocated,
#    mapped memory, locked, waited, slept, printed or logged directly
#    once running, and with TTWS_RT_SECCOMP=1 that it made no syscall
#    off its loop's list (the filter kills ttwsd: the run would fail);
#    the shim seen at work (clock reads) and the filter said installed
#    (neither under ASan; README, "What the RT proof proves").
# First, without ttwsd, the report itself on two hand-written render logs:
# the mapping and the acoustic error told apart, and a 6-column log (before
# pts_host_ns) still read.
#
#   sync-live.sh BUILD_DIR RTCHECK_SO RTCHECK_SELFTEST [SCENARIO DURATION
#                [WARMUP_S [LATE_EXTRA]]]
#
# WARMUP_S (whole seconds; default 0: the whole run is judged): frames of the first
# WARMUP_S seconds are left out of every figure above, as the virtual
# bench (tests/bench/sync.sh) leaves out its first 2 s.
set -euo pipefail
BUILD=$1 SHIM=$(realpath "$2") SELFTEST=$(realpath "$3")
SCENARIO=${4:-nominal} DURATION=${5:-10} WARMUP=${6:-0} LATE_EXTRA=${7:-0}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SIM=$BUILD/src/sim/ttws-earbud-sim
FRAME_MS=10 # every scenario here: [run] frame_ms
# The bound after WARMUP_S. The virtual-time bench (./dev bench sync)
# gives the estimator's own figures (nominal P99 0.35 us); live, the
# host's scheduling jitter lands in the stamps (ttwsd's send instants,
# the simulator's replies leaving late), and on 2-vCPU VMs the P99 after
# the warm-up went from 2 to 37 us across runs (a Firecracker VM,
# PREEMPT_NONE: nominal 2-24 us, stress 7-37 us). 50 us still fails an
# ear whose clock is not estimated: the naive mapping's P99 is over
# 100 us in every scenario.
P99_MAX_US=50
# Over the whole run, the first seconds after lock included: the servos
# settle from their first estimate (there the first frames came out up
# to 65 us apart in stress, 46 in nominal). A bound that still fails a
# lock that never settles.
WHOLE_P99_MAX_US=100
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# report_check NAME EXPECTED_MAPPING_MAX EXPECTED_ACOUSTIC_MAX: --report on
# $tmp/NAME.csv (render log) and $tmp/frames.csv.
report_check() {
	local out
	out=$("$SIM" --report --render-log "$tmp/$1.csv" \
		--frame-log "$tmp/frames.csv" --json | tail -n 1) ||
		fail "report on the $1 log failed"
	jq -e ".inter_ear_error_us.max == $2" <<<"$out" >/dev/null ||
		fail "$1 log: mapping error is not $2 us: $out"
	jq -e ".acoustic_error_us.max == $3" <<<"$out" >/dev/null ||
		fail "$1 log: acoustic error is not $3 us: $out"
	jq -e ".frames.both == 1" <<<"$out" >/dev/null ||
		fail "$1 log: not one frame rendered by both: $out"
}
# Frame 0: the ears' clocks read pts 5 us apart (mapping), the sound
# started 20 us apart (the left on its next sample). Frame 1 was late on
# the right: in neither error.
cat >"$tmp/frames.csv" <<'CSV'
ear,seq,tx_host_ns,pts_ear_ns,naive_pts_ear_ns
left,0,100,1000,1000
right,0,100,1000,1000
left,1,200,2000,2000
right,1,200,2000,2000
CSV
cat >"$tmp/seven.csv" <<'CSV'
ear,seq,pts_ear_ns,rx_ear_ns,render_host_ns,late,pts_host_ns
left,0,1000,900,2020000,0,2000000
right,0,1000,900,2000000,0,2005000
left,1,2000,1900,3000000,0,3000000
right,1,2000,2100,0,1,0
CSV
cut -d, -f1-6 "$tmp/seven.csv" >"$tmp/six.csv"
report_check seven 5 20
report_check six 20 20

use_shim=1
# Not ldd | grep -q: grep's early exit fails ldd under pipefail.
if [[ $(ldd "$BUILD/src/daemon/ttwsd") == *libasan* ]]; then
	# ASan insists on being the first preloaded library.
	echo "rtcheck skipped: ttwsd is built with AddressSanitizer"
	use_shim=0
	# The sanitizer run is for memory errors. ASan+UBSan make every
	# message's path through ttwsd and the simulator several times
	# slower, and the P99 grows with it (on the Firecracker VM up to
	# 46 us after the warm-up in stress). The bounds are the plain
	# build's, doubled, and one more frame may be late (the instrumented
	# RT thread on a VM that stalls: seen once in nominal).
	P99_MAX_US=100 WHOLE_P99_MAX_US=200 LATE_EXTRA=$((LATE_EXTRA + 1))
fi

count() { awk -v n="$1" '$1 == n { print $2 }' "$2"; }

if ((use_shim)); then
	# The shim must see what it claims to catch: each function, called
	# once by a thread named ttws-rt (rtproof/selftest.sh has the rest).
	TTWS_RTCHECK_DRY_LOG=1 TTWS_RTCHECK_OUT=$tmp/self.txt LD_PRELOAD=$SHIM \
		"$SELFTEST" rt >/dev/null 2>&1 || fail "rtcheck-selftest failed"
	while read -r f n; do
		((n >= 1)) || fail "shim missed $f"
	done <"$tmp/self.txt.rt"
fi

export TTWS_RTCHECK_OUT=$tmp/rt.txt
if ((use_shim)); then
	export TTWSD_PRELOAD=$SHIM TTWS_RT_SECCOMP=1
fi
"$ROOT/tests/integration/demo.sh" "$BUILD" --source tone --scenario "$SCENARIO" \
	--duration "$DURATION" --json --keep "$tmp/run" >"$tmp/out" ||
	fail "demo failed: $(cat "$tmp/out")"
r=$(tail -n 1 "$tmp/out")
echo "$r"
j() { jq -r "$1" <<<"$r"; }
for ear in left right; do
	st=$(j ".ears.$ear.servo")
	[[ $st == locked || $st == stable ]] || fail "$ear servo is $st"
	[[ $(j ".ears.$ear.state") == streaming ]] || fail "$ear link not streaming"
done

whole_p99=$(j .inter_ear_error_us.p99)
skip=$((WARMUP * 1000 / FRAME_MS))
if ((skip > 0)); then
	# The same logs, without the warm-up's frames.
	"$SIM" --report --render-log "$tmp/run/render.csv" \
		--frame-log "$tmp/run/frames.csv" --skip-frames "$skip" \
		--json >"$tmp/report.txt" || fail "report failed"
	r=$(tail -n 1 "$tmp/report.txt")
	echo "after a ${WARMUP} s warm-up ($skip frames): $r"
fi
rl=$(j .frames.rendered_left) rr=$(j .frames.rendered_right)
late=$(j .frames.late) lost=$(j .frames.lost)
echo "$SCENARIO: P99 mapping $(j .inter_ear_error_us.p99) us," \
	"acoustic $(j .acoustic_error_us.p99) us; rendered $rl/$rr," \
	"late $late, lost $lost"
# Every bound is checked and every miss named before failing.
errs=()
miss() { errs+=("$*"); }
# 80 % of the frames of the run: the rest is connecting and locking.
min=$(((DURATION - WARMUP) * 1000 * 8 / (FRAME_MS * 10)))
((rl >= min)) || miss "left rendered $rl < $min"
((lost == 0)) || miss "$lost frames lost"
# Late frames, each counted once (either ear late), from the render log.
late_frames=$(awk -F, -v skip="$skip" 'NR > 1 && $6 == 1 && $2 >= skip { s[$2] = 1 }
	END { print length(s) }' "$tmp/run/render.csv")
both=$(j .frames.both)
echo "late frames (either ear): $late_frames of $both"
(((late_frames - LATE_EXTRA) * 10000 <= both)) ||
	miss "$late_frames frames late of $both rendered by both ears (allowed: 1e-4 + $LATE_EXTRA)"
((rl - rr <= late && rr - rl <= late)) ||
	miss "ears rendered different counts ($rl/$rr) beyond the $late late"
[[ $(j .acoustic_error_us.p99) != null ]] || miss "no acoustic error in the report"
awk -v p="$(j .inter_ear_error_us.p99)" -v m=$P99_MAX_US \
	'BEGIN { exit !(p <= m) }' ||
	miss "P99 inter-ear (mapping) error $(j .inter_ear_error_us.p99) us > $P99_MAX_US us"
awk -v p="$whole_p99" -v m=$WHOLE_P99_MAX_US 'BEGIN { exit !(p <= m) }' ||
	miss "P99 inter-ear (mapping) error over the whole run, warm-up included, $whole_p99 us > $WHOLE_P99_MAX_US us"

if ((use_shim)); then
	awk '$2 != 0' "$tmp/rt.txt"
	[[ $(count clock_gettime "$tmp/rt.txt.rt") -ge 100 ]] ||
		miss "the shim never saw the RT thread"
	while read -r name n; do
		[[ $name == clock_gettime ]] && continue
		((n == 0)) || miss "RT thread called $name $n times in steady state"
	done <"$tmp/rt.txt"
	grep -q "TTWS_RT_SECCOMP: the RT thread is confined" "$tmp/run/ttwsd.log" ||
		miss "ttwsd did not say its RT thread is confined (TTWS_RT_SECCOMP)"
fi
if ((${#errs[@]})); then
	printf 'FAIL: %s\n' "${errs[@]}" >&2
	exit 1
fi
echo "sync-live $SCENARIO: ok"
