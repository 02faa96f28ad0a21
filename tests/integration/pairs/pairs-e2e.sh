#!/usr/bin/env bash
# Two pairs on one ttwsd, end to end through PipeWire: a private PipeWire
# daemon, ttwsd with [pair.a] and [pair.b] (one RT thread, a sink per
# pair: ttws.sink.a and ttws.sink.b), and simulated earbuds: pair a is
# one ttws-earbud-sim --pair process, pair b's ears are two processes
# (--left only, --right only) so that one earbud of b can die alone.
# pw-cat plays a test file into each sink (pw-link as pw-e2e does).
#
# Then pair b's right earbud is killed (SIGKILL) and started again while
# both streams play. Checked:
#   - each sink exists with its pair's name as description;
#   - the status has both pairs, each with its own sink and delay;
#   - pair a, from its render log (the true instant each ear played each
#     frame) and its frame log: every frame sent was rendered by both
#     ears, none late, none lost, inter-ear P99 <= 50 us (100 under ASan), across b's
#     earbud dying and coming back;
#   - pair a's presentation delay did not move with b's event (within
#     A_DELAY_TOL_US of its value before the kill): a delay shared between
#     pairs would make a late or shift it;
#   - pair b's ears were in sync before the kill (inter-ear P99 <= 40 us:
#     its ears are two simulator processes, each with its own controller
#     clock, so their shared-controller rate is a poorer fit) and its
#     right ear came back (state streaming again).
# Cleans up even on failure.
#
#   pairs-e2e.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
CTL=$BUILD/src/ctl/ttwsctl
SCEN=$ROOT/tests/scenarios/nominal.ini
DURATION=9
A_DELAY_TOL_US=1000
# Inter-ear P99 bounds (us): pair a's, and pair b's before the kill, as
# sync-live.sh's after its warm-up and for the same reasons (the live
# stamps carry the host's scheduling jitter: up to 30 us seen here for
# pair a on a Firecracker VM; pair a's naive mapping was over 100 us);
# pair b's stays at 40 us, as its naive mapping came to 47 us once.
# Doubled under ASan, whose run is for memory errors.
A_P99_US=50 B_P99_US=40
if [[ $(ldd "$BUILD/src/daemon/ttwsd") == *libasan* ]]; then
	A_P99_US=100 B_P99_US=80
fi

for t in pipewire pw-cli pw-cat pw-link pw-dump jq; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
grep -q '^#define HAVE_PIPEWIRE 1' "$BUILD/config.h" ||
	{ echo "SKIP: built without PipeWire"; exit 77; }
[[ -x $CTL ]] || { echo "SKIP: no ttwsctl"; exit 77; }

# shellcheck source=lib.sh
. "$ROOT/tests/integration/pairs/lib.sh"
pairs_scaffold pairs
ctl() { "$CTL" --socket "$dir/control" "$@"; }
status() { ctl stats --json 2>/dev/null; }

prio=0
((EUID == 0)) && prio=70
cat >"$dir/ttwsd.conf" <<CONF
[rt]
priority = $((prio ? 80 : 0))
[stream]
source = pipewire
codec = pcm
# As demo.sh: a margin and floor for this loaded VM's stalls.
delay_margin_ms = 4
delay_min_ms = 20
[control]
socket = $dir/control
[pair.a]
left.transport = unix
left.path = $dir/a-left.sock
right.transport = unix
right.path = $dir/a-right.sock
[pair.b]
left.transport = unix
left.path = $dir/b-left.sock
right.transport = unix
right.path = $dir/b-right.sock
# b's own delay bounds: a pair's stream keys are its own.
delay_min_ms = 25
CONF

export XDG_RUNTIME_DIR=$dir/pw PIPEWIRE_RUNTIME_DIR=$dir/pw
unset PIPEWIRE_REMOTE PIPEWIRE_CORE
mkdir -p "$dir/pw"
pipewire -c "$ROOT/tests/integration/pw-minimal.conf" >"$dir/pipewire.log" 2>&1 &
pids+=($!)
wait_for 10 pw-cli info 0 || fail "the private PipeWire daemon did not start"
"$SIM" --gen-audio "$dir/input.wav" --duration "$DURATION" ||
	fail "cannot write the test file"

