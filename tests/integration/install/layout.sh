#!/usr/bin/env bash
# `meson install` into a DESTDIR puts every file where its consumer looks
# (the directories meson.build got from systemd.pc, udev.pc, dbus-1.pc,
# bash-completion.pc), the units carry this build's paths, and an
# administrator's ttwsd.conf survives a second install. Lists the tree.
# Arguments: see common.sh.
set -euo pipefail
# shellcheck source=tests/integration/install/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/dest
meson_install "$D"

echo "installed tree (DESTDIR=$D):"
(cd "$D" && find . \( -type f -o -type l \) -printf '  /%P\n' | sort)

# ---- every file, where it belongs ------------------------------------
need_exec() {
	[[ -f $D$1 && -x $D$1 ]] || fail "$1: not installed or not executable"
}
need_file() {
	[[ -f $D$1 ]] || fail "$1: not installed"
}
need_exec "${dir[sbindir]}/ttwsd"
need_exec "${dir[sbindir]}/ttws-cgroup"
need_exec "${dir[bindir]}/ttwsctl"
need_exec "${dir[bindir]}/ttws-earbud-sim"
for u in "${UNITS[@]}"; do
	need_file "${dir[unitdir]}/$u"
done
need_file "${dir[sysusersdir]}/ttws.conf"
need_file "${dir[tmpfilesdir]}/ttws.conf"
need_file "${dir[udevrulesdir]}/70-ttws.rules"
need_file "${dir[dbuspolicydir]}/org.ttws.Daemon1.conf"
need_file "${dir[completionsdir]}/ttwsctl"
for page in ttwsd.8 ttwsd.conf.5 ttwsctl.1 ttws-earbud-sim.1 ttws-link.7 \
	ttws-cgroup.8; do
	# ttws-link(7) and ttws-cgroup(8) are installed once they are
	# written (man/meson.build): required exactly when the source has
	# them.
	if [[ -f $SRC/man/$page ]]; then
		need_file "${dir[mandir]}/man${page##*.}/$page"
	fi
done
# The binaries are the ones built here, not something stale.
cmp -s "$BUILD/src/daemon/ttwsd" "$D${dir[sbindir]}/ttwsd" ||
	fail "installed ttwsd differs from the build's"

# ---- the configuration -----------------------------------------------
conf=${dir[config]}
cmp -s "$SRC/conf/ttwsd.conf" "$D$conf" ||
	fail "$conf: not installed from conf/ttwsd.conf"
# ttwsd's compiled-in default is the installed file (config.h, and what
# the daemon says in --help).
grep -qxF "#define TTWS_CONFIG_PATH \"$conf\"" "$BUILD/config.h" ||
	fail "config.h: TTWS_CONFIG_PATH is not \"$conf\""
"$BUILD/src/daemon/ttwsd" --help 2>&1 | grep -qF "(default $conf)" ||
	fail "ttwsd --help: the default --config is not $conf"

# ---- the units: this build's paths, nothing left to substitute -------
for u in "${UNITS[@]}"; do
	f=$D${dir[unitdir]}/$u
	[[ -f $f ]] || continue
	if grep -nE '@[A-Za-z_]+@' "$f"; then
		fail "$u: unsubstituted @name@ left"
	fi
	# Every program a unit runs exists: ours in DESTDIR, PipeWire's and
	# WirePlumber's (Debian's) on this machine.
	for key in ExecStart ExecStartPre ExecStartPost ExecReload ExecStop \
		ExecStopPost; do
		while IFS= read -r v; do
			p=$(exec_path "$v")
			[[ $p == /* ]] || fail "$u: $key=$v: not an absolute path"
			case ${p##*/} in
			ttwsd | ttwsctl | ttws-cgroup | ttws-earbud-sim)
				[[ -x $D$p ]] || fail "$u: $key=$p: not installed"
				;;
			*)
				[[ -x $p ]] || fail "$u: $key=$p: not on this machine"
				;;
			esac
		done < <(unit_values "$f" "$key")
	done
done

svc=$D${dir[unitdir]}/ttwsd.service
want_line() {
	grep -qxF "$2" "$1" || fail "${1##*/}: no line '$2'"
}
# The lines shared-interfaces.md fixes.
want_line "$svc" "ExecStart=${dir[sbindir]}/ttwsd --config $conf"
want_line "$svc" "ExecStartPre=+${dir[sbindir]}/ttws-cgroup unit-setup --config $conf"
want_line "$svc" "ExecStopPost=+${dir[sbindir]}/ttws-cgroup unit-teardown"
want_line "$svc" "ExecReload=${dir[bindir]}/ttwsctl reload"
for l in Type=notify NotifyAccess=main WatchdogSec=10s Restart=on-failure \
	Slice=ttws-rt.slice Delegate=cpuset User=ttws \
	"SupplementaryGroups=dialout audio pipewire" \
	"Environment=PIPEWIRE_RUNTIME_DIR=/run/pipewire" \
	SystemCallArchitectures=native ProtectKernelTunables=yes \
	ProtectClock=yes "RestrictAddressFamilies=AF_UNIX AF_BLUETOOTH" \
	"DeviceAllow=char-ttyUSB rw" "DeviceAllow=char-ttyACM rw" \
	"DeviceAllow=char-ttyAMA rw" "DeviceAllow=char-ttyS rw"; do
	want_line "$svc" "$l"
