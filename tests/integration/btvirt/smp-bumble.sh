#!/usr/bin/env bash
# ttws's LE Secure Connections against a third party: core/hcihost as
# the central (smp-central, the same code as ttwsd's hci-uart host) and
# Google's Bumble as the peripheral (smp-bumble-peer.py: bumble/smp.py
# with its own AES-CMAC, f4/f5/f6 and P-256, none of ttws's code), each on
# its own emulated controller of one btvirt (with-btvirt.sh), through
# hci-proxy (ttws's side needs the controller's P-256 commands, which
# btvirt lacks; Bumble computes its own).
#
# Asserted: the first connection pairs (one Pairing Request; Bumble
# checks our DHKey check value Ea, we check its confirm value and Eb),
# both ends derive the same LTK (btvirt's LTK reply compares the central's
# key with the peripheral's: a different one fails encryption; and the
# keys each side reports are compared here), the link is encrypted before
# the channel opens and SDUs echo over it; the second connection encrypts
# with the bond (LE Enable Encryption with the stored LTK, no pairing) and
# echoes too. The peer's address is a static random one (type 1 in f5's
# and f6's A/B). Then a Bumble that offers only LE legacy pairing: ttws
# refuses it (Pairing Failed, Authentication Requirements), no channel
# opens, the link is dropped.
#
# Bumble comes from Debian's python3-bumble in a chroot tree: the first
# of $TTWS_BUMBLE_ROOT, tests/asha/bumble-root.sh when present (issue
# 15's builder), or a tree it cached (~/.cache/ttws-vm/bumble-*/root).
# 77 (skip) when there is none, no hci-proxy (no OpenSSL), or not root
# (the tree is entered with chroot).
#
#   smp-bumble.sh BUILD_DIR   (run by with-btvirt.sh)
set -euo pipefail
BUILD=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
SERVER=${TTWS_BTVIRT_LE:?run me through btvirt/with-btvirt.sh}
PROXY=$BUILD/tests/integration/btvirt/hci-proxy
CENTRAL=$BUILD/tests/integration/btvirt/smp-central
skip() { echo "SKIP: smp-bumble: $*" >&2; exit 77; }
[[ -x $PROXY && -x $CENTRAL ]] || skip "no hci-proxy (built with OpenSSL >= 3.0)"

root=${TTWS_BUMBLE_ROOT:-}
if [[ -z $root && -x $ROOT/tests/asha/bumble-root.sh ]]; then
	root=$("$ROOT/tests/asha/bumble-root.sh" 2>/dev/null) || root=
fi
if [[ -z $root ]]; then
	for d in "${TTWS_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ttws-vm}"/bumble-*/root; do
		[[ -d $d/usr/lib/python3/dist-packages/bumble && -d $d/bt ]] && root=$d
	done
fi
[[ -n $root && -d $root/bt ]] || skip "no Bumble tree (tests/asha/bumble-root.sh builds one)"
command -v unshare >/dev/null || skip "no unshare"
# The peer runs chrooted in a mount namespace of its own.
[[ $(id -u) == 0 ]] || skip "the Bumble tree is entered with chroot (root only)"

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
	echo "FAIL: smp-bumble: $*" >&2
	for f in central.out central.err peer.out peer.err legacy-central.out \
		legacy.out legacy.err proxy.err; do
		[[ -f $tmp/$f ]] && { echo "--- $f" >&2; tail -n 30 "$tmp/$f" >&2; }
	done
	exit 1
}

"$PROXY" --connect "$SERVER" --listen "$tmp/ctl.sock" \
	>/dev/null 2>"$tmp/proxy.err" &
pids+=($!)
for _ in $(seq 100); do
	[[ -S $tmp/ctl.sock ]] && break
	sleep 0.02
