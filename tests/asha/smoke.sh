#!/usr/bin/env bash
# The Bumble hearing-aid peer works, without ttwsd (issue 15, item 5).
#
# On BlueZ's controller emulator (btvirt -s, through
# tests/integration/btvirt/with-btvirt.sh and its AF_ALG shim): the two
# aids of asha-peer.py, each on its own emulated controller, and a Bumble
# central (smoke-central.py) on a third one, all in the Bumble root
# filesystem (bumble-root.sh) through run-peer.sh.
#   1. The central connects to both aids, reads and checks
#      ReadOnlyProperties (17 octets: version, side bits, binaural, G.722,
#      the same HiSyncId) and LE_PSM_OUT, subscribes to AudioStatus,
#      writes Start and waits for status 0, opens the LE credit-based
#      channel (MTU/MPS 167), sends Status to the left, 25 SDUs of seq +
#      160 octets of G.722 (a tone per ear, spandsp's encoder) to each
#      ear with the same sequence number per slot, Volume and Stop.
#      Asserted from the aids' own records: every SDU with its sequence
#      number, length and payload, the Start/Status/Stop and Volume
#      writes with their fields, the subscription, the channel; and
#      Bumble's G.722 decoding of each ear correlates >= 0.9 with its
#      tone and not with the other ear's.
#   2. Aids told to leave the first Start unanswered (left) or to refuse
#      it with AudioStatus -2 (right): the central sees exactly that, and
#      status 0 on the second Start.
#   3. The right aid ends its link (SIGUSR2) while both stream; the left
#      streams on and gets Status "other disconnected"; the right is
#      silent for its 0.5 s, advertises, is connected, started and
#      streamed to again, and the left gets "other connected".
#
#   smoke.sh [AFALG_SHIM_SO]
# Under with-btvirt.sh (meson: with-btvirt.sh --shim SO bash smoke.sh) it
# uses $TTWS_BTVIRT_LE; run alone, it wraps itself in with-btvirt.sh with
# the shim given (or $TTWS_BTVIRT_SHIM).
#
# Exit 77 (skip) only when the Bumble tree cannot be built (no network, no
# package, not root) or btvirt is missing; any other problem fails.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

if [[ -z ${TTWS_BTVIRT_LE:-} ]]; then
	shim=${1:-${TTWS_BTVIRT_SHIM:-}}
	[[ -n $shim ]] || {
		echo "usage: smoke.sh AFALG_SHIM_SO (or run under with-btvirt.sh)" >&2
		exit 2
	}
	exec "$ROOT/tests/integration/btvirt/with-btvirt.sh" --shim "$shim" \
		-- bash "$HERE/smoke.sh"
fi

if ((EUID != 0)); then
	echo "SKIP: the Bumble tree needs root (mmdebstrap, chroot, mount namespaces)" >&2
	exit 77
fi
t0=$(date +%s%N)
# The tree first, outside any timing: a cold build takes a minute or two.
rc=0
TTWS_BUMBLE_ROOT=$("$HERE/bumble-root.sh") || rc=$?
export TTWS_BUMBLE_ROOT
if ((rc == 77)); then
	echo "SKIP: the Bumble root filesystem cannot be built here (see above)" >&2
	exit 77
fi
((rc == 0)) || { echo "FAIL: bumble-root.sh failed ($rc)" >&2; exit 1; }
t1=$(date +%s%N)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttws-asha-smoke.XXXXXX")
peer=
cleanup() {
	if [[ -n $peer ]] && kill -0 "$peer" 2>/dev/null; then
		kill "$peer" 2>/dev/null || true
		wait "$peer" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$tmp"/*/peer.err "$tmp"/*/central.err; do
		[[ -s $f ]] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}

# shellcheck source=peer.sh
. "$HERE/peer.sh"

central() {
	local name=$1
	shift
	timeout -k 5 60 "$HERE/run-peer.sh" --out "$tmp/$name" \
		--script smoke-central.py -- "$@" 2>>"$tmp/$name/central.err"
}

# --- 1: the full exchange -------------------------------------------------
# The right aid is the central's second link on one controller: it takes
# one handle first (asha-peer.py, Aid.take_handles: btvirt's numbering).
start_peer run --take-handles right:1
central run run --left "$left" --right "$right" --frames 25 ||
	fail "the central failed"
stop_peer
d=$tmp/run

