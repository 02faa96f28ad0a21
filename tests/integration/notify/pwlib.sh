# Shared by pw-late.sh and pw-restart.sh (sourced, after BUILD, HERE and
# ROOT are set): a private PipeWire runtime directory, the notify and
# journal listeners, the simulated pair and ttwsd with source = pipewire
# under a fake service manager (NOTIFY_SOCKET, WATCHDOG_USEC 2 s).
TTWSD=$BUILD/src/daemon/ttwsd
SIM=$BUILD/src/sim/ttws-earbud-sim
# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"
# shellcheck source=journal.sh
. "$HERE/journal.sh"

for t in pipewire pw-cli pw-cat pw-link pw-dump jq busctl /usr/bin/python3; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
grep -q '^#define HAVE_PIPEWIRE 1' "$BUILD/config.h" ||
	{ echo "SKIP: built without PipeWire"; exit 77; }

listen_pid= sim_pid= ttwsd_pid= pw_pid= cat_pid= journal_pid=
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
	set +e # a killed child's status must not become the test's
	stop "$cat_pid" "$ttwsd_pid" "$sim_pid" "$pw_pid" "$listen_pid" \
		"$journal_pid"
	[[ -n ${KEEP:-} ]] || rm -rf "$dir"
}
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$dir/notify.log" "$dir/ttwsd.log" "$dir/journal.jsonl" \
		"$dir/sim.err" "$dir/pipewire.log" "$dir/pw-cat.log"; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		grep -v 'WATCHDOG=1$' "$f" | tail -n 20 >&2
	done
	exit 1
}
mono_ns() { /usr/bin/python3 -c 'import time; print(time.monotonic_ns())'; }

pwtest_init() { # NAME: the scratch directory and the PipeWire runtime dir
	dir=$(mktemp -d "/tmp/ttws-$1.XXXXXX")
	trap cleanup EXIT
	# No daemon listens here until start_pipewire.
	export XDG_RUNTIME_DIR=$dir/pw PIPEWIRE_RUNTIME_DIR=$dir/pw
	unset PIPEWIRE_REMOTE PIPEWIRE_CORE
	mkdir -p "$dir/pw"
}

start_pipewire() {
	pipewire -c "$ROOT/tests/integration/pw-minimal.conf" \
		>>"$dir/pipewire.log" 2>&1 &
	pw_pid=$!
	wait_for 10 pw-cli info 0 || fail "the private PipeWire daemon did not start"
}

# The listeners, the simulated pair and the test file.
pwtest_start_pair() {
	/usr/bin/python3 "$HERE/notify-listen.py" "$dir/notify.sock" \
		"$dir/notify.log" &
	listen_pid=$!
	wait_for 5 test -S "$dir/notify.sock" || fail "the listener did not start"
	: >>"$dir/notify.log"
	journal_start "$dir" || fail "the journal listener did not start"
	((journal_ok)) ||
		echo "note: no mount namespace here: journal fields not checked"

	"$SIM" --gen-audio "$dir/input.wav" --duration 2 ||
		fail "cannot write the test file"
	"$SIM" --pair --scenario "$ROOT/tests/scenarios/nominal.ini" \
		--left "$dir/left.sock" --right "$dir/right.sock" \
		--render-log "$dir/render.csv" --wav-prefix "$dir/ear" \
		>"$dir/sim.out" 2>"$dir/sim.err" &
	sim_pid=$!
	wait_for 5 test -S "$dir/right.sock" || fail "the simulated pair did not start"
}

# ttwsd on the pair, source = pipewire, under the fake service manager.
pwtest_start_ttwsd() {
	cat >"$dir/ttwsd.conf" <<CONF
[rt]
priority = 0
[stream]
source = pipewire
codec = pcm
delay_margin_ms = 4
delay_min_ms = 20
CONF
	pair_conf "$dir" >>"$dir/ttwsd.conf"
	(
		export NOTIFY_SOCKET=$dir/notify.sock WATCHDOG_USEC=2000000
		WATCHDOG_PID=$BASHPID
		export WATCHDOG_PID
		journal_exec "$dir" "$TTWSD" --config "$dir/ttwsd.conf" \
			--stats-file "$dir/stats.json"
	) 2>"$dir/ttwsd.log" &
	ttwsd_pid=$!
}
