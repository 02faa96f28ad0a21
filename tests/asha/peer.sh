# The Bumble aids (asha-peer.py through run-peer.sh) for the scripts of
# this folder: source it; needs HERE (this folder), tmp, fail() and a
# variable peer (the running peer's pid, empty when none).

# Starts the peer with ARGS, records in $tmp/NAME; sets peer, left, right.
start_peer() {
	local name=$1
	shift
	mkdir -p "$tmp/$name"
	"$HERE/run-peer.sh" --out "$tmp/$name" -- "$@" \
		>"$tmp/$name/peer.out" 2>"$tmp/$name/peer.err" &
	peer=$!
	for _ in $(seq 300); do
		[[ -f $tmp/$name/ready.json ]] && break
		kill -0 "$peer" 2>/dev/null || fail "the peer ($name) ended before it was ready"
		sleep 0.05
	done
	[[ -f $tmp/$name/ready.json ]] || fail "the peer ($name) was not ready in 15 s"
	left=$(jq -r .left.address "$tmp/$name/ready.json")
	right=$(jq -r .right.address "$tmp/$name/ready.json")
	[[ $left =~ ^([0-9A-F]{2}:){5}[0-9A-F]{2}$ && $right =~ ^([0-9A-F]{2}:){5}[0-9A-F]{2}$ ]] ||
		fail "ready.json: addresses '$left' '$right'"
}

# Ends the peer (SIGTERM: it writes its WAV files) and waits for it.
stop_peer() {
	kill -TERM "$peer"
	local rc=0
	wait "$peer" || rc=$?
	peer=
	((rc == 0)) || fail "the peer exited with $rc"
}
