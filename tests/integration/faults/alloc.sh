#!/usr/bin/env bash
# Allocation failure at each start-up allocation (issue 14): ttwsd under
# the allocfail shim (allocfail.c). A first run counts the allocations
# from main() to READY=1 (K, and Km mmaps); then, for N = 1..K (and
# 1..Km with mmap), a run in which the Nth fails. Each run must end in
# one of:
#   - exit: a non-zero status that is not a signal (no crash, no abort),
#     within 5 s (no hang), with the cause named on stderr ("out of
#     memory", strerror(ENOMEM), or pthread_create's EAGAIN);
#   - carried on: READY=1 (what failed had a fallback), then SIGTERM ends
#     it with status 0 within 3 s; its log either names the failure or is
#     the same as without it (a library absorbed it: glibc's stdio buffer,
#     sd-event's source descriptions);
# and leave nothing behind: its control socket directory is empty.
# ttwsd runs with source = tone and two unix links nobody answers: what
# start-up allocates does not depend on the earbuds (they connect from
# the RT loop, which allocates nothing). Not covered: source = pipewire
# (PipeWire's threads allocate concurrently, so the Nth allocation is
# not the same one from run to run) and the hci-uart and l2cap
# transports.
#
#   alloc.sh BUILD_DIR ALLOCFAIL_SO
set -euo pipefail
BUILD=$(realpath "$1") SHIM=$(realpath "$2")
TTWSD=$BUILD/src/daemon/ttwsd
tmp=$(mktemp -d /tmp/ttws-alloc.XXXXXX)
pid=
cleanup() {
	[[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
	wait 2>/dev/null
	[[ -n ${KEEP:-} ]] || rm -rf "$tmp"
	return 0
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
if [[ $(ldd "$TTWSD") == *libasan* ]]; then
	echo "SKIP: ttwsd is built with AddressSanitizer, which owns malloc"
	exit 77
fi

run=$tmp/run
mkdir -p "$run"
cat >"$tmp/ttwsd.conf" <<CONF
[rt]
priority = 0
[control]
socket = $run/control
[link.left]
transport = unix
path = $tmp/nobody-left.sock
[link.right]
transport = unix
path = $tmp/nobody-right.sock
CONF

# ttwsd's main-thread log without its timestamps: what an operator reads
# of a start-up. The RT thread's lines (reconnect timing) vary by run.
main_log() { grep '^ttwsd\[main\]' "$1" | sed -e "s|$tmp|TMP|g" || true; }

# One run: KIND N (N = 0: none fails). Sets how (exit | ready | hang),
# rc, and leaves $tmp/err, $tmp/out.
one() {
	local kind=$1 n=$2 i
	rm -f "$tmp/out" "$tmp/err"
	TTWS_ALLOCFAIL_KIND=$kind TTWS_ALLOCFAIL_AT=$n \
		TTWS_ALLOCFAIL_OUT=$tmp/out LD_PRELOAD=$SHIM \
		"$TTWSD" --config "$tmp/ttwsd.conf" 2>"$tmp/err" &
	pid=$!
	how=hang
	for ((i = 0; i < 500; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			how=exit
			break
		fi
		if grep -q '^ready' "$tmp/out" 2>/dev/null; then
			how=ready
			kill -TERM "$pid"
			break
		fi
		sleep 0.01
	done
	if [[ $how != hang ]]; then
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.01
		done
		kill -0 "$pid" 2>/dev/null && how=$how-hang
	fi
	if [[ $how == *hang ]]; then
		kill -KILL "$pid" 2>/dev/null
	fi
	rc=0
	wait "$pid" || rc=$?
	pid=
}

# Where call N was made: the shim's stack, ttwsd's frames by name.
site() {
	local a
	{
		sed -n '/^failed/{n;p}' "$tmp/out" | sed 's|.*/||'
		grep -o 'ttwsd(+0x[0-9a-f]*)' "$tmp/out" | head -4 |
			sed 's/ttwsd(+\(0x[0-9a-f]*\))/\1/' |
			while read -r a; do
				addr2line -f -e "$TTWSD" "$a" 2>/dev/null | head -1
			done
	} | tr '\n' ' '
}

# The count, and the reference log of a start-up where nothing fails.
one heap 0
[[ $how == ready && $rc == 0 ]] ||
	fail "without a failure ttwsd did not start and stop cleanly ($how, status $rc): $(tail -n 3 "$tmp/err")"
K=$(awk '$1 == "ready" { print $2 }' "$tmp/out")
main_log "$tmp/err" >"$tmp/ref.log"
one mmap 0
Km=$(awk '$1 == "ready" { print $2 }' "$tmp/out")
[[ -n $K && -n $Km ]] || fail "the shim counted nothing"
((K >= 20)) || fail "only $K allocations before READY=1: is the shim counting?"
echo "start-up: $K allocations and $Km mmaps from main() to READY=1"


bad=()
declare -A tally=()
clear='out of memory|Cannot allocate memory|Resource temporarily unavailable'
for kind in heap mmap; do
	max=$K
	[[ $kind == mmap ]] && max=$Km
	for ((n = 1; n <= max; n++)); do
		one "$kind" "$n"
		what="$kind $n ($(site))"
		leftover=$(ls -A "$run")
		if [[ -n $leftover ]]; then
			bad+=("$what: left behind: $leftover")
			rm -rf "${run:?}"/*
		fi
		if ! grep -q '^failed' "$tmp/out"; then
			# Fewer calls this time (a library's cache): nothing
			# failed, nothing to judge.
			tally[not-reached]=$((${tally[not-reached]:-0} + 1))
			continue
		fi
		case $how in
		exit)
			if ((rc == 0 || rc >= 128)); then
				bad+=("$what: exit status $rc")
			elif ! grep -Eq "$clear" "$tmp/err"; then
				bad+=("$what: exit $rc without naming the cause: $(tail -n 1 "$tmp/err")")
			else
				tally[exit]=$((${tally[exit]:-0} + 1))
			fi
			;;
		ready)
			if ((rc != 0)); then
				bad+=("$what: carried on, then exit status $rc on SIGTERM")
			elif grep -Eq "$clear" "$tmp/err"; then
				tally[carried-on-named]=$((${tally[carried-on-named]:-0} + 1))
			elif diff -q "$tmp/ref.log" <(main_log "$tmp/err") >/dev/null; then
				tally[carried-on-no-trace]=$((${tally[carried-on-no-trace]:-0} + 1))
			else
				d=$(diff "$tmp/ref.log" <(main_log "$tmp/err") |
					sed -n 's/^[<>] //p' || true)
				bad+=("$what: carried on silently, its log differs: $(tr '\n' '|' <<<"$d" | cut -c1-300)")
			fi
			;;
		*)
			bad+=("$what: $how (status $rc): $(grep -v '^ttwsd\[rt\]' "$tmp/err" | tail -n 1)")
			;;
		esac
	done
done
for k in "${!tally[@]}"; do
	echo "  $k: ${tally[$k]}"
done
if ((${#bad[@]})); then
	printf 'FAIL: %s\n' "${bad[@]}" >&2
	exit 1
fi
echo "alloc: ok ($K + $Km injected failures)"