done
for k in Wants After; do
	for dep in ttws-pipewire.socket bluetooth.service; do
		unit_values "$svc" "$k" | tr ' ' '\n' | grep -qxF "$dep" ||
			fail "ttwsd.service: $k= lacks $dep"
	done
done
# The slice bounds memory only: no cpuset (ttws-cgroup's partition) and
# no CPUQuota= (cpu.max does not bound a SCHED_FIFO thread).
slice=$D${dir[unitdir]}/ttws-rt.slice
if grep -nE '^(AllowedCPUs|CPUQuota|CPUSetPartition)=' "$slice"; then
	fail "ttws-rt.slice: sets a cpuset or a CPU quota"
fi
want_line "$slice" "MemoryMax=256M"
sock=$D${dir[unitdir]}/ttws-pipewire.socket
want_line "$sock" "ListenStream=/run/pipewire/pipewire-0"
want_line "$sock" "SocketUser=pipewire"
want_line "$sock" "SocketGroup=pipewire"
want_line "$sock" "SocketMode=0660"
for u in ttws-pipewire.service ttws-wireplumber.service; do
	want_line "$D${dir[unitdir]}/$u" "User=pipewire"
	want_line "$D${dir[unitdir]}/$u" "Environment=PIPEWIRE_RUNTIME_DIR=/run/pipewire"
done
# The system WirePlumber reads ttws's fragments (no session-bus
# features, no BlueZ monitor) through XDG_CONFIG_HOME: installed there.
wp_home=$(unit_values "$D${dir[unitdir]}/ttws-wireplumber.service" Environment |
	sed -n 's/^XDG_CONFIG_HOME=//p')
[[ $wp_home == /* ]] || fail "ttws-wireplumber.service: no absolute XDG_CONFIG_HOME="
for f in main.lua.d/51-ttws-system.lua bluetooth.lua.d/51-ttws-system.lua; do
	need_file "$wp_home/wireplumber/$f"
done
grep -q '"alsa.reserve"\] = false' "$D$wp_home/wireplumber/main.lua.d/51-ttws-system.lua" ||
	fail "the WirePlumber fragment does not turn alsa.reserve off"
sysusers=$D${dir[sysusersdir]}/ttws.conf
for g in dialout audio pipewire; do
	grep -qE "^m[[:space:]]+ttws[[:space:]]+$g\$" "$sysusers" ||
		fail "sysusers.d: ttws is not put in group $g"
done
grep -qE '^u[[:space:]]+pipewire[[:space:]]' "$sysusers" ||
	fail "sysusers.d: no user pipewire"
grep -qE '^d[[:space:]]+/run/pipewire[[:space:]]+[0-7]+[[:space:]]+pipewire[[:space:]]+pipewire' \
	"$D${dir[tmpfilesdir]}/ttws.conf" ||
	fail "tmpfiles.d: /run/pipewire is not made for user pipewire"

# ---- an administrator's configuration is never overwritten -----------
# Second install into the same tree, this time through the DESTDIR
# environment variable (the other way meson is told).
printf '# the administrator was here\n[rt]\ncpu = 3\n' >"$D$conf"
cp "$D$conf" "$tmp/admin.conf"
DESTDIR=$D "$MESON" install -C "$BUILD" --no-rebuild >"$tmp/second.log" 2>&1 || {
	cat "$tmp/second.log" >&2
	fail "second meson install failed"
}
cmp -s "$tmp/admin.conf" "$D$conf" ||
	fail "$conf: an existing file was overwritten by meson install"
# A dangling symlink is the administrator's too.
rm "$D$conf"
ln -s /nonexistent/ttwsd.conf "$D$conf"
DESTDIR=$D "$MESON" install -C "$BUILD" --no-rebuild >"$tmp/third.log" 2>&1 ||
	fail "third meson install failed"
[[ -L $D$conf && $(readlink "$D$conf") == /nonexistent/ttwsd.conf ]] ||
	fail "$conf: a symlink was replaced"

if ((fails > 0)); then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "install layout: all checks passed"
