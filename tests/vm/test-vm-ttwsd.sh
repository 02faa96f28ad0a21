#!/usr/bin/env bash
# ttwsd with transport = l2cap on the real kernel Bluetooth stack: Debian's
# kernel in qemu, emulated controllers from btvirt on /dev/vhci, the
# simulated pair listening on kernel L2CAP sockets (tests/vm/ttwsd-run).
# Asserted: both channels open with the configured MTU and frames
# delivered to both ears, receive timestamps from the kernel
# (SO_TIMESTAMPNS), the socket options the kernel granted read back (SO_PRIORITY, BT_SECURITY), TX-completion
# timestamps used as the timing exchanges' t1 where the kernel has them
# (>= 6.15) and reported absent where not, and the right earbud's process
# killed and restarted: ttwsd reconnects it while the left keeps
# receiving.
#
#   test-vm-ttwsd.sh [-k default|new|SUITE] BUILD_DIR
#
# -k picks the kernel as build.sh does (new: trixie-backports', with TX
# completion timestamps on L2CAP). 77 = skipped: qemu cannot run here.
set -euo pipefail
usage() { echo "usage: test-vm-ttwsd.sh [-k default|new|SUITE] BUILD_DIR" >&2; exit 2; }
kernel=${TTWS_VM_KERNEL_SUITE:-default}
while getopts k: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || usage
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=$(realpath "$1")
OUT=$BUILD/vm-ttwsd
[[ $kernel == default ]] || OUT=$BUILD/vm-ttwsd-$kernel
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

"$HERE/build.sh" -k "$kernel" -o "$OUT" "$tmp/payload"
boot() {
	local rc=0
	"$HERE/run.sh" -t 120 -l "$OUT/console.log" \
		"$OUT" >"$tmp/result" || rc=$?
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
[[ -n $r ]] || fail "no result (run.sh exited $rc); console: $OUT/console.log"
echo "$r" | cut -c1-600
j() { jq -r "$1" <<<"$r"; }

(($(j .ttwsd_exit) == 0)) || fail "ttwsd exited $(j .ttwsd_exit); console: $OUT/console.log"
for ear in left right; do
	[[ $(j ".stats.ears.$ear.transport") == l2cap ]] || fail "$ear: not l2cap"
	(($(j ".stats.ears.$ear.frames_sent") > 0)) || fail "$ear: no frames sent"
	(($(j ".stats.ears.$ear.sync_samples") > 0)) || fail "$ear: no timing samples"
	# ttwsd.conf asks for 1000; the simulated earbud listens with 2048.
	(($(j ".stats.ears.$ear.mtu_rx") == 1000 && $(j ".stats.ears.$ear.mtu_tx") == 2048)) ||
		fail "$ear: MTU in $(j ".stats.ears.$ear.mtu_rx"), out $(j ".stats.ears.$ear.mtu_tx"); configured 1000, earbud 2048"
	(($(j ".stats.ears.$ear.rx_no_kernel_ts") == 0)) ||
		fail "$ear: $(j ".stats.ears.$ear.rx_no_kernel_ts") messages without a kernel timestamp"
done
# Under TCG (no KVM here) the guest runs tens of times slower than a real
# gateway, and the RT thread's per-sample servo fits (O(window), four
# estimators kept warm) make many of the left's frames late: the transport
# is what this test checks, so frames that reached the left earbud count
# (rendered or late), with a floor of rendered ones; timing is the
# business of sync-live and the bench.
delivered_left=$(($(j .report.frames.rendered_left) + $(j .stats.ears.left.ear_late)))
((delivered_left >= 500)) || fail "left received $delivered_left frames"
(($(j .report.frames.rendered_left) >= 100)) || fail "left rendered $(j .report.frames.rendered_left)"
delivered_right=$(($(j .report.frames.rendered_right) + $(j .stats.ears.right.ear_late)))
((delivered_right >= 200)) || fail "right received $delivered_right frames"
(($(j .stats.ears.right.connects) >= 2)) || fail "right ear never reconnected"
(($(j .right_rendered_after_restart) >= 100)) ||
	fail "the restarted right earbud rendered $(j .right_rendered_after_restart) frames"
(($(j .stats.ears.left.disconnects) == 0)) || fail "left ear dropped"
[[ $(j .stats.ears.right.state) == streaming ]] || fail "right not streaming at the end"
# TX completion: Linux 6.15 reports it on L2CAP sockets (SO_TIMESTAMPING
# TX_COMPLETION through the error queue); ttwsd must then use it as the
# timing exchanges' t1, and before that say it is absent.
krel=$(<"$OUT/kernel-release")
kmaj=${krel%%.*} kmin=${krel#*.}
kmin=${kmin%%.*}
for ear in left right; do
	txc=$(j ".stats.ears.$ear.tx_completion")
	done_n=$(j ".stats.ears.$ear.tx_done.stamps")
	t1d=$(j ".stats.ears.$ear.t1_from_done")
	samples=$(j ".stats.ears.$ear.sync_samples")
	echo "vm-ttwsd: $ear: kernel $krel: tx_completion $txc, $done_n completions" \
		"($(jq -c ".stats.ears.$ear.tx_done" <<<"$r")), kernel hand-overs" \
		"$(j ".stats.ears.$ear.tx_kernel.stamps"), t1 from completion $t1d/$samples"
	if ((kmaj > 6 || (kmaj == 6 && kmin >= 15))); then
		[[ $txc == kernel ]] || fail "$ear: kernel $krel has TX completion, ttwsd says $txc"
		((done_n >= $(j ".stats.ears.$ear.frames_sent") / 2)) ||
			fail "$ear: only $done_n completion stamps"
		((t1d >= samples / 2 && t1d > 0)) ||
			fail "$ear: t1 from a completion in $t1d of $samples timing samples"
		(($(j .stats.loop.tx_stamps_unmatched) == 0 && $(j .stats.loop.errqueue_errors) == 0)) ||
			fail "error queue: $(jq -c .stats.loop <<<"$r")"
	else
		[[ $txc == none ]] || fail "$ear: kernel $krel has no TX completion, ttwsd says $txc"
		((done_n == 0 && t1d == 0)) || fail "$ear: completions on a kernel without them"
	fi
done
log=$(j .l2cap_log)
grep -qi "priority.*6" <<<"$log" || fail "SO_PRIORITY not read back: $log"
grep -qi "security" <<<"$log" || fail "BT_SECURITY not reported: $log"
grep -qi "completion" <<<"$log" || fail "TX completion support not reported: $log"
echo "vm-ttwsd: ok: kernel l2cap, both ears streamed, right reconnected"
