#!/usr/bin/env bash
# Inter-ear synchronisation of the three clock estimators (naive, median-iir,
# ttws) on every scenario in tests/scenarios: an hour of audio each, in
# virtual time (ttws-earbud-sim --virtual), all estimators fed identical
# samples. The error is the TRUE render_L - render_R of every frame, in host
# time, after a 2 s warm-up and with both ears playing.
#
#   sync.sh [BUILD_DIR]
#   env: DURATION (3600 s of audio per scenario), JOBS (nproc)
#
# Prints a table (scenario x estimator: P50/P99/max us, late frames, relock
# after a link drop), then one JSON line:
#   {"bench":"sync","scenarios":{"NAME":{"naive":{"p99_us":..,"max_us":..},
#    "median_iir":{...},"ttws":{...,"relock_s":..}}}}
# Runs are bit-for-bit reproducible from each scenario's seed. Never fails on
# a number. Needs bash, coreutils and jq only.
set -euo pipefail

BUILD=${1:-build}
DURATION=${DURATION:-3600}
JOBS=${JOBS:-$(nproc)}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCENARIOS=$HERE/../scenarios
SIM=$BUILD/src/sim/ttws-earbud-sim

[[ -x $SIM ]] || { echo "$SIM missing: ./dev build" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq missing: ./dev setup" >&2; exit 1; }
shopt -s nullglob
files=("$SCENARIOS"/*.ini)
((${#files[@]} > 0)) || { echo "no scenarios in $SCENARIOS" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# One simulator per scenario, JOBS at a time; each writes NAME.json.
run_one() {
	local f=$1 name
	name=$(basename "$f" .ini)
	if ! "$SIM" --virtual --scenario "$f" --estimator all \
		--duration "$DURATION" --json >"$tmp/$name.json" \
		2>"$tmp/$name.err"; then
		echo "sync bench: $name failed:" >&2
		cat "$tmp/$name.err" >&2
		return 1
	fi
}

start=$(date +%s%N)
pids=()
for f in "${files[@]}"; do
	while (($(jobs -rp | wc -l) >= JOBS)); do
		wait -n
	done
	run_one "$f" &
	pids+=($!)
done
status=0
for p in "${pids[@]}"; do
	wait "$p" || status=1
done
((status == 0)) || exit 1
end=$(date +%s%N)

# Table: one row per scenario and estimator.
printf '%-12s %-11s %10s %10s %10s %7s %9s\n' \
	scenario estimator 'p50 us' 'p99 us' 'max us' late relock
for f in "${files[@]}"; do
	name=$(basename "$f" .ini)
	jq -r --arg name "$name" '
		def num: if . == null then "-" else tostring end;
		def relock: if . == null then "-"
			elif . < 0 then "never"
			else "\(.) s" end;
		. as $r
		| ["naive", "median_iir", "ttws"][]
		| select($r[.] != null) as $k
		| $r[$k]
		| [$name, $k, (.p50_us | num), (.p99_us | num),
		   (.max_us | num), (.late | num),
		   (if $k == "ttws" then (.relock_s | relock) else "" end)]
		| @tsv' "$tmp/$name.json"
done | while IFS=$'\t' read -r sc est p50 p99 max late relock; do
	printf '%-12s %-11s %10s %10s %10s %7s %9s\n' \
		"$sc" "$est" "$p50" "$p99" "$max" "$late" "$relock"
done
wall_ms=$(((end - start) / 1000000))
printf '(%s s of audio per scenario, %s scenarios in %d.%03d s of wall time)\n' \
	"$DURATION" "${#files[@]}" $((wall_ms / 1000)) $((wall_ms % 1000))

# The JSON line: p99 and max of every estimator, relock for ttws.
for f in "${files[@]}"; do
	cat "$tmp/$(basename "$f" .ini).json"
done | jq -s -c '
	{bench: "sync",
	 scenarios: (map({key: .scenario,
			  value: (del(.scenario)
				  | with_entries(.value |= (
					{p99_us, max_us}
					+ (if has("relock_s")
					   then {relock_s} else {} end))))})
		     | from_entries)}'
