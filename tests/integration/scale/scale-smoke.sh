#!/usr/bin/env bash
# The scale bench's N = 2 run as a smoke test (issue 13, Tests): runs
# tests/bench/scale.sh for two pairs and an 8 s window, then checks what
# does not depend on the machine's timing:
#   - its last line is JSON with bench "scale", the per-N object of N = 2
#     with every figure a number, and a targets object;
#   - both pairs were rendered: the simulator's report has two pairs,
#     each with frames rendered by both ears;
#   - no frame lost (sent by ttwsd and received by no earbud), per pair
#     and in the bench's figure.
# No timing ratio is asserted: the bench reports them, a loaded test
# machine would make them flake.
#
#   scale-smoke.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)

for t in pipewire pw-cli pw-cat pw-link busctl jq; do
	command -v "$t" >/dev/null || { echo "SKIP: $t not installed"; exit 77; }
done
grep -q '^#define HAVE_PIPEWIRE 1' "$BUILD/config.h" ||
	{ echo "SKIP: built without PipeWire"; exit 77; }

keep=$(mktemp -d /tmp/ttws-scale-smoke.XXXXXX)
trap 'rm -rf "$keep"' EXIT
fail() {
	echo "FAIL: $*" >&2
	tail -n 30 "$keep/out" >&2 || true
	exit 1
}

SCALE_N=2 SCALE_SECONDS=8 SCALE_KEEP=$keep \
	bash "$ROOT/tests/bench/scale.sh" "$BUILD" >"$keep/out" 2>&1 ||
	fail "scale.sh failed"
cat "$keep/out"
line=$(tail -n 1 "$keep/out")
jq -e '.bench == "scale" and (.pairs | keys) == ["2"] and
	(.pairs["2"] | [.cpu_pct, .p99_us, .wakeup_p99_us, .lost, .late] |
		all(type == "number")) and
	(.targets | type == "object" and length >= 4)' <<<"$line" >/dev/null ||
	fail "not the bench's JSON line: $line"
jq -e '.pairs["2"].lost == 0' <<<"$line" >/dev/null ||
	fail "frames lost: $(jq -c '.pairs["2"]' <<<"$line")"

r=$keep/2/report.json
[[ -s $r ]] || fail "no report kept"
jq -e '(.pairs | map(.name)) == ["p0","p1"] and
	all(.pairs[]; .frames.rendered_left > 0 and .frames.rendered_right > 0
		and .frames.both > 0 and .frames.lost == 0)' "$r" >/dev/null ||
	fail "not both pairs rendered without loss: $(jq -c '[.pairs[] | {name, frames}]' "$r")"
echo "scale-smoke: ok"
