#!/usr/bin/env bash
# PipeWire absent when ttwsd starts (source = pipewire), as when a gateway
# boots its services in any order: ttwsd on the simulated pair with
# NOTIFY_SOCKET read by this test (notify-listen.py), a 2 s watchdog and a
# stand-in journald (journal.sh), and no PipeWire daemon; 3 s later a
# private PipeWire (tests/integration/pw-minimal.conf) starts, and pw-cat
# plays a 2 s stereo test file into ttws.sink. Asserts:
#   - ttwsd does not exit without PipeWire: READY=1 comes (the RT thread
#     runs) and STATUS= says "waiting for PipeWire" before PipeWire
#     starts, and WATCHDOG=1 keeps coming meanwhile (within the grace);
#   - ttws.sink appears in PipeWire within 10 s of its start (the sink's
#     back-off, src/pw/sink_reconnect.c), and STATUS= names it then;
#   - the journal has pipewire-gone (ERRNO set) at start, then
#     pipewire-back ("PipeWire there: ttws.sink registered"); on stderr
#     when the stand-in journald cannot be used;
#   - the status JSON: registered, not gone, no disconnects nor
#     reconnects (a start without PipeWire is neither), more than one
#     connection attempt;
#   - frames sent after PipeWire started were rendered by both ears, and
#     each ear's decoded output has one burst of its own tone (left
#     440 Hz, right 660 Hz): pw-cat's play.
# Fails if start-up still requires PipeWire (ttwsd exits, no READY=1).
# Cleans up after itself even when it fails.
#
#   pw-late.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# shellcheck source=pwlib.sh
. "$HERE/pwlib.sh"
pwtest_init pw-late
pwtest_start_pair
start_ns=$(mono_ns)
pwtest_start_ttwsd

ready() { grep -q 'READY=1' "$dir/notify.log"; }
waiting() { grep -q 'STATUS=.*waiting for PipeWire' "$dir/notify.log"; }
wait_for 10 ready || fail "no READY=1 without PipeWire"
wait_for 5 waiting || fail "STATUS= did not say waiting for PipeWire"
# PipeWire comes 3 s after ttwsd.
sleep "$(/usr/bin/python3 -c "import time
print(max(0, 3 - (time.monotonic_ns() - $start_ns) / 1e9))")"
kill -0 "$ttwsd_pid" 2>/dev/null || fail "ttwsd exited without PipeWire"
pw_ns=$(mono_ns)
start_pipewire

port_exists() { pw-link "$1" | grep -x -- "$2" >/dev/null; }
sink_in_dump() {
	pw-dump | jq -e '[.[] | select(.type == "PipeWire:Interface:Node" and
		.info.props["node.name"] == "ttws.sink")] | length == 1'
}
wait_for 10 sink_in_dump || fail "ttws.sink did not register within 10 s of PipeWire"
sink_ns=$(mono_ns)
echo "ttws.sink in pw-dump $(((sink_ns - pw_ns) / 1000000)) ms after PipeWire started" \
	"($(((pw_ns - start_ns) / 1000000)) ms after ttwsd)"
wait_for 5 port_exists -i ttws.sink:playback_FL || fail "ttws.sink has no ports"
both_streaming() {
	[[ $(ear_state "$dir/control" left) == streaming &&
		$(ear_state "$dir/control" right) == streaming ]]
}
wait_for 20 both_streaming || fail "the earbuds did not lock"

pw-cat -p -v -P "{ node.name = ttws-src node.want-driver = false
	adapter.auto-port-config = { mode = dsp position = preserve } }" \
	"$dir/input.wav" >>"$dir/pw-cat.log" 2>&1 &
cat_pid=$!
wait_for 10 port_exists -o "ttws-src:output_FL" || fail "pw-cat: no output ports"
pw-link ttws-src:output_FL ttws.sink:playback_FL || fail "pw-link FL"
pw-link ttws-src:output_FR ttws.sink:playback_FR || fail "pw-link FR"
n=500
while kill -0 "$cat_pid" 2>/dev/null; do
	((n-- > 0)) || fail "pw-cat did not finish"
	sleep 0.02
done
wait "$cat_pid" || true
cat_pid=
sleep 0.5
stop "$ttwsd_pid"
ttwsd_pid=
sleep 0.3
stop "$sim_pid"
sim_pid=

((journal_ok)) && journal_text "$dir" >>"$dir/ttwsd.log"
grep -q 'PipeWire not there at start' "$dir/ttwsd.log" ||
	fail "ttwsd did not log that it waits for PipeWire"
grep -q 'PipeWire there: ttws.sink registered' "$dir/ttwsd.log" ||
	fail "ttwsd did not log ttws.sink's registration"
