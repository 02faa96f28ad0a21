#!/usr/bin/env bash
# ttwsd with transport = l2cap on the real kernel Bluetooth stack: Debian's
# kernel in qemu, emulated controllers from btvirt on /dev/vhci, the
# simulated pair listening on kernel L2CAP sockets (tests/vm/ttwsd-run).
# Asserted: both channels open and frames delivered to both ears, receive
# timestamps from the kernel (SO_TIMESTAMPNS), the socket options the
# kernel granted read back (SO_PRIORITY, BT_SECURITY), TX-completion
# timestamps reported absent on this kernel (< 6.15), and the right earbud
# dropped and reconnected while the left kept receiving.
#
#   test-vm-ttwsd.sh BUILD_DIR     (77 = skipped: qemu cannot run here)
set -euo pipefail
(($# == 1)) || { echo "usage: test-vm-ttwsd.sh BUILD_DIR" >&2; exit 2; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: vm-ttwsd: $*" >&2; exit 1; }

if ldd "$BUILD/src/daemon/ttwsd" 2>/dev/null | grep -q libasan; then
	# A sanitized ttwsd under TCG is too slow for its real-time loop, and
	# the plain build runs this same test.
	echo "vm-ttwsd: skipped in the sanitizer build (the plain build runs it)"
	exit 77
fi
mkdir "$tmp/payload"
cp "$BUILD/src/daemon/ttwsd" "$BUILD/src/sim/ttws-earbud-sim" "$tmp/payload/"
cp "$ROOT/tests/scenarios/nominal.ini" "$tmp/payload/"
install -m 0755 "$HERE/ttwsd-run" "$tmp/payload/run"

"$HERE/build.sh" -o "$BUILD/vm-ttwsd" "$tmp/payload"
boot() {
	local rc=0
	"$HERE/run.sh" -t 120 -l "$BUILD/vm-ttwsd/console.log" \
		"$BUILD/vm-ttwsd" >"$tmp/result" || rc=$?
	((rc == 77)) && exit 77
	r=$(tail -n 1 "$tmp/result")
}
boot
# btvirt 5.66 in this kernel sometimes never starts the LE connection to a
# re-advertising earbud (seen in ~2 % of boots, not root-caused; see
# tests/vm/README.md): when that is the only thing wrong, boot once more.
if [[ -n $r ]] && (($(jq -r '.stats.ears.right.connects // 0' <<<"$r") < 2)) &&
	(($(jq -r '.stats.ears.left.frames_sent // 0' <<<"$r") > 0)); then
	echo "vm-ttwsd: the right earbud did not reconnect; booting once more (btvirt)"
	boot
fi
[[ -n $r ]] || fail "no result (run.sh exited $rc); console: $BUILD/vm-ttwsd/console.log"
echo "$r" | cut -c1-600
j() { jq -r "$1" <<<"$r"; }

(($(j .ttwsd_exit) == 0)) || fail "ttwsd exited $(j .ttwsd_exit); console: $BUILD/vm-ttwsd/console.log"
for ear in left right; do
	[[ $(j ".stats.ears.$ear.transport") == l2cap ]] || fail "$ear: not l2cap"
	(($(j ".stats.ears.$ear.frames_sent") > 0)) || fail "$ear: no frames sent"
	(($(j ".stats.ears.$ear.sync_samples") > 0)) || fail "$ear: no timing samples"
	(($(j ".stats.ears.$ear.rx_no_kernel_ts") == 0)) ||
		fail "$ear: $(j ".stats.ears.$ear.rx_no_kernel_ts") messages without a kernel timestamp"
done
(($(j .report.frames.rendered_left) >= 500)) || fail "left rendered $(j .report.frames.rendered_left)"
(($(j .report.frames.rendered_right) >= 200)) || fail "right rendered $(j .report.frames.rendered_right)"
(($(j .stats.ears.right.connects) >= 2)) || fail "right ear never reconnected"
(($(j .stats.ears.left.disconnects) == 0)) || fail "left ear dropped"
[[ $(j .stats.ears.right.state) == streaming ]] || fail "right not streaming at the end"
log=$(j .l2cap_log)
grep -qi "priority.*6" <<<"$log" || fail "SO_PRIORITY not read back: $log"
grep -qi "security" <<<"$log" || fail "BT_SECURITY not reported: $log"
grep -qi "completion" <<<"$log" || fail "TX completion support not reported: $log"
echo "vm-ttwsd: ok: kernel l2cap, both ears streamed, right reconnected"
