# Shared by the fault-injection tests (sourced after BUILD and ROOT are
# set): a scratch directory, the simulated pair, ttwsd on it, clean-up of
# everything started even when a test fails, and the logs on failure.
TTWSD=$BUILD/src/daemon/ttwsd
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSCTL=$BUILD/src/ctl/ttwsctl
FAULTS=$ROOT/tests/integration/faults
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"

for t in busctl jq /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done

# Real time when we may, as demo.sh: the tests count every frame, and on
# a loaded 2-CPU machine a SCHED_OTHER RT thread misses frame deadlines.
RT_PRIO=0 SIM_PRIO=0
((EUID == 0)) && RT_PRIO=80 SIM_PRIO=70

sim_pid= ttwsd_pid= extra_pids=()
stop() { # pid...: SIGCONT (a frozen one), TERM, then wait
	local p
	for p in "$@"; do
		[[ -n $p ]] && kill -CONT "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		[[ -n $p ]] && wait "$p" 2>/dev/null
	done
	return 0
}
faults_cleanup() {
	set +e # a killed child's status must not become the test's
	stop "$ttwsd_pid" "${extra_pids[@]}" "$sim_pid"
	[[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$dir/ttwsd.log" "$dir/sim.err" "$dir/sim.out"; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 15 "$f" >&2
	done
	exit 1
}
# PID has ended (gone, or a zombie its parent has not waited for yet).
exited() {
	[[ ! -e /proc/$1/stat ]] || [[ $(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1) == Z ]]
}
mono_ns() { /usr/bin/python3 -c 'import time; print(time.monotonic_ns())'; }
asan() { [[ $(ldd "$TTWSD") == *libasan* ]]; }

faults_init() { # NAME: the scratch directory
	dir=$(mktemp -d "/tmp/ttws-$1.XXXXXX")
	chmod 755 "$dir"
	trap faults_cleanup EXIT
}

# The simulated pair on DIR/left.sock and DIR/right.sock, its render log
# in DIR/render.csv; extra arguments go to the simulator. SIM_PIN: a
# command to run it under (taskset).
SIM_PIN=()
start_pair() {
	"${SIM_PIN[@]}" "$SIM" --pair --scenario "$ROOT/tests/scenarios/nominal.ini" \
		--left "$dir/left.sock" --right "$dir/right.sock" \
		--render-log "$dir/render.csv" --priority "$SIM_PRIO" \
		--spin-guard-us 50 "$@" \
		>"$dir/sim.out" 2>"$dir/sim.err" &
	sim_pid=$!
	wait_for 5 test -S "$dir/left.sock" -a -S "$dir/right.sock" ||
		fail "the simulated pair did not start"
}

# ttwsd.conf for the pair (links on DIR/left.sock and right.sock unless
# LINK_DIR says where else, control socket DIR/run/control), the test
# tone, PCM; what stdin holds is appended (more sections). The margin
# and floor of demo.sh: this VM's hypervisor stalls the RT thread for
# milliseconds now and then.
write_conf() {
	mkdir -p "$dir/run"
	{
		cat <<CONF
[rt]
priority = $RT_PRIO
[stream]
codec = pcm
delay_margin_ms = 4
delay_min_ms = 20
CONF
		pair_conf "${LINK_DIR:-$dir}" |
			sed "s|^socket = .*|socket = $dir/run/control|"
		cat
	} >"$dir/ttwsd.conf"
}

# ttwsd on DIR/ttwsd.conf, its status JSON at exit in DIR/stats.json.
# TTWSD_PIN: a command to run it under (taskset: its RT thread then pins
# itself to [rt] cpu).
TTWSD_PIN=()
start_ttwsd() {
	"${TTWSD_PIN[@]}" "$TTWSD" --config "$dir/ttwsd.conf" --stats-file "$dir/stats.json" \
		"$@" 2>"$dir/ttwsd.log" &
	ttwsd_pid=$!
	wait_for 10 test -S "$dir/run/control" || fail "no control socket"
}

# SIGTERM to ttwsd; its exit status (0 expected) in stop_rc.
stop_ttwsd() {
	stop_rc=0
	kill -TERM "$ttwsd_pid"
	wait "$ttwsd_pid" || stop_rc=$?
	ttwsd_pid=
}

# judge_frames RENDER_CSV FROM_NS TO_NS ALLOW: each ear's frames from the
# first one it played at or after FROM_NS (CLOCK_MONOTONIC) to the last
# one it played up to TO_NS, at least 40 of them: at most ALLOW late or
# missing, or with ALLOW "stalls", at most 1 + 1 per 1000 frames runs of
# consecutive late or missing ones, none longer than 25 (250 ms): what a
# stall of the whole guest (this VM's hypervisor) costs, while a fault
# of ours would cost runs every time. Late rows carry no time (the render
# log leaves it 0), so the span is taken by sequence number. Prints a
# line per ear; 1 when one fails.
judge_frames() {
	awk -F, -v a="$2" -v b="$3" -v allow="$4" '
		NR > 1 { ear[$1] = 1; late[$1, $2] = $6 != 0; seen[$1, $2] = 1
			if ($6 == 0 && $5 >= a && (!($1 in lo) || $2 < lo[$1])) lo[$1] = $2
			if ($6 == 0 && $5 <= b && $2 > hi[$1]) hi[$1] = $2 }
		END {
			for (e in ear) {
				span = hi[e] - lo[e] + 1; bad = runs = run = longest = 0
				for (s = lo[e]; s <= hi[e]; s++) {
					if (!((e, s) in seen) || late[e, s]) {
						bad++; if (!run) runs++; run++
						if (run > longest) longest = run
					} else {
						run = 0
					}
				}
				printf "%s: frames %d..%d, %d late or missing in %d runs (longest %d)\n", e, lo[e], hi[e], bad, runs, longest
				if (!(e in lo) || span < 40) fail = 1
				else if (allow == "stalls") {
					if (runs > 1 + span / 1000 || longest > 25) fail = 1
				} else if (bad > allow) fail = 1
			}
			exit fail || length(ear) != 2
		}' "$1"
}

both_streaming() {
	[[ $(ear_state "$dir/run/control" left) == streaming &&
		$(ear_state "$dir/run/control" right) == streaming ]]
}
call() {
	busctl --address="unix:path=$dir/run/control" call org.ttws.Daemon1 \
		/org/ttws/Daemon org.ttws.Daemon1 "$@"
}
stats() { call GetStats | sed 's/^s //' | jq -r 'fromjson'; }