sim() { # NAME SEED ARGS...: one simulator process, its pid in $sim_pid
	local name=$1 seed=$2
	shift 2
	"$SIM" --pair --scenario "$SCEN" --seed "$seed" --priority "$prio" \
		--spin-guard-us 50 "$@" >"$dir/$name.out" 2>"$dir/$name.err" &
	sim_pid=$!
	pids+=("$sim_pid")
}
sim sim-a 101 --left "$dir/a-left.sock" --right "$dir/a-right.sock" \
	--render-log "$dir/render-a.csv"
sim sim-bl 202 --left "$dir/b-left.sock" --render-log "$dir/render-bl.csv"
sim sim-br 303 --right "$dir/b-right.sock" --render-log "$dir/render-br.csv"
br_pid=$sim_pid
for s in a-left a-right b-left b-right; do
	wait_for 5 test -S "$dir/$s.sock" || fail "earbud $s did not start"
done

"$TTWSD" --config "$dir/ttwsd.conf" --frame-log "$dir/frames.csv" \
	--stats-file "$dir/stats.json" 2>"$dir/ttwsd.log" &
ttwsd_pid=$!
pids+=("$ttwsd_pid")

port_exists() { pw-link "$1" | grep -x -- "$2" >/dev/null; }
for p in a b; do
	wait_for 10 port_exists -i "ttws.sink.$p:playback_FL" ||
		fail "ttws.sink.$p has no input ports"
done
# node.description = the pair's name.
for p in a b; do
	pw-dump | jq -e --arg n "ttws.sink.$p" --arg d "$p" \
		'[.[] | select(.info.props."node.name" == $n)][0]
		 | .info.props."node.description" == $d' >/dev/null ||
		fail "ttws.sink.$p: description is not '$p'"
done
locked() {
	status | jq -e '[.pairs[].ears[].servo.state] | length == 4 and
		all(. != "unlocked")' >/dev/null
}
wait_for 20 locked || fail "the four earbuds did not lock"
status >"$dir/status0.json"
jq -e '(.pairs | map(.name)) == ["a","b"] and
	(.pairs | map(.sink)) == ["ttws.sink.a","ttws.sink.b"] and
	.pairs[0].delay_us > 0 and .pairs[1].delay_us >= 25000 and
	.ears.left.servo.state == .pairs[0].ears.left.servo.state' \
	"$dir/status0.json" >/dev/null || fail "status: pairs not as configured: $(jq -c .pairs "$dir/status0.json" | head -c 600)"

cat_pids=()
for p in a b; do
	pw-cat -p -P "{ node.name = src-$p node.want-driver = false
		adapter.auto-port-config = { mode = dsp position = preserve } }" \
		"$dir/input.wav" >"$dir/pw-cat-$p.log" 2>&1 &
	cat_pids+=($!)
	pids+=($!)
done
for p in a b; do
	wait_for 10 port_exists -o "src-$p:output_FL" || fail "pw-cat $p has no ports"
	pw-link "src-$p:output_FL" "ttws.sink.$p:playback_FL" || fail "pw-link $p FL"
	pw-link "src-$p:output_FR" "ttws.sink.$p:playback_FR" || fail "pw-link $p FR"
done