# The aids' records, read here as well as by the central's verify.
for ear in left right; do
	j=$d/$ear.jsonl
	[[ -s $j ]] || fail "no record $j"
	n=$(jq -s '[.[] | select(.ev == "sdu")] | length' "$j")
	((n == 25)) || fail "$ear: $n SDUs recorded, not 25"
	jq -se '[.[] | select(.ev == "sdu")] | all(.len == 161 and (.payload | length) == 320)' "$j" >/dev/null ||
		fail "$ear: an SDU that is not seq + 160 octets"
	[[ $(jq -sc '[.[] | select(.ev == "sdu") | .seq]' "$j") == "$(seq -s, 0 24 | sed 's/^/[/; s/$/]/')" ]] ||
		fail "$ear: sequence numbers $(jq -sc '[.[] | select(.ev == "sdu") | .seq]' "$j")"
	cap=$(jq -s -r '.[] | select(.ev == "ready") | .capability' "$j")
	want=$([[ $ear == left ]] && echo 2 || echo 3)
	[[ $cap == "$want" ]] || fail "$ear: capability $cap, not $want"
	jq -se '[.[] | select(.ev == "acp" and .op == "start" and .codec == 1 and .answer == "ok")] | length == 1' "$j" >/dev/null ||
		fail "$ear: no G.722 Start answered OK in the record"
	jq -se '[.[] | select(.ev == "volume" and .volume == -20)] | length == 1' "$j" >/dev/null ||
		fail "$ear: the Volume write is not in the record"
done
# The same sequence number in a slot: SDU k of each ear carries seq k.
[[ $(jq -sc '[.[] | select(.ev == "sdu") | .seq]' "$d/left.jsonl") == \
	"$(jq -sc '[.[] | select(.ev == "sdu") | .seq]' "$d/right.jsonl")" ]] ||
	fail "the ears' sequence numbers differ"
[[ $(jq -s -r '.[] | select(.ev == "ready") | .hisyncid' "$d/left.jsonl") == \
	"$(jq -s -r '.[] | select(.ev == "ready") | .hisyncid' "$d/right.jsonl")" ]] ||
	fail "the aids' HiSyncIds differ"
central run verify || fail "the records do not show what the central sent"
t2=$(date +%s%N)

# --- 2: Start unanswered / refused, then answered ---------------------------
start_peer starts --take-handles right:1 --no-wav --start-answer-times 1 \
	--start-answer left:none --start-answer right:illegal-parameters
central starts starts --left "$left" --right "$right" ||
	fail "the central did not see the Start answers asked for"
stop_peer
d=$tmp/starts
[[ $(jq -sc '[.[] | select(.ev == "acp" and .op == "start") | .answer]' "$d/left.jsonl") == '["none","ok"]' ]] ||
	fail "left: Start answers recorded $(jq -sc '[.[] | select(.ev == "acp") | .answer]' "$d/left.jsonl")"
[[ $(jq -sc '[.[] | select(.ev == "acp" and .op == "start") | .answer]' "$d/right.jsonl") == '[-2,"ok"]' ]] ||
	fail "right: Start answers recorded $(jq -sc '[.[] | select(.ev == "acp") | .answer]' "$d/right.jsonl")"
t3=$(date +%s%N)

# --- 3: the right aid taken out and put back ---------------------------------
start_peer drop --take-handles right:1 --no-wav --drop-for 0.5
central drop drop --left "$left" --right "$right" --peer-pid "$peer" ||
	fail "the central could not drop and re-add the right aid"
stop_peer
d=$tmp/drop
seqs() { jq -sc '[.[] | select(.ev == "sdu") | .seq]' "$1"; }
[[ $(seqs "$d/left.jsonl") == "$(seq -s, 0 14 | sed 's/^/[/; s/$/]/')" ]] ||
	fail "left: sequence numbers $(seqs "$d/left.jsonl") while the right was away"
[[ $(seqs "$d/right.jsonl") == "[0,1,2,3,4,10,11,12,13,14]" ]] ||
	fail "right: sequence numbers $(seqs "$d/right.jsonl")"
[[ $(jq -sc '[.[] | select(.ev == "acp") | .status // .op]' "$d/left.jsonl") == '["start",1,2,"stop"]' ]] ||
	fail "left: AudioControlPoint $(jq -sc '[.[] | select(.ev == "acp")]' "$d/left.jsonl")"
# The right aid's story: link, Start, channel, drop, silence, link again.
# (Bumble reports a channel's close and its link's end in either order.)
story=$(jq -sc '[.[] | select(.ev != "sdu" and .ev != "subscribed" and .ev != "att_mtu" and .ev != "coc_close" and (.role // "peripheral") == "peripheral") | .ev]' "$d/right.jsonl")
[[ $story == '["ready","connected","acp","coc_open","drop","disconnected","connected","acp","coc_open","acp","disconnected"]' ]] ||
	fail "right: events $story"
(($(jq -s '[.[] | select(.ev == "coc_close")] | length' "$d/right.jsonl") == 2)) ||
	fail "right: not two channel closes"
silent=$(jq -s '(map(select(.ev == "connected" and .role == "peripheral")) | .[1].t_ns) - (map(select(.ev == "drop")) | .[0].t_ns)' "$d/right.jsonl")
((silent >= 500000000)) || fail "right: back after $silent ns, before its 0.5 s of silence"
t4=$(date +%s%N)

ms() { echo $((($2 - $1) / 1000000)); }
echo "asha smoke: tree $(ms "$t0" "$t1") ms, exchange $(ms "$t1" "$t2") ms, Start answers $(ms "$t2" "$t3") ms, drop and re-add $(ms "$t3" "$t4") ms, total $(ms "$t0" "$t4") ms"
