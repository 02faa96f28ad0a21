# Shared by the scripts that run ttwsd against the Bumble aids
# (ttwsd-asha.sh, ../bench/asha.sh): source it after setting BUILD and
# HERE (this folder), under with-btvirt.sh. It checks what is needed
# (exit 77 when the Bumble tree, root or hci-proxy is missing), makes
# $tmp (kept with KEEP=1), bridges one pty dongle per ear to btvirt
# ($tmp/dongle-left, -right: hci-proxy, as ../integration/hci-uart.sh),
# and gives start_peer, stop_peer (peer.sh), write_conf and evs; fail() prints the
# logs. Uses: pids (killed at exit), peer, left, right.
SERVER=${TTWS_BTVIRT_LE:?run me through btvirt/with-btvirt.sh}
TTWSD=$BUILD/src/daemon/ttwsd
PROXY=$BUILD/tests/integration/btvirt/hci-proxy
[[ -x $PROXY ]] || { echo "SKIP: no hci-proxy (OpenSSL 3)" >&2; exit 77; }
((EUID == 0)) || { echo "SKIP: the Bumble tree needs root" >&2; exit 77; }

rc=0
TTWS_BUMBLE_ROOT=$("$HERE/bumble-root.sh") || rc=$?
export TTWS_BUMBLE_ROOT
((rc != 77)) || { echo "SKIP: no Bumble tree here (see above)" >&2; exit 77; }
((rc == 0)) || { echo "FAIL: bumble-root.sh failed ($rc)" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ttws-asha.XXXXXX")
pids=()
peer=
cleanup() {
	local p
	for p in "${pids[@]}" $peer; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	[[ -n ${KEEP:-} ]] || rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$tmp"/*/peer.err "$tmp"/*/ttwsd.log; do
		[[ -s $f ]] && { echo "--- $f" >&2; tail -n 40 "$f" >&2; }
	done
	exit 1
}

for ear in left right; do
	"$PROXY" --connect "$SERVER" --pty "$tmp/dongle-$ear" \
		>/dev/null 2>"$tmp/proxy-$ear.err" &
	pids+=($!)
	for _ in $(seq 100); do
		[[ -e $tmp/dongle-$ear ]] && break
		sleep 0.02
	done
	[[ -e $tmp/dongle-$ear ]] || fail "no pty for the $ear dongle"
done

# shellcheck source=peer.sh
. "$HERE/peer.sh"

# $tmp/NAME/ttwsd.conf: the pair "aids" with profile = asha on the two
# dongles, to the peer's addresses, audio from SOURCE (tone: 440 Hz left,
# 660 Hz right), link security SECURITY (default none: each run then
# costs no pairing; medium pairs with the aids, LE Secure Connections
# through hci-proxy's P-256).
write_conf() {
	local name=$1 source=${2:-tone} security=${3:-none}
	cat >"$tmp/$name/ttwsd.conf" <<CONF
[rt]
priority = 0
lock_memory = no
dma_latency = no
[control]
socket = $tmp/$name/control
[reconnect]
backoff_min_ms = 200
backoff_max_ms = 400
[stream]
source = $source
tone_left_hz = 440
tone_right_hz = 660
[pair.aids]
profile = asha
left.transport = hci-uart
left.path = $tmp/dongle-left
left.address = $left
left.security = $security
right.transport = hci-uart
right.path = $tmp/dongle-right
right.address = $right
right.security = $security
CONF
}

# Every line of an aid's record of kind EV, as a JSON array.
evs() { jq -sc "[.[] | select(.ev == \"$2\")]" "$1"; }
