# shellcheck shell=bash disable=SC2034
# Shared by layout.sh and units.sh: source it after `set -euo pipefail`.
#
# Arguments (from meson.build): MESON BUILD_ROOT SOURCE_ROOT, then
# KEY=VALUE pairs naming where this build installs things (absolute,
# without DESTDIR): prefix bindir sbindir mandir config unitdir
# sysusersdir tmpfilesdir udevrulesdir dbuspolicydir completionsdir.

MESON=$1
BUILD=$2
SRC=$3
shift 3
declare -A dir=()
for kv in "$@"; do
	dir[${kv%%=*}]=${kv#*=}
done
for k in prefix bindir sbindir mandir config unitdir sysusersdir \
	tmpfilesdir udevrulesdir dbuspolicydir completionsdir; do
	[[ ${dir[$k]:-} == /* ]] || {
		echo "install test: no absolute $k= given" >&2
		exit 2
	}
done

# The five units this project installs.
UNITS=(ttwsd.service ttws-rt.slice ttws-pipewire.socket
	ttws-pipewire.service ttws-wireplumber.service)

fails=0
fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# meson_install DESTDIR: install the build into DESTDIR (--destdir), its
# output in DESTDIR.log next to it.
meson_install() {
	"$MESON" install -C "$BUILD" --no-rebuild --destdir "$1" \
		>"$1.log" 2>&1 || {
		cat "$1.log" >&2
		echo "meson install --destdir $1 failed" >&2
		exit 1
	}
}

# unit_values FILE KEY: every value of KEY= in a unit file, one a line.
unit_values() {
	sed -n "s/^$2=//p" "$1"
}

# exec_path VALUE: the program of an Exec*= value, without systemd's
# prefixes (-, @, :, +, !) (systemd.service(5), "Command lines").
exec_path() {
	local w=${1%% *}
	while [[ $w == [-@:+!]* ]]; do
		w=${w:1}
	done
	printf '%s\n' "$w"
}
