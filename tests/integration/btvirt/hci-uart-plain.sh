#!/usr/bin/env bash
# The two ends of ttwsd.conf's security on transport = hci-uart, against
# BlueZ's controller emulator (as hci-uart.sh, shorter):
#
#   security = none   today's plain link: both channels open and frames
#                     flow with no SMP and no encryption in the capture,
#                     no bond written, and the warning at start for each
#                     link; against an earbud that does not pair either
#                     (the simulator with TTWS_SIM_SECURITY=none);
#   security = high   refused at start (no authenticated pairing without
#                     the earbud's input or output), saying why.
#
#   hci-uart-plain.sh BUILD_DIR   (run by with-btvirt.sh)
set -euo pipefail
BUILD=$1
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SERVER=${TTWS_BTVIRT_LE:?run me through btvirt/with-btvirt.sh}
SIM=$BUILD/src/sim/ttws-earbud-sim
TTWSD=$BUILD/src/daemon/ttwsd
PROXY=$BUILD/tests/integration/btvirt/hci-proxy
[[ -x $PROXY ]] || { echo "SKIP: no hci-proxy" >&2; exit 77; }
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	for f in sim.out sim.err ttwsd.log ttwsd-high.log; do
		[[ -f $tmp/$f ]] && { echo "--- $f" >&2; tail -n 30 "$tmp/$f" >&2; }
	done
	exit 1
}

"$PROXY" --connect "$SERVER" --listen "$tmp/ctl.sock" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	[[ -S $tmp/ctl.sock ]] && break
	sleep 0.02
done
TTWS_SIM_SECURITY=none "$SIM" --pair --hci "$tmp/ctl.sock" \
	--scenario "$ROOT/tests/scenarios/nominal.ini" \
	--render-log "$tmp/render.csv" >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
for _ in $(seq 200); do
	(($(grep -c 'earbud: controller' "$tmp/sim.out" || true) == 2)) && break
	sleep 0.05
done
left=$(sed -n 's/.*left earbud: controller \(.*\)$/\1/p' "$tmp/sim.out")
right=$(sed -n 's/.*right earbud: controller \(.*\)$/\1/p' "$tmp/sim.out")
[[ -n $left && -n $right ]] || fail "the simulated earbuds did not come up"
for ear in left right; do
	"$PROXY" --connect "$SERVER" --pty "$tmp/dongle-$ear" >/dev/null 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		[[ -e $tmp/dongle-$ear ]] && break
		sleep 0.02
	done
done
conf() { # SECURITY
	cat <<CONF
[rt]
priority = 0
lock_memory = no
dma_latency = no
[link.left]
transport = hci-uart
path = $tmp/dongle-left
baud = 3000000
address = $left
security = $1
[link.right]
transport = hci-uart
path = $tmp/dongle-right
baud = 3000000
address = $right
security = $1
CONF
}
mkdir -m 0700 "$tmp/state"

# high: refused at start, with the reason.
conf high >"$tmp/high.conf"
if STATE_DIRECTORY=$tmp/state "$TTWSD" --config "$tmp/high.conf" \
	--duration 2 2>"$tmp/ttwsd-high.log"; then
	fail "ttwsd ran with security = high on hci-uart"
fi
# (The dongle's own refusal; a refusal when the file is read, should
# ttwsd.conf's parser take it over, names the key and the transport.)
grep -Eq "security = high needs a key authenticated against a man in the middle|security.*high.*hci-uart|hci-uart.*security.*high" \
	"$tmp/ttwsd-high.log" || fail "no reason given for refusing security = high"

# none: plain, warned about.
conf none >"$tmp/none.conf"
STATE_DIRECTORY=$tmp/state "$TTWSD" --config "$tmp/none.conf" --duration 4 \
	--stats-file "$tmp/stats.json" --btsnoop "$tmp/hci.btsnoop" \
	2>"$tmp/ttwsd.log" || fail "ttwsd failed"
for ear in left right; do
	grep -q "$ear ear: hci-uart .*security = none: this link is NOT encrypted" \
		"$tmp/ttwsd.log" || fail "no warning for the $ear link"
	[[ $(jq -r ".ears.$ear.state" "$tmp/stats.json") == streaming ]] ||
		fail "$ear ear not streaming"
	(($(jq -r ".ears.$ear.frames_sent" "$tmp/stats.json") >= 200)) ||
		fail "$ear ear: few frames sent"
done
btmon -r "$tmp/hci.btsnoop" >"$tmp/btmon.txt" 2>&1 || true
grep -q "LE Credit Based Connection Request\|LE Connection Request" "$tmp/btmon.txt" ||
	fail "no L2CAP channel in the capture"
! grep -q "SMP:\|Encryption Change\|LE Start Encryption" "$tmp/btmon.txt" ||
	fail "SMP or encryption on a security = none link"
[[ -z $(find "$tmp/state" -name 'bond-*') ]] || fail "a bond was written"
echo "hci-uart-plain: ok"
