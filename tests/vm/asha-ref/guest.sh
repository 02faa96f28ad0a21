#!/bin/bash
# Inside the ASHA reference VM (forky's root, chroot from the initramfs's
# payload `run`): BlueZ's own ASHA central (bluetoothd, profiles/audio/
# asha.c) with PipeWire's bluez5 ASHA sink plays a tone to Google's Bumble
# as two ASHA hearing aids (tests/asha/asha-peer.py), all on one btvirt:
# hci0 is bluetoothd's controller (the kernel's, through /dev/vhci), the
# aids are controllers on btvirt's H4 server socket. btmon records hci0.
#
# What it proves: how far the reference gets, stage by stage (btvirt,
# dbus, bluetoothd, PipeWire + WirePlumber, the aids, BlueZ connecting to
# both, the ASHA sink node, audio reaching both aids); when audio flows,
# skew.py turns the btmon trace and the aids' records into the send and
# arrival skew per 20 ms slot. /out/result.json: {"ok", "stage" (the last
# stage reached), "error", "versions", and skew.py's numbers}.
# Kernel command line: ttws.asha_secs=N (tone length, default 20).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root
out=/out
mkdir -p "$out"
secs=20
read -r -a cmdline </proc/cmdline
for a in "${cmdline[@]}"; do
	case $a in ttws.asha_secs=*) secs=${a#*=} ;; esac
done
stage=start
pids=()

say() { echo "asha-ref: $*" >/dev/console; }
versions() {
	dpkg-query -W -f '"${Package}":"${Version}",' bluez bluez-test-tools \
		pipewire libspa-0.2-bluetooth wireplumber python3-bumble | sed 's/,$//'
}
dump_logs() {
	for f in /tmp/btvirt.log /tmp/bluetoothd.log /tmp/pipewire.log \
		/tmp/wireplumber.log /tmp/peer.log /tmp/connect.log \
		/tmp/play.log /tmp/wpctl.txt; do
		[[ -s $f ]] || continue
		say "---- $f (last 80 lines) ----"
		tail -n 80 "$f" >/dev/console
	done
}
fail() {
	say "FAILED at stage $stage: $*"
	dump_logs
	jq -nc --arg stage "$stage" --arg e "$*" --argjson v "{$(versions)}" \
		'{ok: false, stage: $stage, error: $e, versions: $v}' >"$out/result.json"
	exit 1
}
# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 0.2 s.
wait_for() {
	local t=$1 what=$2 n=0
	shift 2
	until "$@" >/dev/null 2>&1; do
		n=$((n + 1))
		((n <= t * 5)) || fail "$what: not within ${t} s"
		sleep 0.2
	done
}

stage=btvirt
# One LE controller for the kernel (hci0, bluetoothd's), and the server
# sockets in /tmp: each connection to /tmp/bt-server-le is one more LE
# controller of the same emulator (the aids').
btvirt -l1 -L -s >/tmp/btvirt.log 2>&1 &
pids+=($!)
wait_for 20 "hci0 and /tmp/bt-server-le" \
	test -e /sys/class/bluetooth/hci0 -a -S /tmp/bt-server-le
btmon -w "$out/trace.btsnoop" >/tmp/btmon.log 2>&1 &
btmon_pid=$!

stage=dbus
mkdir -p /run/dbus
dbus-daemon --system --fork || fail "dbus-daemon --system"

stage=bluetoothd
# -E: BlueZ's experimental interfaces (the ASHA profile's transport is
# there whether or not; -E keeps the test independent of which).
/usr/libexec/bluetooth/bluetoothd -n -d -E >/tmp/bluetoothd.log 2>&1 &
pids+=($!)
wait_for 20 "bluetoothd's adapter on the bus" \
	bash -c 'bluetoothctl list | grep -q Controller'
bluetoothctl power on >/dev/null 2>&1 || true
wait_for 20 "hci0 powered" bash -c 'bluetoothctl show | grep -q "Powered: yes"'

stage=pipewire
export XDG_RUNTIME_DIR=/run/user/0
mkdir -p /run/user
mkdir -m 0700 "$XDG_RUNTIME_DIR"
DBUS_SESSION_BUS_ADDRESS=$(dbus-daemon --session --fork --print-address) ||
	fail "dbus-daemon --session"
export DBUS_SESSION_BUS_ADDRESS
mkdir -p "$HOME/.config/wireplumber/wireplumber.conf.d"
# No logind, no portal, no ALSA here: WirePlumber's features for a user
# session are off, the BlueZ monitor is on without seat monitoring.
cat >"$HOME/.config/wireplumber/wireplumber.conf.d/50-asha-ref.conf" <<'CONF'
wireplumber.profiles = {
  main = {
    support.reserve-device = disabled
    monitor.alsa.reserve-device = disabled
    support.portal-permissionstore = disabled
    script.client.access-portal = disabled
    support.logind = disabled
    monitor.bluez.seat-monitoring = disabled
    monitor.alsa = disabled
    monitor.alsa-midi = disabled
    monitor.v4l2 = disabled
    monitor.libcamera = disabled
  }
}
CONF
PIPEWIRE_DEBUG=${TTWS_ASHA_PW_DEBUG:-2} pipewire >/tmp/pipewire.log 2>&1 &
pids+=($!)
wait_for 20 "pipewire's socket" test -S "$XDG_RUNTIME_DIR/pipewire-0"
WIREPLUMBER_DEBUG=${TTWS_ASHA_WP_DEBUG:-3} wireplumber >/tmp/wireplumber.log 2>&1 &
pids+=($!)
wait_for 30 "wireplumber's session" bash -c 'wpctl status | grep -q Audio'

stage=aids
python3 /asha/asha-peer.py --hci unix:/tmp/bt-server-le --out "$out" \
	--take-handles right:1 --no-wav >/tmp/peer.log 2>&1 &
peer_pid=$!
wait_for 90 "the aids' ready.json" test -s "$out/ready.json"
left=$(jq -r .left.address "$out/ready.json")
right=$(jq -r .right.address "$out/ready.json")
say "aids ready: left $left right $right"

stage=connect
# Discovery from a bluetoothctl of its own for the whole connect stage;
# left first, then right (btvirt's handle numbering, tests/asha/README.md).
bluetoothctl --timeout 60 scan le >/tmp/scan.log 2>&1 &
scan_pid=$!
for a in "$left" "$right"; do
	wait_for 30 "$a discovered" bash -c "bluetoothctl devices | grep -qi '$a'"
done
for a in "$left" "$right"; do
	ok=0
	for try in 1 2 3; do
		bluetoothctl --timeout 20 connect "$a" >>/tmp/connect.log 2>&1 || true
		if bluetoothctl info "$a" | grep -q 'Connected: yes'; then
			ok=1
			break
		fi
		say "connect $a: try $try failed"
	done
	((ok)) || fail "bluetoothctl connect $a"
	bluetoothctl info "$a" >>/tmp/connect.log 2>&1 || true
done
kill "$scan_pid" 2>/dev/null || true

stage=sink
# PipeWire's bluez5 ASHA sink: a node whose api.bluez5.profile is
# asha-sink (one per aid, or a combined one for the set).
sinks() {
	pw-dump 2>/dev/null | jq -r '.[] | select(.type == "PipeWire:Interface:Node")
		| .info.props | select((."media.class" // "") == "Audio/Sink")
		| "\(."node.name") \(."api.bluez5.profile" // "-")"'
}
n=0
until sinks | grep -q 'asha\|bluez'; do
	n=$((n + 1))
	if ((n > 150)); then
		wpctl status >/tmp/wpctl.txt 2>&1 || true
		pw-dump >"$out/pw-dump.json" 2>&1 || true
		fail "no bluez Audio/Sink node within 30 s of both aids connecting"
	fi
	sleep 0.2
done
sleep 3
sinks >/tmp/sinks.txt
wpctl status >/tmp/wpctl.txt 2>&1 || true
say "sinks: $(tr '\n' ';' </tmp/sinks.txt)"
# The set's combined sink when there is one, else the first bluez one.
target=$(awk '/bluez/ && /set|combined/ { print $1; exit }' /tmp/sinks.txt)
[[ -n $target ]] || target=$(awk '/bluez/ { print $1; exit }' /tmp/sinks.txt)

stage=play
python3 - "$secs" /tmp/tone.wav <<'PY'
import math, struct, sys, wave
secs, path = float(sys.argv[1]), sys.argv[2]
rate = 48000
with wave.open(path, 'wb') as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(rate)
    frames = bytearray()
    for i in range(int(secs * rate)):
        l = int(8000 * math.sin(2 * math.pi * 440 * i / rate))
        r = int(8000 * math.sin(2 * math.pi * 660 * i / rate))
        frames += struct.pack('<hh', l, r)
    w.writeframes(bytes(frames))
PY
say "playing ${secs} s into $target"
pw-play --target "$target" /tmp/tone.wav >/tmp/play.log 2>&1 ||
	fail "pw-play into $target exited $?"
sleep 1

stage=records
kill -TERM "$peer_pid" 2>/dev/null || true
wait "$peer_pid" || true
kill -INT "$btmon_pid" 2>/dev/null || true
wait "$btmon_pid" || true
for e in left right; do
	c=$(grep -c '"ev":"sdu"' "$out/$e.jsonl" || true)
	say "$e: $c SDUs"
done
if ! grep -q '"ev":"sdu"' "$out/left.jsonl" ||
	! grep -q '"ev":"sdu"' "$out/right.jsonl"; then
	fail "audio did not reach both aids (left $(grep -c '"ev":"sdu"' "$out/left.jsonl" || true), right $(grep -c '"ev":"sdu"' "$out/right.jsonl" || true) SDUs)"
fi

stage=skew
python3 /asha/skew.py "$out" >"$out/skew.json" 2>/tmp/skew.log ||
	fail "skew.py: $(tail -n 3 /tmp/skew.log | tr '\n' ' ')"
say "skew: $(cat "$out/skew.json")"
grep -E 'ASHA|asha' /tmp/bluetoothd.log | tail -n 30 >/dev/console || true
# PipeWire's own account of slots it could not send (out of LE credits:
# send() EAGAIN), and its other warnings, for the console.
flush_fail=$(grep -c 'ASHA failed to flush' /tmp/pipewire.log || true)
say "pipewire: $flush_fail 'ASHA failed to flush' warnings; last warnings:"
grep -E '^\[W\]|^\[E\]' /tmp/pipewire.log | tail -n 10 >/dev/console || true
jq -c --arg target "$target" --argjson v "{$(versions)}" --argjson secs "$secs" \
	--argjson ff "${flush_fail:-0}" \
	'{ok: true, stage: "done", seconds: $secs, sink: $target, versions: $v,
	  pw_flush_failures: $ff} + .' \
	"$out/skew.json" >"$out/result.json"
