#!/usr/bin/env bash
# One libFuzzer harness, bounded, as CI runs it (the meson suite 'fuzz')
# and as `./dev fuzz` runs it for longer:
#   1. every seed (CORPUS) and every kept crash (REGRESS) is run once, so a
#      fixed bug that comes back fails at once, whatever the fuzzing finds;
#   2. then fuzzing for SECONDS (default $TTWS_FUZZ_SECONDS, else 6), new
#      inputs going to WORK (the build directory), crashes to WORK/crash-*.
#
#   run.sh HARNESS CORPUS REGRESS WORK [SECONDS]
# Exit status: 0, or the harness's (a crash, a leak, a timeout, an abort()
# of a broken invariant); the input that did it is named on stderr.
set -euo pipefail
harness=$1 corpus=$2 regress=$3 work=$4
seconds=${5:-${TTWS_FUZZ_SECONDS:-6}}
name=$(basename "$harness")

# Leaks count as failures; stop at the first report of any sanitizer.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p "$work"
inputs=()
for d in "$corpus" "$regress"; do
	[[ -d $d ]] || continue
	while IFS= read -r -d '' f; do
		inputs+=("$f")
	done < <(find "$d" -type f ! -name '.*' ! -name '*.md' -print0 | sort -z)
done
if ((${#inputs[@]})); then
	# Files given on the command line are only run, once each.
	if ! "$harness" -timeout=10 "${inputs[@]}" >"$work/replay.log" 2>&1; then
		tail -n 40 "$work/replay.log" >&2
		echo "$name: a seed or regression input fails (above)" >&2
		exit 1
	fi
fi
echo "$name: ${#inputs[@]} seed and regression inputs pass"
((seconds > 0)) || exit 0

# -timeout: one input taking this long is a hang (each should take µs).
# WORK first: libFuzzer writes new inputs into its first directory only.
dirs=("$work/corpus")
mkdir -p "$work/corpus"
[[ -d $corpus ]] && dirs+=("$corpus")
[[ -d $regress ]] && dirs+=("$regress")
rc=0
"$harness" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-max_len=4096 -print_final_stats=1 -artifact_prefix="$work/" \
	"${dirs[@]}" >"$work/fuzz.log" 2>&1 || rc=$?
# The last status line: runs, coverage, features, corpus, exec/s.
grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$work/fuzz.log" |
	tail -n 1 | sed "s/^/$name: /" || true
grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' \
	"$work/fuzz.log" | sed "s/^/$name: /" || true
if ((rc)); then
	tail -n 60 "$work/fuzz.log" >&2
	echo "$name: FAILED; the input is in $work/ (crash-*, leak-*, timeout-*)." >&2
	echo "Keep it as tests/fuzz/regress/${name#fuzz-}/<what-it-was> once fixed." >&2
	exit "$rc"
fi