if ((journal_ok)); then
	jq -se '[.[] | select(.TTWS_EVENT == "pipewire-gone" or
			.TTWS_EVENT == "pipewire-back")] as $e |
		($e | length) == 2 and
		$e[0].TTWS_EVENT == "pipewire-gone" and
		$e[0].MESSAGE_ID == "16fa8a63de2549ba902385c4ea241a41" and
		($e[0].ERRNO | tonumber) > 0 and
		$e[1].TTWS_EVENT == "pipewire-back" and
		$e[1].MESSAGE_ID == "7fe16b6c0bdc4c5baf1f03f338fe1cf6"' \
		"$dir/journal.jsonl" >/dev/null ||
		fail "journal: not pipewire-gone then pipewire-back:" \
			"$(jq -c 'select(.TTWS_EVENT // "" | startswith("pipewire"))' \
				"$dir/journal.jsonl")"
fi
jq -e '.pipewire.sink.registered == true and .pipewire.sink.gone == false and
	.pipewire.sink.disconnects == 0 and .pipewire.sink.reconnects == 0 and
	.pipewire.sink.connect_attempts >= 2' "$dir/stats.json" >/dev/null ||
	fail "status JSON: $(jq -c '.pipewire.sink' "$dir/stats.json")"

/usr/bin/python3 - "$dir" "$pw_ns" "$sink_ns" <<'PY' || fail "see above"
import csv, math, sys, wave

d, pw_ns, sink_ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = []

# READY=1, STATUS= and WATCHDOG=1 before PipeWire, then STATUS= naming
# ttws.sink.
msgs = []
for line in open(d + "/notify.log"):
    t, m = line.rstrip("\n").split("\t", 1)
    msgs.append((int(t), m))
ready = [t for t, m in msgs if "READY=1" in m.split("|")]
if not ready or ready[0] > pw_ns:
    bad.append("READY=1 did not come before PipeWire started")
status = [(t, f) for t, m in msgs for f in m.split("|")
          if f.startswith("STATUS=")]
if not any("waiting for PipeWire" in s for t, s in status if t < pw_ns):
    bad.append("STATUS= did not say waiting for PipeWire before it started")
if not any("ttws.sink" in s for t, s in status if t > pw_ns):
    bad.append("STATUS= never named ttws.sink")
pings = [t for t, m in msgs if m == "WATCHDOG=1" and ready and
         ready[0] <= t <= pw_ns]
print("%d watchdog pings while PipeWire was not there" % len(pings))
if not pings:
    bad.append("the watchdog was not fed while waiting for PipeWire "
               "(within the grace period)")

# Frames sent after ttws.sink registered, rendered by both ears.
played = {"left": set(), "right": set()}
with open(d + "/render.csv") as f:
    for row in csv.DictReader(f):
        if int(row["late"]) == 0 and int(row["render_host_ns"]) > sink_ns:
            played[row["ear"]].add(int(row["seq"]))
both = played["left"] & played["right"]
print("frames rendered by both ears after ttws.sink registered: %d"
      % len(both))
if len(both) < 150:
    bad.append("only %d frames rendered by both ears" % len(both))


def bursts(path, want_hz, other_hz):
    """Runs of 10 ms blocks with signal (RMS > 0.05 of full scale):
    (start s, length s, share of blocks where want_hz dominates)."""
    w = wave.open(path)
    raw = w.readframes(w.getnframes())
    x = [int.from_bytes(raw[i:i + 2], "little", signed=True) / 32768.0
         for i in range(0, len(raw), 2)]
    blk = 480

    def power(seg, hz):
        c = s = 0.0
        for i, v in enumerate(seg):
            a = 2 * math.pi * hz * i / 48000
            c += v * math.cos(a)
            s += v * math.sin(a)
        return c * c + s * s

    out, cur = [], None
    for b in range(len(x) // blk):
        seg = x[b * blk:(b + 1) * blk]
        rms = math.sqrt(sum(v * v for v in seg) / blk)
        if rms > 0.05:
            good = power(seg, want_hz) > 4 * power(seg, other_hz)
            if cur is None:
                cur = [b, b, 0, 0]
            cur[1] = b
            cur[2] += 1
            cur[3] += good
        elif cur is not None and b - cur[1] > 20:
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    return [(c[0] * 0.01, (c[1] - c[0] + 1) * 0.01, c[3] / max(c[2], 1))
            for c in out]


for ear, want, other in (("left", 440, 660), ("right", 660, 440)):
    bs = [b for b in bursts("%s/ear-%s.wav" % (d, ear), want, other)
          if b[1] >= 1.0]
    print("%s ear: signal bursts (start s, length s, own tone share): %s"
          % (ear, [tuple(round(v, 2) for v in b) for b in bs]))
    if len(bs) != 1:
        bad.append("%s ear: %d bursts of signal, not 1 (pw-cat's play)"
                   % (ear, len(bs)))
    elif bs[0][2] < 0.6:
        bad.append("%s ear: not its own tone" % ear)
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
echo "pw-late: ok"
