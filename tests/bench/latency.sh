#!/usr/bin/env bash
# Wake-up latency of ttwsd's RT loop against cyclictest (rt-tests), the
# reference everyone quotes: identical interval, priority, CPU and loop
# count, interleaved over several rounds so both see the same machine.
#
#   latency.sh [BUILD_DIR]
#   env: ROUNDS (3), LOOPS (5000), INTERVAL_US (1000), PRIO (80), CPU (1),
#        GUARD_US (100)
#
# Prints a table, then one JSON line. Never fails on a number: the
# hypervisor's rare millisecond spikes show in P99.9/max and stay there.
set -euo pipefail

BUILD=${1:-build}
TTWSD=$BUILD/src/daemon/ttwsd
ROUNDS=${ROUNDS:-3}
LOOPS=${LOOPS:-5000}
INTERVAL_US=${INTERVAL_US:-1000}
PRIO=${PRIO:-80}
CPU=${CPU:-1}
GUARD_US=${GUARD_US:-100}
ncpu=$(nproc)
((CPU < ncpu)) || CPU=$((ncpu - 1))

if ((EUID != 0)); then
	echo "latency bench: not root, SCHED_FIFO will be refused; numbers are SCHED_OTHER" >&2
fi
command -v cyclictest >/dev/null || { echo "cyclictest missing: ./dev setup" >&2; exit 1; }
[[ -x $TTWSD ]] || { echo "$TTWSD missing: ./dev build" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# cyclictest -h prints "USEC COUNT" rows (1 us buckets) and overflows; turn
# its histogram into min/p50/p99/p999/max in us.
cyclic_stats() {
	awk '
	/^# Max Latencies:/ { max = $4 + 0 }
	/^# Min Latencies:/ { min = $4 + 0 }
	/^# Histogram Overflows:/ { over = $4 + 0 }
	/^[0-9]+[ \t]+[0-9]+/ { n[$1 + 0] = $2 + 0; tot += $2; if ($1 + 0 > top) top = $1 + 0 }
	function pct(p,   want, acc, u) {
		want = p / 100 * (tot + over); acc = 0
		for (u = 0; u <= top; u++) { acc += n[u]; if (acc >= want) return u }
		return max
	}
	END { printf "%s %s %s %s %s\n", min, pct(50), pct(99), pct(99.9), max }
	' "$1"
}

run_cyclic() {
	cyclictest -m -q -p "$PRIO" -i "$INTERVAL_US" -l "$LOOPS" -a "$CPU" \
		-h 20000 >"$tmp/cyc.txt" 2>"$tmp/cyc.err" || {
		cat "$tmp/cyc.err" >&2
		return 1
	}
	cyclic_stats "$tmp/cyc.txt"
}

run_ttwsd() { # guard_us backend
	local n=$((LOOPS))
	"$TTWSD" --latency-test --loops "$n" --interval-us "$INTERVAL_US" \
		--priority "$PRIO" --cpu "$CPU" --spin-guard-us "$1" \
		--backend "$2" --json >"$tmp/t.json" 2>"$tmp/t.err" || {
		cat "$tmp/t.err" >&2
		return 1
	}
	tail -n 1 "$tmp/t.json" | jq -r '.latency_us | "\(.min) \(.p50) \(.p99) \(.p999) \(.max)"'
}

declare -a C T S E
printf '%-6s %-22s %8s %8s %8s %9s %9s\n' round run min p50 p99 p99.9 max
for ((r = 1; r <= ROUNDS; r++)); do
	c=$(run_cyclic)
	t=$(run_ttwsd 0 io_uring)
	s=$(run_ttwsd "$GUARD_US" io_uring)
	e=$(run_ttwsd 0 epoll)
	C+=("$c") T+=("$t") S+=("$s") E+=("$e")
	for pair in "cyclictest:$c" "ttwsd io_uring:$t" \
		"ttwsd io_uring spin$GUARD_US:$s" "ttwsd epoll:$e"; do
		read -r mn p50 p99 p999 mx <<<"${pair#*:}"
		printf '%-6s %-22s %8s %8s %8s %9s %9s\n' "$r" "${pair%%:*}" \
			"$mn" "$p50" "$p99" "$p999" "$mx"
	done
done

# Median over rounds of one column (3 = p99, 5 = max).
med() { # column rows...
	local col=$1
	shift
	printf '%s\n' "$@" | awk -v c="$col" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

cp99=$(med 3 "${C[@]}") cmax=$(med 5 "${C[@]}")
tp99=$(med 3 "${T[@]}") tmax=$(med 5 "${T[@]}")
sp99=$(med 3 "${S[@]}") smax=$(med 5 "${S[@]}")
ep99=$(med 3 "${E[@]}")
echo "medians over $ROUNDS rounds of $LOOPS loops at ${INTERVAL_US} us, prio $PRIO, cpu $CPU"
jq -cn --argjson cp99 "$cp99" --argjson cmax "$cmax" \
	--argjson tp99 "$tp99" --argjson tmax "$tmax" \
	--argjson sp99 "$sp99" --argjson smax "$smax" --argjson ep99 "$ep99" \
	--argjson loops "$LOOPS" --argjson rounds "$ROUNDS" '{
	bench: "latency", rounds: $rounds, loops: $loops,
	cyclictest_p99_us: $cp99, cyclictest_max_us: $cmax,
	ttwsd_p99_us: $tp99, ttwsd_max_us: $tmax,
	p99_ratio: (if $cp99 > 0 then ($tp99 / $cp99 * 1000 | round / 1000) else null end),
	max_ratio: (if $cmax > 0 then ($tmax / $cmax * 1000 | round / 1000) else null end),
	ttwsd_spin_p99_us: $sp99, ttwsd_spin_max_us: $smax,
	ttwsd_epoll_p99_us: $ep99 }'
