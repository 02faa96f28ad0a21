#!/usr/bin/env bash
# Boot the test VM that build.sh made, wait for its payload's result and
# print it (one line of JSON on stdout).
#
#   run.sh [-t PAYLOAD_TIMEOUT_S] [-l CONSOLE_LOG] [-m MEM_MB] [-a KERNEL_ARGS]
#          [-d DISK_IMAGE]... VM_DIR
#
# -d attaches a raw disk image as a virtio disk (vda, vdb, ... in order)
# with qemu's snapshot=on: the guest may write to it, the file never
# changes (the gateway test's cached root filesystem). -a appends to the
# kernel command line, -m sets the guest's memory (512 MB).
#
# Exit status: 0 when the payload exited 0 and its JSON has "ok": true;
# 1 when it failed, timed out or reported nothing; 77 when qemu cannot run
# here at all (meson's "skipped"); 2 on bad usage.
# The guest console streams to CONSOLE_LOG (default VM_DIR/console.log);
# TTWS_VM_VERBOSE=1 also streams it to stderr. TTWS_VM_QEMU names the
# qemu binary, TTWS_VM_BOOT_S the boot allowance (90). TTWS_VM_ACCEL=tcg|kvm
# overrides the accelerator choice, TTWS_VM_CPU the TCG CPU model (max).
set -euo pipefail

die() { printf 'vm/run: %s\n' "$1" >&2; exit "${2:-1}"; }
skip() {
	printf '\nvm/run: SKIPPED: %s\n\n' "$*" >&2
	exit 77
}

usage="usage: run.sh [-t PAYLOAD_TIMEOUT_S] [-l CONSOLE_LOG] [-m MEM_MB] [-a KERNEL_ARGS] [-d DISK_IMAGE]... VM_DIR"
deadline=60
log=
mem=512
kargs=
disks=()
while getopts t:l:m:a:d: opt; do
	case $opt in
	t) deadline=$OPTARG ;;
	l) log=$OPTARG ;;
	m) mem=$OPTARG ;;
	a) kargs=$OPTARG ;;
	d) disks+=(-drive "file=$OPTARG,if=virtio,format=raw,snapshot=on") ;;
	*) die "$usage" 2 ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || die "$usage" 2
vm=$1
[[ $deadline =~ ^[0-9]+$ ]] || die "timeout must be whole seconds: $deadline" 2
[[ $mem =~ ^[0-9]+$ ]] || die "memory must be whole MB: $mem" 2
for f in vmlinuz initrd.cpio.gz; do
	[[ -f $vm/$f ]] || die "$vm/$f missing: run tests/vm/build.sh first" 2
done
log=${log:-$vm/console.log}

qemu=$(command -v "${TTWS_VM_QEMU:-qemu-system-x86_64}") ||
	skip "${TTWS_VM_QEMU:-qemu-system-x86_64} not found (./dev setup installs qemu-system-x86)"
accels=$("$qemu" -accel help 2>/dev/null) ||
	skip "$qemu does not start: $("$qemu" -accel help 2>&1 | head -n 3)"

# /dev/kvm on these machines can be a paravirtual flavour that hangs an
# ordinary guest: use KVM only when the host's own KVM module is loaded.
accel=${TTWS_VM_ACCEL:-}
if [[ -z $accel ]]; then
	accel=tcg
	if [[ -w /dev/kvm ]] && [[ -d /sys/module/kvm_intel || -d /sys/module/kvm_amd ]]; then
		accel=kvm
	fi
fi
case $accel in
tcg)
	grep -qx tcg <<<"$accels" || skip "this qemu has no TCG accelerator"
	accel_args=(-accel "tcg,thread=multi" -cpu "${TTWS_VM_CPU:-max}")
	;;
kvm) accel_args=(-accel kvm -cpu host) ;;
*) die "TTWS_VM_ACCEL is tcg or kvm, not $accel" 2 ;;
esac

tmp=$(mktemp -d)
tail_pid=
cleanup() {
	[[ -n $tail_pid ]] && kill "$tail_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The guest bounds the payload; the host bounds everything, boot included.
host_deadline=$((deadline + ${TTWS_VM_BOOT_S:-90}))
: >"$log"
if [[ ${TTWS_VM_VERBOSE:-0} == 1 ]]; then
	tail -n +1 -f "$log" >&2 &
	tail_pid=$!
fi
start=$(date +%s.%N)
rc=0
timeout -k 5 "$host_deadline" "$qemu" "${accel_args[@]}" \
	-smp 2 -m "$mem" -nodefaults -no-user-config -display none -no-reboot \
	-serial "file:$log" -serial "file:$tmp/result" \
	-kernel "$vm/vmlinuz" -initrd "$vm/initrd.cpio.gz" "${disks[@]}" \
	-append "console=ttyS0 quiet panic=-1 ttws.timeout=$deadline${kargs:+ $kargs}" \
	</dev/null >"$tmp/qemu.out" 2>&1 || rc=$?
elapsed=$(echo "$start $(date +%s.%N)" | awk '{ printf "%.1f", $2 - $1 }')

show_log() {
	echo "---- last 40 lines of $log ----" >&2
	tail -n 40 "$log" >&2
	echo "----" >&2
}
if ((rc == 124 || rc == 137)); then
	show_log
	die "VM did not finish within ${host_deadline}s (payload deadline ${deadline}s); console: $log"
fi
if ((rc != 0)); then
	cat "$tmp/qemu.out" >&2
	show_log
	die "qemu exited $rc after ${elapsed}s; console: $log"
fi

# A kernel BUG or Oops voids the run even when the payload got through.
if grep -qE '(BUG|Oops):' "$log"; then
	grep -E -A 12 '(BUG|Oops):' "$log" | head -n 40 >&2
	die "the guest kernel reported a BUG/Oops; console: $log"
fi
# The result port first (nothing else writes there); the console as a
# fallback, should the result port have lost bytes at power-off.
marker() { tr -d '\r' <"$2" | sed -n "s/^TTWS-$1 //p" | tail -n 1; }
result=$(marker RESULT "$tmp/result")
status=$(marker EXIT "$tmp/result")
if ! jq -e . >/dev/null 2>&1 <<<"$result" || [[ -z $status ]]; then
	if jq -e . >/dev/null 2>&1 <<<"$(marker RESULT "$log")"; then
		echo "vm/run: result port incomplete ($(wc -c <"$tmp/result") bytes); using the console's copy" >&2
		result=$(marker RESULT "$log")
		status=$(marker EXIT "$log")
	fi
fi
if [[ -z $result ]]; then
	show_log
	grep -E 'Kernel panic|BUG:|Oops' "$log" >&2 || true
	die "the guest reported no result in ${elapsed}s; console: $log"
fi
printf '%s\n' "$result"
echo "vm/run: guest done in ${elapsed}s ($accel), payload exit ${status:-?}; console: $log" >&2
if ! jq -e . >/dev/null 2>&1 <<<"$result"; then
	show_log
	die "the payload's result is not JSON"
fi
if [[ $status != 0 ]]; then
	show_log
	if [[ $status == 137 ]]; then
		die "the payload was killed at its ${deadline}s deadline; console: $log"
	fi
	die "the payload exited ${status:-without status}: $(jq -c '[.error, .failures] | map(select(. != null))' <<<"$result"); console: $log"
fi
if [[ $(jq -r '.ok' <<<"$result") != true ]]; then
	show_log
	die "the payload reported failure: $(jq -c '[.error, .failures] | map(select(. != null))' <<<"$result"); console: $log"
fi
