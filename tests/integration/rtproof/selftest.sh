#!/usr/bin/env bash
# The rtcheck shim's own proof (tests/integration/rtcheck-selftest.c):
#  - every function the shim interposes is caught when the thread named
#    ttws-rt calls it (each counter >= 1 in the .rt report), and so is each
#    one called inside a marked process() section (.process, and exactly
#    one section counted);
#  - the same calls from the main thread and from a thread still named
#    ttws-rt-init are not counted (every counter 0): the extents are what
#    the reports say they are;
#  - the calls were carried out, not only counted: each printing function
#    printed its own name;
#  - the list covers what the RT proof promises (README): the allocator,
#    mmap/munmap/mremap/brk/sbrk, semaphores, rwlocks, mutex and timed
#    waits, sleeps, the printf family, syslog and every sd-journal entry
#    point.
#
#   selftest.sh RTCHECK_SO RTCHECK_SELFTEST
set -euo pipefail
SHIM=$(realpath "$1") SELFTEST=$(realpath "$2")
tmp=$(mktemp -d /tmp/ttws-rtcheck-self.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
if rtp_sanitized "$SELFTEST"; then
	echo "SKIP: built with AddressSanitizer (the shim cannot be preloaded)"
	exit 77
fi

# selftest MODE: its reports in $tmp/MODE.txt{,.rt,.process}.
selftest() {
	TTWS_RTCHECK_DRY_LOG=1 TTWS_RTCHECK_OUT="$tmp/$1.txt" \
		TTWS_RTCHECK_SELFTEST_FILE="$tmp/$1.file" LD_PRELOAD="$SHIM" \
		"$SELFTEST" "$1" >"$tmp/$1.out" 2>"$tmp/$1.err" ||
		fail "rtcheck-selftest $1 failed: $(cat "$tmp/$1.err")"
}
# all_at_least FILE MIN WHAT: every counter of FILE (but "sections") >= MIN.
all_at_least() {
	local name n missed=()
	[[ -s $1 ]] || fail "$3: no report $1"
	while read -r name n; do
		[[ $name == sections ]] && continue
		((n >= $2)) || missed+=("$name")
	done <"$1"
	((${#missed[@]} == 0)) || fail "$3: not caught: ${missed[*]}"
}

selftest rt
all_at_least "$tmp/rt.txt.rt" 1 "ttws-rt thread"
all_at_least "$tmp/rt.txt" 1 "ttws-rt thread (summed report)"
rtp_zero "$tmp/rt.txt.process" "outside any section: process()"
[[ $(rtp_count "$tmp/rt.txt.process" sections) == 0 ]] || fail "sections counted without marks"
n=$(grep -c . "$tmp/rt.txt.rt")
echo "ttws-rt thread: each of the $n counters caught"

# Carried out: every printing function's line is where it wrote it.
for f in printf vprintf __printf_chk __vprintf_chk puts; do
	grep -qx "$f" "$tmp/rt.out" || fail "$f was counted but printed nothing"
done
grep -q "^perror: " "$tmp/rt.err" || fail "perror printed nothing"
for f in fprintf vfprintf dprintf vdprintf __fprintf_chk __vfprintf_chk \
	__dprintf_chk __vdprintf_chk fputs fputs_unlocked fwrite fwrite_unlocked; do
	grep -qx "$f" "$tmp/rt.file" || fail "$f was counted but wrote nothing"
done

selftest section
all_at_least "$tmp/section.txt.process" 1 "process() section"
[[ $(rtp_count "$tmp/section.txt.process" sections) == 1 ]] ||
	fail "$(rtp_count "$tmp/section.txt.process" sections) sections counted, 1 marked"
rtp_zero "$tmp/section.txt.rt" "an unnamed thread: the RT extent"
[[ $(rtp_count "$tmp/section.txt.rt" clock_gettime) == 0 ]] ||
	fail "an unnamed thread's clock reads counted as the RT thread's"
echo "process() section: each counter caught, one section"

selftest other
rtp_zero "$tmp/other.txt" "the main thread and ttws-rt-init"
[[ $(rtp_count "$tmp/other.txt" clock_gettime) == 0 ]] ||
	fail "the main thread's clock reads counted"
echo "main thread, ttws-rt-init: nothing counted"

# What the README promises is on the list.
for f in malloc calloc realloc free posix_memalign aligned_alloc \
	mmap munmap mremap brk sbrk \
	sem_wait sem_timedwait sem_clockwait sem_trywait sem_post \
	pthread_rwlock_rdlock pthread_rwlock_wrlock pthread_rwlock_timedrdlock \
	pthread_rwlock_timedwrlock pthread_mutex_lock pthread_mutex_trylock \
	pthread_mutex_timedlock pthread_cond_wait pthread_cond_timedwait \
	sleep usleep nanosleep clock_nanosleep \
	printf fprintf vfprintf dprintf vdprintf puts fputs fwrite putchar \
	syslog vsyslog sd_journal_print sd_journal_printv sd_journal_send \
	sd_journal_sendv sd_journal_perror sd_journal_print_with_location \
	sd_journal_printv_with_location sd_journal_send_with_location \
	sd_journal_sendv_with_location sd_journal_perror_with_location \
	sd_journal_stream_fd write_stdio clock_gettime; do
	[[ -n $(rtp_count "$tmp/rt.txt.rt" "$f") ]] || fail "rtcheck does not watch $f"
done
echo "rtproof-selftest: ok"