# Pair a's delay, every 200 ms, from before b's event until after it.
poll_delay() { # SECONDS
	local n=$(($1 * 5))
	while ((n-- > 0)); do
		status | jq -r '[.pairs[0].delay_us, .pairs[1].ears.right.state,
			.pairs[0].delay_target_us] | @tsv' \
			>>"$dir/delays.tsv" || true
		sleep 0.2
	done
}
sleep 2
a_delay0=$(status | jq '.pairs[0].delay_us')
a_target0=$(status | jq '.pairs[0].delay_target_us')
a_sent0=$(status | jq '.pairs[0].ears.left.frames_sent')
# b's right earbud dies: its process, SIGKILL, no goodbye.
kill -KILL "$br_pid"
wait "$br_pid" 2>/dev/null || true
b_kill_seq=$(tail -n 1 "$dir/render-br.csv" | cut -d, -f2)
poll_delay 2
rm -f "$dir/b-right.sock"
sim sim-br2 304 --right "$dir/b-right.sock" --render-log "$dir/render-br2.csv"
poll_delay 3
b_back() { status | jq -e '.pairs[1].ears.right.state == "streaming"' >/dev/null; }
wait_for 5 b_back || fail "pair b's right earbud did not come back"
for p in "${cat_pids[@]}"; do
	wait "$p" || true
done
sleep 0.5
kill -TERM "$ttwsd_pid"
wait "$ttwsd_pid" || fail "ttwsd failed"
sleep 0.2

# Pair a: whole run, every frame.
"$SIM" --report --render-log "$dir/render-a.csv" --frame-log "$dir/frames.csv.a" \
	--json >"$dir/report-a.txt" || fail "report a"
ra=$(tail -n 1 "$dir/report-a.txt")
echo "pair a: $ra"
# Pair b before the kill: its two render logs as one.
{
	cat "$dir/render-bl.csv"
	tail -n +2 "$dir/render-br.csv"
} >"$dir/render-b.csv"
awk -F, -v k="$b_kill_seq" 'NR == 1 || $2 + 0 <= k' "$dir/frames.csv.b" \
	>"$dir/frames-b.csv"
awk -F, -v k="$b_kill_seq" 'NR == 1 || $2 + 0 <= k' "$dir/render-b.csv" \
	>"$dir/render-b-pre.csv"
"$SIM" --report --render-log "$dir/render-b-pre.csv" --frame-log "$dir/frames-b.csv" \
	--json >"$dir/report-b.txt" || fail "report b"
rb=$(tail -n 1 "$dir/report-b.txt")
echo "pair b before the kill: $rb"
echo "pair a delay (us) before the kill: $a_delay0; across the event:" \
	"$(cut -f1 "$dir/delays.tsv" | sort -n | sed -n '1p;$p' | tr '\n' ' ')"

jq -e '.frames.sent > 0 and .frames.rendered_left >= 600 and
	.frames.lost == 0 and .frames.late == 0 and
	.frames.sent == .frames.rendered_left + .frames.rendered_right' \
	<<<"$ra" >/dev/null || fail "pair a lost or late frames across b's event"
jq -e --argjson m "$A_P99_US" '.inter_ear_error_us.p99 <= $m' <<<"$ra" >/dev/null ||
	fail "pair a's ears not in sync (P99 over $A_P99_US us)"
jq -e --argjson m "$B_P99_US" '.frames.both > 100 and .inter_ear_error_us.p99 <= $m' <<<"$rb" \
	>/dev/null || fail "pair b's ears not in sync before the kill (P99 over $B_P99_US us)"
((a_sent0 > 0)) || fail "pair a sent nothing before the kill"
# The adaptive delay slews towards its target: across b's event a's
# target stays where it was and a's delay never steps up.
awk -v d0="$a_delay0" -v t0="$a_target0" -v tol="$A_DELAY_TOL_US" '
	{ t = $3 - t0; if (t < 0) t = -t; if (t > tol) bad++
	  if ($1 > prev + 200) bad++; prev = $1 }
	BEGIN { prev = d0 }
	END { exit !(NR >= 10 && bad == 0) }' "$dir/delays.tsv" ||
	fail "pair a's delay moved with pair b's event (from $a_delay0 us, target $a_target0 us): $(tr '\n' ' ' <"$dir/delays.tsv")"
grep -q "streaming" <(cut -f2 "$dir/delays.tsv") ||
	fail "pair b's right ear never streamed again"
echo "pairs-e2e: ok"
