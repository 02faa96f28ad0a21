#!/usr/bin/env bash
# PipeWire gone and back (src/pw/sink_reconnect.c): a private PipeWire
# daemon (tests/integration/pw-minimal.conf), ttwsd with source =
# pipewire on the simulated pair, NOTIFY_SOCKET read by this test
# (notify-listen.py) and a 2 s watchdog. pw-cat plays a 2 s stereo test
# file into ttws.sink; PipeWire is killed (SIGKILL) and started again; a
# second pw-cat plays a 3 s file into ttws.sink. Asserts:
#   - ttws.sink is back in pw-dump within 10 s of PipeWire's restart
#     (it would never be if the sink did not re-register by itself);
#   - ttwsd logged "PipeWire gone" and "PipeWire back", as journal
#     records with TTWS_EVENT=pipewire-gone (ERRNO set) and then
#     pipewire-back and their MESSAGE_IDs (journal.sh: a stand-in
#     journald; on stderr when it cannot be used), STATUS= said
#     "PipeWire gone since ..." and then named ttws.sink again, and the
#     status JSON counts as many returns as losses (at least one);
#   - WATCHDOG=1 kept coming while PipeWire was gone (within the grace
#     period, src/daemon/notify.h), and the earbuds kept their links
#     (one connect each);
#   - after the restart, frames were rendered by both ears, and each
#     ear's decoded output has two bursts of its own tone (left 440 Hz,
#     right 660 Hz): the first play (a 2 s file) and the second, after
#     the restart, a 3 s file: its burst lasts 3 s (+-0.15), so the ears
#     got the new audio, all of it.
# Cleans up after itself even when it fails.
#
#   pw-restart.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
# shellcheck source=pwlib.sh
. "$HERE/pwlib.sh"
pwtest_init pw-restart
start_pipewire
pwtest_start_pair
pwtest_start_ttwsd

port_exists() { pw-link "$1" | grep -x -- "$2" >/dev/null; }
both_streaming() {
	[[ $(ear_state "$dir/control" left) == streaming &&
		$(ear_state "$dir/control" right) == streaming ]]
}
# play NAME FILE: FILE from pw-cat, linked into ttws.sink, to its end.
play() {
	local name=$1 file=$2 n=500
	pw-cat -p -v -P "{ node.name = $name node.want-driver = false
		adapter.auto-port-config = { mode = dsp position = preserve } }" \
		"$file" >>"$dir/pw-cat.log" 2>&1 &
	cat_pid=$!
	wait_for 10 port_exists -o "$name:output_FL" || fail "$name: no output ports"
	pw-link "$name:output_FL" ttws.sink:playback_FL || fail "$name: pw-link FL"
	pw-link "$name:output_FR" ttws.sink:playback_FR || fail "$name: pw-link FR"
	while kill -0 "$cat_pid" 2>/dev/null; do
		((n-- > 0)) || fail "$name did not finish"
		sleep 0.02
	done
	wait "$cat_pid" || true
	cat_pid=
}

# After the restart a longer file: the ears' second burst of sound must
# last as long as it, so it is that file, whole (not the first one's
# remains, nor a part of it).
"$SIM" --gen-audio "$dir/input2.wav" --duration 3 ||
	fail "cannot write the second test file"
wait_for 10 port_exists -i ttws.sink:playback_FL || fail "ttws.sink did not appear"
wait_for 20 both_streaming || fail "the earbuds did not lock"
play ttws-src-1 "$dir/input.wav"

# PipeWire dies...
kill -KILL "$pw_pid"
wait "$pw_pid" 2>/dev/null || true
pw_pid=
gone() { grep -q 'STATUS=.*PipeWire gone since' "$dir/notify.log"; }
wait_for 5 gone || fail "STATUS= did not say PipeWire is gone"
sleep 1.5
# ... and comes back.
restart_ns=$(mono_ns)
start_pipewire
sink_in_dump() {
	pw-dump | jq -e '[.[] | select(.type == "PipeWire:Interface:Node" and
		.info.props["node.name"] == "ttws.sink")] | length == 1'
}
wait_for 10 sink_in_dump || fail "ttws.sink did not re-register within 10 s"
back_ns=$(mono_ns)
echo "ttws.sink back in pw-dump $(((back_ns - restart_ns) / 1000000)) ms after PipeWire's restart"
wait_for 5 port_exists -i ttws.sink:playback_FL || fail "ttws.sink has no ports after the restart"
play ttws-src-2 "$dir/input2.wav"
sleep 0.5
stop "$ttwsd_pid"
ttwsd_pid=
sleep 0.3
stop "$sim_pid"
sim_pid=

