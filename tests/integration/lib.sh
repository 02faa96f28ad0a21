# Shared by the integration scripts and benchmarks: source it.

# wait_for SECONDS COMMAND...: run COMMAND every 20 ms until it succeeds
# (0) or SECONDS have passed (1). Its output is discarded.
wait_for() {
	local n=$(($1 * 50))
	shift
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}

# pair_conf DIR: the [control] and [link.*] sections of a ttwsd.conf for
# the simulated pair on unix sockets in DIR (DIR/left.sock, right.sock,
# the control socket DIR/control).
pair_conf() {
	cat <<CONF
[control]
socket = $1/control
[link.left]
transport = unix
path = $1/left.sock
[link.right]
transport = unix
path = $1/right.sock
CONF
}

# ear_state SOCKET EAR: that ear's State property ("streaming", ...),
# read with busctl from ttwsd's control socket; empty when unreachable.
ear_state() {
	busctl --address="unix:path=$1" get-property org.ttws.Daemon1 \
		"/org/ttws/Daemon/ear/$2" org.ttws.Ear1 State 2>/dev/null |
		sed -n 's/^s "\(.*\)"$/\1/p'
}
