# Shared by the RT-proof scripts (tests/integration/rtproof): source it.
# Needs fail() from the caller.

# rtp_sanitized BINARY: 0 when BINARY is built with AddressSanitizer.
# Neither the rtcheck shim (ASan must be the first preloaded library and
# owns the allocator) nor the seccomp filter (ASan's allocator and thread
# exit make syscalls off the RT thread's list) works there.
rtp_sanitized() {
	# Not ldd | grep -q: grep's early exit fails ldd under pipefail.
	[[ $(ldd "$1") == *libasan* ]]
}

# rtp_nr NAME: the syscall number of NAME on this machine (the log mode
# reports numbers).
rtp_nr() {
	printf '#include <sys/syscall.h>\nSYS_%s\n' "$1" | cpp -P - | tail -n 1
}

# rtp_count FILE NAME: NAME's count in an rtcheck report.
rtp_count() {
	awk -v n="$2" '$1 == n { print $2 }' "$1"
}

# rtp_zero FILE WHAT: every counter of an rtcheck report but the positive
# control (clock_gettime) and the section count is 0; each one that is not
# is named, then fail.
rtp_zero() {
	local name n bad=()
	[[ -s $1 ]] || fail "$2: no rtcheck report $1"
	while read -r name n; do
		[[ $name == clock_gettime || $name == sections ]] && continue
		((n == 0)) || bad+=("$name $n")
	done <"$1"
	((${#bad[@]} == 0)) || fail "$2 called: ${bad[*]}"
}

# rtp_seen FILE MIN WHAT: the positive control: the extent read the clock
# at least MIN times, i.e. rtcheck saw it at work.
rtp_seen() {
	local n
	n=$(rtp_count "$1" clock_gettime)
	((${n:-0} >= $2)) || fail "$3: rtcheck saw ${n:-no} clock reads (< $2): the extent was not watched"
}

# rtp_confined PID: PID's thread named ttws-rt runs under a seccomp filter
# (Seccomp: 2) with one filter more than the main thread, and no other
# thread has more filters than the main thread (the filter is the RT
# thread's own, not synchronised to the process). Relative to the main
# thread, so that a container's own filter does not count. Waits up to
# 10 s for the RT thread. Says what it found.
rtp_confined() {
	local pid=$1 t name mode filt main_f rt=0 rt_f= n=500
	while ((n-- > 0)); do
		grep -qx ttws-rt /proc/"$pid"/task/*/comm 2>/dev/null && break
		sleep 0.02
	done
	main_f=$(awk '$1 == "Seccomp_filters:" { print $2 }' "/proc/$pid/status")
	for t in /proc/"$pid"/task/*; do
		name=$(<"$t/comm") || continue
		mode=$(awk '$1 == "Seccomp:" { print $2 }' "$t/status")
		filt=$(awk '$1 == "Seccomp_filters:" { print $2 }' "$t/status")
		if [[ $name == ttws-rt ]]; then
			[[ $mode == 2 ]] || fail "the RT thread's seccomp mode is $mode, not 2 (filter)"
			if [[ -n $main_f ]]; then
				((filt == main_f + 1)) || fail "the RT thread has $filt seccomp filters, the main thread $main_f"
			fi
			rt=$((rt + 1)) rt_f=$filt
		elif [[ -n $main_f && $filt != "$main_f" ]]; then
			fail "thread $name has $filt seccomp filters, the main thread $main_f: not the RT thread's own"
		fi
	done
	((rt == 1)) || fail "$rt threads named ttws-rt in $pid"
	echo "seccomp: the RT thread of $pid is confined (mode 2, ${rt_f:-?} filter(s)), its other threads are not"
}