done
cp "$HERE/smp-bumble-peer.py" "$tmp/"
# A peer in its tree, with our folder at /bt (a mount of its own).
peer() { # NAME [legacy]
	unshare -m --propagation private sh -c '
		mount --bind "$1" "$2/bt" || exit 96
		exec chroot "$2" /usr/bin/python3 /bt/smp-bumble-peer.py \
			/bt/ctl.sock "/bt/$3.json" 0x80 $4' sh "$tmp" "$root" \
		"$1" "${2:-}" >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pids+=($!)
	for _ in $(seq 300); do
		grep -q '"ready"' "$tmp/$1.out" 2>/dev/null && break
		sleep 0.05
	done
	grep -q '"ready"' "$tmp/$1.out" || fail "Bumble ($1) did not come up"
	jq -r 'select(.event == "ready") | .address' "$tmp/$1.out"
}
addr=$(peer peer)

"$CENTRAL" "$tmp/ctl.sock" "$addr" random 0x80 2 >"$tmp/central.out" \
	2>"$tmp/central.err" || fail "smp-central failed"
sleep 0.3
cat "$tmp/central.out"
sum=$(tail -n 1 "$tmp/central.out")
c() { jq -r "$1" <<<"$sum"; }
p() { jq -r "select(.event == \"$1\") | $2" "$tmp/peer.out"; }

(($(c .rounds) == 2)) || fail "$(c .rounds) of 2 rounds echoed over an encrypted link"
(($(c .pairings) == 1 && $(c .paired) == 1)) ||
	fail "$(c .pairings) pairings started, $(c .paired) done: not one"
(($(c .bonded_encryptions) == 1)) ||
	fail "the second connection was not encrypted with the bond"
(($(c .failures) == 0)) || fail "a security procedure failed"
(($(p paired .ltk | wc -l) == 1)) ||
	fail "Bumble paired $(p paired .ltk | wc -l) times, not once"
peer_ltk=$(p paired .ltk)
our_ltk=$(c .ltk)
rev() { sed 's/../& /g' <<<"$1" | tr ' ' '\n' | tac | tr -d '\n'; }
if [[ $peer_ltk == "$our_ltk" ]]; then
	order="the same octet order"
elif [[ $peer_ltk == "$(rev "$our_ltk")" ]]; then
	order="Bumble prints it most significant octet first"
else
	fail "LTKs differ: ours $our_ltk, Bumble's $peer_ltk"
fi
(($(p encryption .encrypted | grep -c true) >= 2)) ||
	fail "Bumble saw $(p encryption .encrypted | grep -c true) encrypted links, not 2"
[[ $(p paired .authenticated) == false ]] || fail "an authenticated key from Just Works?"
grep -q "${peer_ltk}" "$tmp/peer.json" || fail "Bumble's key store has no LTK"

# Legacy pairing only: refused.
addr=$(peer legacy legacy)
rc=0
"$CENTRAL" "$tmp/ctl.sock" "$addr" random 0x80 1 >"$tmp/legacy-central.out" \
	2>"$tmp/legacy-central.err" || rc=$?
sleep 0.3
cat "$tmp/legacy-central.out"
sum=$(tail -n 1 "$tmp/legacy-central.out")
((rc == 1 && $(c .rounds) == 0)) || fail "a channel opened with a legacy-only peer"
(($(c .failures) >= 1)) || fail "no security failure reported for the legacy peer"
grep -q '"security":"failed","err":-95,"smp_reason":3' "$tmp/legacy-central.out" ||
	fail "the legacy peer was not refused for its authentication requirements"
grep -q '"pairing_failure", "reason": 3' "$tmp/legacy.out" ||
	fail "Bumble did not hear the refusal (Pairing Failed, 0x03)"
(($(jq -r 'select(.event == "paired") | 1' "$tmp/legacy.out" | wc -l) == 0)) ||
	fail "Bumble paired with legacy pairing"
echo "smp-bumble: ok: one pairing with Bumble, the same LTK on both ends ($order), the reconnection encrypted with the bond; legacy pairing refused"
