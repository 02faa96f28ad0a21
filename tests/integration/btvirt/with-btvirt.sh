#!/usr/bin/env bash
# Run CMD against a private BlueZ controller emulator (btvirt -s).
#
#   with-btvirt.sh [--shim AFALG_SHIM_SO] [--] CMD [ARGS...]
#
# btvirt serves fixed paths (/tmp/bt-server-le, -bredrle, -bredr, -amp,
# -mon); every connection to one gets its own emulated controller speaking
# H4, and the controllers of one btvirt see each other (advertise, connect,
# exchange ACL). To let tests run side by side, btvirt runs in a mount
# namespace of its own with a private tmpfs on /tmp. CMD stays in the
# caller's namespace (build trees under /tmp stay visible) and reaches the
# sockets through the emulator's root: /proc/PID/root/tmp/bt-server-*.
# Where unshare is not permitted, btvirt runs in the real /tmp under a lock
# file instead (one at a time).
#
# CMD gets, in its environment:
#   TTWS_BTVIRT_LE      the LE-only controller socket (what ttws uses)
#   TTWS_BTVIRT_DIR     the directory of all five sockets
#   TTWS_BTVIRT_PID     btvirt's pid
#   TTWS_BTVIRT_LOG     btvirt's stdout and stderr
# The exit status is CMD's; 77 (skip) when btvirt is not installed; 1 when
# btvirt died while CMD ran. btvirt is stopped and everything removed on
# any exit, including a failure or a signal.
#
# The shim (afalg-shim.c, built by meson) is LD_PRELOADed into btvirt only:
# this kernel has no AF_ALG, and btvirt then drops every LE controller.
# Also from the environment: TTWS_BTVIRT_SHIM (the shim when --shim is not
# given), TTWS_BTVIRT (the btvirt binary), TTWS_BTVIRT_NO_UNSHARE=1 (force
# the lock-file mode, to test it).
set -euo pipefail

shim=${TTWS_BTVIRT_SHIM:-}
btvirt=${TTWS_BTVIRT:-btvirt}
while (($#)); do
	case $1 in
	--shim) shim=$2; shift 2 ;;
	--) shift; break ;;
	*) break ;;
	esac
