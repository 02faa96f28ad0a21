#!/usr/bin/env bash
# The control API on a system bus: a private dbus-daemon (the reference
# implementation, from Debian's dbus package) configured like a system bus
# with ttws's policy file, systemd/org.ttws.Daemon1.conf, included.
# ttwsd finds it through $DBUS_SYSTEM_BUS_ADDRESS, must own
# org.ttws.Daemon1 there, answer busctl and `ttwsctl --system`, and refuse
# changes to a user outside group ttws from the credentials the bus daemon
# reports. Without the policy file it must say why and keep its private
# socket. Needs root (the bus's policy and the test users); skipped
# otherwise.
#
#   sysbus.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TTWSD=$BUILD/src/daemon/ttwsd
TTWSCTL=$BUILD/src/ctl/ttwsctl
((EUID == 0)) || { echo "not root: skipped"; exit 77; }
command -v dbus-daemon >/dev/null || { echo "dbus-daemon missing: skipped"; exit 77; }
tmp=$(mktemp -d /tmp/ttws-sysbus.XXXXXX)
chmod 755 "$tmp"
bus_pid= ttwsd_pid=
made_users=()
cleanup() {
	local u
	[[ -n $ttwsd_pid ]] && kill "$ttwsd_pid" 2>/dev/null && wait "$ttwsd_pid" 2>/dev/null
	[[ -n $bus_pid ]] && kill "$bus_pid" 2>/dev/null
	for u in "${made_users[@]}"; do
		userdel "$u" 2>/dev/null || true
	done
	rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	[[ -s $tmp/ttwsd.log ]] && tail -n 20 "$tmp/ttwsd.log" >&2
	exit 1
}
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
getent group ttws >/dev/null || groupadd -r ttws
if ! id ttws-ctl-out >/dev/null 2>&1; then
	useradd -r -M -d / -s /usr/sbin/nologin ttws-ctl-out
	made_users+=(ttws-ctl-out)
fi
# A member of group ttws by a supplementary group only: the bus daemon's
# UnixGroupIDs must carry it (ttwsd cannot read the caller's /proc).
if ! id ttws-ctl-in >/dev/null 2>&1; then
	useradd -r -M -d / -s /usr/sbin/nologin -G ttws ttws-ctl-in
	made_users+=(ttws-ctl-in)
fi

# A system bus as Debian's system.conf sets one up, in short: nobody owns
# or calls anything unless a policy says so.
bus_conf() { # INCLUDE_POLICY(0|1)
	cat <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus"
           send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
CONF
	(($1)) && echo "  <include>$ROOT/systemd/org.ttws.Daemon1.conf</include>"
	echo "</busconfig>"
}
start_bus() {
	bus_conf "$1" >"$tmp/bus.conf"
	rm -f "$tmp/bus"
	dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile \
		2>"$tmp/bus.log" &
	bus_pid=$!
	wait_for 10 test -S "$tmp/bus" || fail "dbus-daemon did not start: $(cat "$tmp/bus.log")"
}
start_ttwsd() {
	cat >"$tmp/ttwsd.conf" <<CONF
[rt]
priority = 0
[control]
socket = $tmp/control
[link.left]
transport = unix
path = $tmp/nobody.sock
CONF
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus "$TTWSD" \
		--config "$tmp/ttwsd.conf" 2>"$tmp/ttwsd.log" &
	ttwsd_pid=$!
	wait_for 10 test -S "$tmp/control" || fail "ttwsd did not start"
}
stop_all() {
	kill "$ttwsd_pid"
	wait "$ttwsd_pid" || true
	ttwsd_pid=
	kill "$bus_pid"
	wait "$bus_pid" 2>/dev/null || true
	bus_pid=
}
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/bus

# Without the policy: refused by the bus, said so, private socket still up.
start_bus 0
start_ttwsd
wait_for 5 grep -q "cannot own org.ttws.Daemon1" "$tmp/ttwsd.log" ||
	fail "ttwsd did not report the missing policy"
busctl --address="unix:path=$tmp/control" get-property org.ttws.Daemon1 \
	/org/ttws/Daemon org.ttws.Daemon1 Version >/dev/null ||
	fail "the private socket is down without the system bus"
stop_all

# With the policy.
start_bus 1
start_ttwsd
owned() { busctl --address="unix:path=$tmp/bus" status org.ttws.Daemon1; }
wait_for 10 owned || fail "org.ttws.Daemon1 is not on the bus: $(tail -n 3 "$tmp/ttwsd.log")"
busctl --address="unix:path=$tmp/bus" introspect org.ttws.Daemon1 /org/ttws/Daemon \
	>"$tmp/intro.txt" || fail "introspection over the system bus"
grep -q '^\.GetStats ' "$tmp/intro.txt" || fail "no GetStats over the system bus"
v=$(busctl --address="unix:path=$tmp/bus" get-property org.ttws.Daemon1 \
	/org/ttws/Daemon/ear/left org.ttws.Ear1 Transport)
[[ $v == 's "unix"' ]] || fail "ear property over the system bus: $v"
"$TTWSCTL" --system --json status | jq -e '.daemon.Version' >/dev/null ||
	fail "ttwsctl --system status"
"$TTWSCTL" --system set servo.estimator naive || fail "root could not set over the system bus"
[[ $("$TTWSCTL" --system get servo.estimator) == *naive* ]] || fail "set over the system bus not applied"
runuser -u ttws-ctl-out -- env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
	"$TTWSCTL" --system status >/dev/null || fail "an outsider cannot read over the system bus"
if out=$(runuser -u ttws-ctl-out -- env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
	"$TTWSCTL" --system set servo.estimator ttws 2>&1); then
	fail "an outsider could set over the system bus"
fi
[[ $out == *"needs uid 0 or membership of group ttws"* ]] || fail "outsider refusal: $out"
runuser -u ttws-ctl-in -- env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
	"$TTWSCTL" --system set servo.estimator ttws ||
	fail "a member of group ttws (supplementary) could not set over the system bus"
[[ $("$TTWSCTL" --system get servo.estimator) == *ttws* ]] || fail "the member's set not applied"
stop_all
echo "sysbus: ok"