((journal_ok)) && journal_text "$dir" >>"$dir/ttwsd.log"
grep -q 'PipeWire gone' "$dir/ttwsd.log" || fail "ttwsd did not log PipeWire gone"
grep -q 'PipeWire back: ttws.sink registered again' "$dir/ttwsd.log" ||
	fail "ttwsd did not log PipeWire back"
# The journal: the events by kind, the loss with its errno, in order.
if ((journal_ok)); then
	jq -se '[.[] | select(.TTWS_EVENT == "pipewire-gone" or
			.TTWS_EVENT == "pipewire-back")] as $e |
		($e | length) >= 2 and
		$e[0].TTWS_EVENT == "pipewire-gone" and
		$e[0].MESSAGE_ID == "16fa8a63de2549ba902385c4ea241a41" and
		($e[0].ERRNO | tonumber) > 0 and $e[0].PRIORITY == "4" and
		$e[1].TTWS_EVENT == "pipewire-back" and
		$e[1].MESSAGE_ID == "7fe16b6c0bdc4c5baf1f03f338fe1cf6" and
		$e[1].PRIORITY == "5" and
		($e[-1].TTWS_EVENT == "pipewire-back")' \
		"$dir/journal.jsonl" >/dev/null ||
		fail "journal: no pipewire-gone then pipewire-back records:" \
			"$(jq -c 'select(.TTWS_EVENT // "" | startswith("pipewire"))' \
				"$dir/journal.jsonl")"
fi
jq -e '.pipewire.sink.disconnects >= 1 and
	.pipewire.sink.reconnects == .pipewire.sink.disconnects and
	.pipewire.sink.registered == true and .pipewire.sink.gone == false' \
	"$dir/stats.json" >/dev/null ||
	fail "status JSON: $(jq -c '.pipewire.sink' "$dir/stats.json")"
jq -e '.ears.left.connects == 1 and .ears.right.connects == 1' \
	"$dir/stats.json" >/dev/null ||
	fail "an earbud lost its link: $(jq -c '.ears | map_values(.connects)' "$dir/stats.json")"

/usr/bin/python3 - "$dir" "$back_ns" <<'PY' || fail "see above"
import csv, math, sys, wave

d, back_ns = sys.argv[1], int(sys.argv[2])
bad = []

# STATUS= and WATCHDOG=1 around the loss.
msgs = []
for line in open(d + "/notify.log"):
    t, m = line.rstrip("\n").split("\t", 1)
    msgs.append((int(t), m))
status = [(t, f) for t, m in msgs for f in m.split("|")
          if f.startswith("STATUS=")]
gone = [t for t, s in status if "PipeWire gone since" in s]
if not gone:
    bad.append("no STATUS= PipeWire gone")
else:
    after = [(t, s) for t, s in status if t > gone[-1]]
    if not any("ttws.sink" in s for t, s in after):
        bad.append("STATUS= never named ttws.sink again: %s" % after)
    back = min([t for t, s in after if "ttws.sink" in s] or [0])
    pings = [t for t, m in msgs if m == "WATCHDOG=1"
             and gone[0] <= t <= back]
    print("PipeWire gone for %.2f s (STATUS=), %d watchdog pings meanwhile"
          % ((back - gone[0]) / 1e9, len(pings)))
    if back - gone[0] > 1.5e9 and not pings:
        bad.append("the watchdog was not fed while PipeWire was gone "
                   "(within the grace period)")

# Frames sent after the restart, rendered by both ears.
played = {"left": set(), "right": set()}
with open(d + "/render.csv") as f:
    for row in csv.DictReader(f):
        if int(row["late"]) == 0 and int(row["render_host_ns"]) > back_ns:
            played[row["ear"]].add(int(row["seq"]))
both = played["left"] & played["right"]
print("frames rendered by both ears after the restart: %d" % len(both))
if len(both) < 250:
    bad.append("only %d frames rendered by both ears after the restart"
               % len(both))


def bursts(path, want_hz, other_hz):
    """Runs of 10 ms blocks with signal (RMS > 0.05 of full scale):
    (start s, length s, share of blocks where want_hz dominates)."""
    w = wave.open(path)
    n = w.getnframes()
    raw = w.readframes(n)
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
    if len(bs) != 2:
        bad.append("%s ear: %d bursts of signal, not 2 (one per play)"
                   % (ear, len(bs)))
    elif any(b[2] < 0.6 for b in bs):
        bad.append("%s ear: not its own tone" % ear)
    elif abs(bs[0][1] - 2.0) > 0.15 or abs(bs[1][1] - 3.0) > 0.15:
        bad.append("%s ear: bursts of %.2f s and %.2f s, not the 2 s and "
                   "3 s files played before and after the restart"
                   % (ear, bs[0][1], bs[1][1]))
for b in bad:
    print("FAIL:", b)
sys.exit(1 if bad else 0)
PY
echo "pw-restart: ok"