done
(($#)) || { echo "usage: $0 [--shim SO] [--] CMD [ARGS...]" >&2; exit 2; }
if ! command -v "$btvirt" >/dev/null; then
	echo "SKIP: $btvirt not found (Debian: bluez-test-tools)" >&2
	exit 77
fi
if [[ -z $shim || ! -r $shim ]]; then
	echo "with-btvirt: no shim: '$shim'" >&2
	exit 2
fi
btvirt=$(command -v "$btvirt")

work=$(mktemp -d "${TMPDIR:-/tmp}/ttws-btvirt.XXXXXX")
log=$work/btvirt.log
bt_pid=
ns_pid=
cmd_pid=
lock_fd=
lock_sockets=()

# shellcheck disable=SC2317 # (called by the trap)
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [[ -n $cmd_pid ]] && kill -0 "$cmd_pid" 2>/dev/null; then
		kill "$cmd_pid" 2>/dev/null || true
		wait "$cmd_pid" 2>/dev/null || true
	fi
	if [[ -n $bt_pid ]] && kill -0 "$bt_pid" 2>/dev/null; then
		kill "$bt_pid" 2>/dev/null || true
	fi
	# unshare --fork waits for btvirt and exits with it.
	for p in $ns_pid $bt_pid; do
		wait "$p" 2>/dev/null || true
	done
	if ((${#lock_sockets[@]})); then
		rm -f "${lock_sockets[@]}"
	fi
	if [[ -n $lock_fd ]]; then
		exec {lock_fd}>&-
	fi
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# The first way to get a private /tmp that works here: a mount namespace
# (root), or a user namespace mapping us to root in it (others).
unshare_cmd=()
if [[ ${TTWS_BTVIRT_NO_UNSHARE:-0} != 1 ]] &&
	command -v unshare >/dev/null; then
	for try in "unshare -m --propagation private" \
		"unshare -r -m --propagation private"; do
		# shellcheck disable=SC2086
		if $try sh -c 'mount -t tmpfs none /tmp' >/dev/null 2>&1; then
			read -r -a unshare_cmd <<<"$try"
			break
		fi
	done
fi

if ((${#unshare_cmd[@]})); then
	# Inside: keep the shim open across the mount that hides its path,
	# copy it into the new /tmp, then become btvirt. --kill-child ties
	# btvirt's life to unshare's.
	# shellcheck disable=SC2016
	"${unshare_cmd[@]}" --kill-child -- sh -c '
		exec 3<"$1" || exit 96
		mount -t tmpfs -o mode=1777,size=16m ttws-btvirt /tmp ||
			exit 97
		cat <&3 >/tmp/afalg-shim.so && exec 3<&- || exit 98
		LD_PRELOAD=/tmp/afalg-shim.so exec "$2" -s' \
		sh "$shim" "$btvirt" >"$log" 2>&1 &
	ns_pid=$!
	# btvirt is unshare's child; it is btvirt (after the mount) once
	# its comm says so. bt-server-mon is bound and listening after
	# bt-server-le (emulator/main.c order), so -le is ready then.
	for _ in $(seq 200); do
		if [[ -z $bt_pid ]]; then
			bt_pid=$(pgrep -P "$ns_pid" | head -n 1 || true)
		fi
		comm=$(cat "/proc/${bt_pid:-0}/comm" 2>/dev/null || true)
		if [[ $comm == btvirt &&
			-S /proc/$bt_pid/root/tmp/bt-server-mon ]]; then
			break
		fi
		kill -0 "$ns_pid" 2>/dev/null || break
		sleep 0.05
	done
	dir=/proc/$bt_pid/root/tmp
else
	# No namespaces: the real /tmp, one btvirt at a time.
	exec {lock_fd}>"${TMPDIR:-/tmp}/ttws-btvirt.lock"
	if ! flock -w 300 "$lock_fd"; then
		echo "with-btvirt: lock timeout" >&2
		exit 1
	fi
	if grep -q ' /tmp/bt-server-le$' /proc/net/unix; then
		echo "with-btvirt: another btvirt serves /tmp/bt-server-le" >&2
		exit 1
	fi
	lock_sockets=(/tmp/bt-server-{bredrle,bredr,amp,le,mon})
	rm -f "${lock_sockets[@]}"
	LD_PRELOAD=$(realpath "$shim") "$btvirt" -s >"$log" 2>&1 &
	bt_pid=$!
	for _ in $(seq 200); do
		[[ -S /tmp/bt-server-mon ]] && break
		kill -0 "$bt_pid" 2>/dev/null || break
		sleep 0.05
	done
	dir=/tmp
fi

if [[ -z $bt_pid ]] || ! kill -0 "$bt_pid" 2>/dev/null ||
	[[ ! -S $dir/bt-server-le ]]; then
	echo "with-btvirt: btvirt did not start; its log:" >&2
	cat "$log" >&2 || true
	exit 1
fi

export TTWS_BTVIRT_LE=$dir/bt-server-le
export TTWS_BTVIRT_DIR=$dir
export TTWS_BTVIRT_PID=$bt_pid
export TTWS_BTVIRT_LOG=$log
# In the background so that a signal to this script is acted on at once
# (and passed on to CMD by the cleanup), not after CMD finishes.
rc=0
"$@" <&0 &
cmd_pid=$!
wait "$cmd_pid" || rc=$?
cmd_pid=
if ! kill -0 "$bt_pid" 2>/dev/null; then
	echo "with-btvirt: btvirt died during the test; its log:" >&2
	cat "$log" >&2 || true
	((rc != 0)) || rc=1
elif ((rc != 0)); then
	echo "with-btvirt: CMD failed ($rc); btvirt log:" >&2
	tail -n 20 "$log" >&2 || true
fi
exit "$rc"
