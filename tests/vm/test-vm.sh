#!/usr/bin/env bash
# The real kernel Bluetooth stack, without ttws code: boot Debian's kernel
# in qemu with emulated controllers and check what ttws's l2cap transport
# relies on (tests/vm/smoke.c says what exactly). Independent of meson;
# exits 77 (skipped) only when qemu cannot run here at all.
#
#   test-vm.sh [-k default|new|SUITE] BUILD_DIR
#
# -k picks the kernel as build.sh does (default: the machine's apt's,
# bookworm's 6.1 here; new: trixie-backports', with TX completion
# timestamps). Leaves BUILD_DIR/vm (or vm-new, vm-SUITE)/{vmlinuz,
# initrd.cpio.gz,console.log}. TTWS_VM_SMOKE names a prebuilt ttws-vm-smoke
# (e.g. meson's) instead of compiling smoke.c here with $CC (default cc).
set -euo pipefail
usage() { echo "usage: test-vm.sh [-k default|new|SUITE] BUILD_DIR" >&2; exit 2; }
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
mkdir -p "$1"
BUILD=$(realpath "$1")
VM=$BUILD/vm
[[ $kernel == default ]] || VM=$BUILD/vm-$kernel
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: vm: $*" >&2; exit 1; }

command -v jq >/dev/null || fail "jq not found: run ./dev setup"
mkdir "$tmp/payload"
if [[ -n ${TTWS_VM_SMOKE:-} ]]; then
	cp "$TTWS_VM_SMOKE" "$tmp/payload/ttws-vm-smoke"
else
	"${CC:-cc}" -std=gnu11 -O2 -g -Wall -Wextra -Werror \
		-o "$tmp/payload/ttws-vm-smoke" "$HERE/smoke.c" ||
		fail "cannot compile smoke.c (libbluetooth-dev installed?)"
fi
install -m 0755 "$HERE/smoke-run" "$tmp/payload/run"

"$HERE/build.sh" -k "$kernel" -o "$VM" "$tmp/payload"
boot() {
	rc=0
	"$HERE/run.sh" -t 90 -l "$VM/console.log" "$VM" >"$tmp/result" || rc=$?
	r=$(tail -n 1 "$tmp/result")
}
boot
((rc == 77)) && exit 77
# The one known flake (README.md, "reconnect stall"): the restarted right
# earbud is never reached, nothing else failed. Boot once more, loudly.
if ((rc != 0)) && [[ -n $r ]] &&
	jq -e '(.failures | length) > 0 and all(.failures[];
		test("^right: no reconnect|^right_after_restart: channel not open"))' \
		>/dev/null 2>&1 <<<"$r"; then
	cp "$VM/console.log" "$VM/console-stall.log"
	printf '\nvm: WARNING: reconnect stall (known btvirt 5.66 flake, see tests/vm/README.md); console kept in %s; booting once more\n\n' \
		"$VM/console-stall.log" >&2
	boot
fi
[[ -n $r ]] || fail "no result from the VM (run.sh exited $rc); console: $VM/console.log"
echo "$r"
j() { jq -r "$1" <<<"$r"; }

# What run.sh already required, said per check so a failure names itself.
[[ $(j .kernel.release) == $(<"$VM/kernel-release") ]] ||
	fail "booted $(j .kernel.release), built for $(<"$VM/kernel-release")"
