#!/usr/bin/env bash
# SIGTERM while streaming (issue 14): ttwsd streams the test tone to the
# simulated pair through a wiretap on both links (linktap.py) under a
# stand-in service manager (NOTIFY_SOCKET, notify/notify-listen.py); the
# test sends SIGTERM and asserts:
#   - each earbud's last message from ttwsd is STOP with reason shutdown
#     (1), sent while audio was flowing (an AUDIO frame on that link
#     within the 100 ms before it), and then its link closed;
#   - the service manager heard STOPPING=1;
#   - ttwsd exits with status 0 within 2 s, although one control client
#     never finished its handshake and another never reads its replies
#     (garbage.py hold: sd-bus's flush at exit would wait for them);
#   - the control socket is gone and its directory is empty (no runtime
#     file left behind);
#   - in the half second before SIGTERM both earbuds played their frames
#     on time (the simulator's render log; one late or missing allowed):
#     it came while streaming.
#
#   sigterm.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=faultlib.sh
. "$ROOT/tests/integration/faults/faultlib.sh"
faults_init sigterm

start_pair
mkdir -p "$dir/tap"
/usr/bin/python3 "$FAULTS/linktap.py" "$dir/tap.log" \
	left "$dir/tap/left.sock" "$dir/left.sock" \
	right "$dir/tap/right.sock" "$dir/right.sock" 2>"$dir/tap.err" &
extra_pids+=($!)
/usr/bin/python3 "$ROOT/tests/integration/notify/notify-listen.py" \
	"$dir/notify.sock" "$dir/notify.log" &
extra_pids+=($!)
wait_for 5 test -S "$dir/tap/right.sock" -a -S "$dir/notify.sock" ||
	fail "the tap or the notify listener did not start"
LINK_DIR=$dir/tap write_conf </dev/null
NOTIFY_SOCKET=$dir/notify.sock start_ttwsd
wait_for 10 both_streaming || fail "the ears did not stream"
# Two clients that would keep a careless daemon from stopping: one
# silent, one that never reads its replies (garbage.py hold).
/usr/bin/python3 "$FAULTS/garbage.py" hold "$dir/run/control" 30 \
	>"$dir/hold.out" 2>&1 &
extra_pids+=($!)
sleep 2

t0=$(mono_ns)
kill -TERM "$ttwsd_pid"
rc=0
wait_for 5 exited "$ttwsd_pid" || fail "ttwsd still runs 5 s after SIGTERM"
wait "$ttwsd_pid" || rc=$?
t1=$(mono_ns)
ttwsd_pid=
((rc == 0)) || fail "ttwsd exited with status $rc after SIGTERM"
echo "exit status 0, $(((t1 - t0) / 1000000)) ms after SIGTERM"
((t1 - t0 < 2000000000)) || fail "ttwsd took $(((t1 - t0) / 1000000)) ms to stop"

[[ ! -e $dir/run/control ]] || fail "the control socket is left behind"
[[ -z $(ls -A "$dir/run") ]] || fail "left behind in the runtime directory: $(ls -A "$dir/run")"
grep -q 'STOPPING=1' "$dir/notify.log" || fail "no STOPPING=1 for the service manager"

sleep 0.3 # the tap logs the closes
for ear in left right; do
	# The link's traffic from the host, in order: the last message is
	# STOP (type 05) with reason 1, AUDIO (03) shortly before, then the
	# link closed.
	awk -v ear="$ear" -v t0="$t0" '
		$2 == ear && $3 == "h2e" {
			n++; last = $4; reason = $7; at = $1
			if ($4 == "03") audio_at = $1
		}
		$2 == ear && $3 == "close" { closed = $1 }
		END {
			if (!n) { print ear ": no traffic"; exit 1 }
			if (last != "05" || reason != 1) {
				printf "%s: last message type %s reason %s, not STOP shutdown\n", ear, last, reason
				exit 1
			}
			if (at < t0) { print ear ": STOP before SIGTERM"; exit 1 }
			if (audio_at == "" || at - audio_at > 100000000) {
				print ear ": no AUDIO within 100 ms of the STOP"; exit 1
			}
			if (closed == "" || closed < at) { print ear ": link not closed after STOP"; exit 1 }
			printf "%s: STOP (shutdown) %.1f ms after SIGTERM, %.1f ms after its last AUDIO\n",
				ear, (at - t0) / 1e6, (at - audio_at) / 1e6
		}' "$dir/tap.log" || fail "STOP: see above"
done

# Streaming up to the end: in the half second before SIGTERM each ear
# played its frames on time (one late or missing allowed: the sanitizer
# build on this VM).
judge_frames "$dir/render.csv" $((t0 - 500000000)) "$t0" 1 ||
	fail "the ears did not play every frame up to SIGTERM"
echo "sigterm: ok"
