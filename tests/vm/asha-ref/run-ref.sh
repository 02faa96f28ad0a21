#!/usr/bin/env bash
# The reference of issue 15's ASHA benchmark: BlueZ's own ASHA profile
# (bluetoothd, profiles/audio/asha.c) with PipeWire's bluez5 ASHA sink,
# Debian testing's versions, against the same Bumble aids as ttwsd
# (tests/asha/asha-peer.py), on btvirt, in a qemu VM (this machine's
# kernel has no Bluetooth). Prints the guest's JSON (guest.sh: the stage
# reached, the versions, and when audio flowed the send and arrival skew
# per 20 ms slot, skew.py) as its last line.
#
#   run-ref.sh [-k KERNEL] [-o OUT_DIR] [SECONDS]
#
# What it proves: that the reference runs here end to end (exit 0) or at
# which stage it stops and why (exit 1, the guest's logs on the console,
# OUT_DIR/console.log). KERNEL as tests/vm/build.sh's -k (default new:
# trixie-backports' kernel); OUT_DIR default /tmp/ttws-asha-ref; SECONDS
# of tone (default 20). Exit 77 when qemu cannot run (run.sh).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM=$(cd "$HERE/.." && pwd)
ASHA=$(cd "$HERE/../../asha" && pwd)

die() { printf 'vm/asha-ref: %s\n' "$*" >&2; exit 1; }
kernel=new
outdir=/tmp/ttws-asha-ref
while getopts k:o: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	o) outdir=$OPTARG ;;
	*) die "usage: run-ref.sh [-k KERNEL] [-o OUT_DIR] [SECONDS]" ;;
	esac
done
shift $((OPTIND - 1))
secs=${1:-20}
[[ $secs =~ ^[0-9]+$ ]] || die "SECONDS must be whole seconds: $secs"

img=$("$HERE/rootfs.sh") || die "rootfs.sh failed"
mkdir -p "$outdir"
payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
install -m 0755 "$HERE/run" "$HERE/guest.sh" "$payload/"
install -m 0644 "$HERE/skew.py" "$ASHA/asha-peer.py" "$payload/"
TTWS_VM_MODULES="virtio_pci virtio_blk ext4 ${TTWS_VM_MODULES:-}" \
	"$VM/build.sh" -k "$kernel" -o "$outdir/vm" "$payload" >&2 ||
	die "build.sh failed"
# The guest's deadline: boot of forky's userland, Bumble's start under TCG,
# the connects, the tone, the analysis.
rc=0
"$VM/run.sh" -t $((secs * 3 + 240)) -m 1536 -d "$img" \
	-a "ttws.asha_secs=$secs" -l "$outdir/console.log" "$outdir/vm" \
	>"$outdir/result.json" || rc=$?
cat "$outdir/result.json"
exit "$rc"