for ch in .left .right .reconnect.right_after_restart; do
	name=${ch##*.}
	[[ $(j "$ch.open") == true ]] || fail "$name: channel did not open"
	(($(j "$ch.rcvmtu") == $(j .config.mtu_host_rx))) ||
		fail "$name: host BT_RCVMTU $(j "$ch.rcvmtu")"
	(($(j "$ch.sndmtu") == $(j .config.mtu_earbud_rx))) ||
		fail "$name: host BT_SNDMTU $(j "$ch.sndmtu")"
	(($(j "$ch.peer_rcvmtu") == $(j .config.mtu_earbud_rx))) ||
		fail "$name: earbud BT_RCVMTU $(j "$ch.peer_rcvmtu")"
	(($(j "$ch.peer_sndmtu") == $(j .config.mtu_host_rx))) ||
		fail "$name: earbud BT_SNDMTU $(j "$ch.peer_sndmtu")"
	(($(j "$ch.priority") == $(j .config.priority) &&
		$(j "$ch.peer_priority") == $(j .config.priority))) ||
		fail "$name: SO_PRIORITY $(j "$ch.priority")/$(j "$ch.peer_priority")"
	(($(j "$ch.security") == $(j .config.security) &&
		$(j "$ch.peer_security") == $(j .config.security))) ||
		fail "$name: BT_SECURITY $(j "$ch.security")/$(j "$ch.peer_security")"
	(($(j "$ch.exchanged") == $(j "$ch.expected") && $(j "$ch.errors") == 0)) ||
		fail "$name: $(j "$ch.exchanged") of $(j "$ch.expected") datagram exchanges"
	(($(j "$ch.corrupt") == 0)) || fail "$name: corrupted datagrams"
	(($(j "$ch.rx_tstamp_missing") == 0 && $(j "$ch.peer_rx_tstamp_missing") == 0)) ||
		fail "$name: SCM_TIMESTAMPNS missing on received datagrams"
done
[[ $(j .reconnect.hangup_seen) == true ]] || fail "killed earbud: host channel never dropped"
[[ $(j .reconnect.link_dropped) == true ]] || fail "killed earbud: LE link never dropped"
[[ $(j .reconnect.left_kept_working) == true ]] || fail "left stopped while the right was away"
[[ $(j .reconnect.reconnected) == true ]] || fail "restarted earbud not reconnected"
[[ $(j .tx_timestamping.software_flag) == true ]] ||
	fail "SO_TIMESTAMPING refused on an L2CAP socket"
# TX completion timestamps on L2CAP arrived in Linux 6.15.
IFS=.- read -r major minor _ <<<"$(j .kernel.release)"
if ((major > 6 || (major == 6 && minor >= 15))); then
	[[ $(j .tx_timestamping.completion_reported) == true ]] ||
		fail "kernel $(j .kernel.release) reported no TX completion timestamp"
	# What ttwsd's l2cap transport reads (README.md, "What the guest has").
	[[ $(j .tx_timestamping.one_snd_one_completion_per_send) == true ]] ||
		fail "not one SND and one COMPLETION stamp per send() with ee_data = its index: $(jq -c .tx_timestamping.sends <<<"$r")"
	jq -e '.tx_timestamping.msgs | length > 0 and all(.[];
		.ee_errno == 42 and .ee_origin == 4 and .len == 0 and
		any(.cmsgs[]; .[0] == 274 and .[1] == 4) and
		any(.cmsgs[]; .[0] == 1 and .[1] == 37))' >/dev/null <<<"$r" ||
		fail "error-queue messages are not SCM_TIMESTAMPING + SOL_BLUETOOTH/BT_SCM_ERROR (ENOMSG, SO_EE_ORIGIN_TIMESTAMPING): $(jq -c '.tx_timestamping.msgs[0]' <<<"$r")"
	(($(j .tx_timestamping.revents_queued) & 8)) ||
		fail "no POLLERR with stamps queued (revents $(j .tx_timestamping.revents_queued))"
	(($(j .tx_timestamping.revents_drained) == 0 && $(j .tx_timestamping.so_error_after) == 0)) ||
		fail "drained error queue: revents $(j .tx_timestamping.revents_drained), SO_ERROR $(j .tx_timestamping.so_error_after)"
	tx="available (SND->COMPLETION median $(j .tx_timestamping.snd_to_completion_us.median) us)"
else
	[[ $(j .tx_timestamping.completion_flag) == false ]] ||
		fail "kernel $(j .kernel.release) took SOF_TIMESTAMPING_TX_COMPLETION"
	tx="absent (kernel < 6.15)"
fi
[[ $(j .ok) == true && $rc == 0 ]] || fail "payload failed: $(jq -c .failures <<<"$r")"
echo "vm: ok: kernel $(j .kernel.release), L2CAP LE CoC MTU $(j .config.mtu_host_rx)/$(j .config.mtu_earbud_rx)," \
	"reconnect $(j .reconnect.reconnect_ms) ms, TX completion timestamps $tx"
