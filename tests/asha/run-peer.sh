#!/usr/bin/env bash
# Run a Python script of tests/asha (by default asha-peer.py, the two
# Bumble hearing aids) inside the Bumble root filesystem (bumble-root.sh),
# with the python3 and Bumble of that tree.
#
#   run-peer.sh [--socket PATH] [--out DIR] [--script NAME.py] [--] [ARGS...]
#
# --socket PATH  an H4 server socket of BlueZ's emulator (default
#                $TTWS_BTVIRT_LE, set by tests/integration/btvirt/
#                with-btvirt.sh). The script gets it as $TTWS_ASHA_SOCKET
#                (a Bumble transport name, unix:PATH), its default.
# --out DIR      a folder for the script's records, /out in the tree
#                (default: the current folder).
# --script NAME  another script of tests/asha (smoke-central.py).
#
# The mounts are made in a mount namespace of this process alone (unshare
# -m, private propagation): nothing is mounted outside it and they go
# when the script ends, however it ends; several runs share the tree at
# once. This process becomes the script (exec all the way down), so a
# signal to its pid reaches Python at once: SIGTERM and SIGINT end the
# peer with its records and WAV files written; SIGUSR1 / SIGUSR2 make
# the left / right aid drop its link (asha-peer.py --help).
#
# Environment: TTWS_BUMBLE_ROOT, the tree bumble-root.sh printed (it is
# asked when this is not set).
#
# Exit status: the script's; 77 when the tree cannot be built (no network
# or no package: bumble-root.sh); 2 for a bad call.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { printf 'asha/run-peer: %s\n' "$*" >&2; exit 2; }

socket=${TTWS_BTVIRT_LE:-}
out=$PWD
script=asha-peer.py
while (($#)); do
	case $1 in
	--socket) socket=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--script) script=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
[[ $script =~ ^[a-z][a-z0-9-]*\.py$ && -f $HERE/$script ]] ||
	die "no script '$script' in $HERE"
[[ -n $socket ]] ||
	die "no --socket and no \$TTWS_BTVIRT_LE (run me through with-btvirt.sh)"
[[ -S $socket ]] || die "$socket is not a socket"
[[ -d $out ]] || die "$out is not a folder"
((EUID == 0)) || die "needs root (chroot and bind mounts)"
command -v unshare >/dev/null || die "unshare not found (util-linux)"

# TTWS_BUMBLE_ROOT: the tree bumble-root.sh printed, to save the caller
# of many runs its second per lookup.
root=${TTWS_BUMBLE_ROOT:-}
if [[ -z $root || ! -f $root/../.complete ]]; then
	rc=0
	root=$("$HERE/bumble-root.sh") || rc=$?
	((rc == 0)) || exit "$rc"
fi
[[ -d $root/bt && -d $root/out && -d $root/asha ]] ||
	die "$root lacks the mount points /bt /out /asha (an old tree?)"

# The socket as the tree sees it. with-btvirt.sh gives
# /proc/PID/root/tmp/NAME, the emulator's own /tmp in its mount namespace:
# a bind mount of that path here would take our own /tmp instead (seen),
# but the path itself resolves through the magic link from any root, so
# the tree gets a /proc and the same path. Any other socket's folder is
# bind-mounted as /bt.
sockdir=
if [[ $socket =~ ^/proc/[0-9]+/root/ ]]; then
	inner=$socket
else
	sockdir=$(dirname "$(realpath "$socket")")
	inner=/bt/$(basename "$socket")
fi
outdir=$(realpath "$out")

# In the new namespace: /proc, the bind mounts (tests/asha read-only),
# then chroot with a clean environment; TTWS_ASHA_SOCKET tells the script
# its socket.
# shellcheck disable=SC2016 # expanded by the inner sh
exec unshare -m --propagation private -- sh -c '
	set -e
	root=$1 here=$2 sockdir=$3 outdir=$4 inner=$5 script=$6
	shift 6
	mount -t proc proc "$root/proc"
	mount --bind "$here" "$root/asha"
	mount -o remount,bind,ro "$root/asha"
	[ -z "$sockdir" ] || mount --bind "$sockdir" "$root/bt"
	mount --bind "$outdir" "$root/out"
	exec chroot "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/out \
		LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
		TTWS_ASHA_SOCKET="unix:$inner" \
		python3 "/asha/$script" "$@"' \
	sh "$root" "$HERE" "$sockdir" "$outdir" "$inner" "$script" "$@"
