# The scaffolding of the pairs tests (ctl-pairs.sh, pairs-e2e.sh): source
# it after setting ROOT. Sources tests/integration/lib.sh too.

# shellcheck source=../lib.sh
. "$ROOT/tests/integration/lib.sh"

# pairs_scaffold NAME: a fresh directory in $dir (/tmp/ttws-NAME.XXXXXX),
# the array pids (each process started there: add its pid), and on exit,
# TERM or INT: every pid stopped (TERM, then waited for) and $dir removed.
pairs_scaffold() {
	dir=$(mktemp -d "/tmp/ttws-$1.XXXXXX")
	pids=()
	trap pairs_cleanup EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
}

pairs_cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	rm -rf "$dir"
}

# fail MESSAGE: say it, then the last 20 lines of every log, error output
# and ttwsctl reply in $dir, and exit 1.
fail() {
	echo "FAIL: $*" >&2
	local f
	for f in "$dir"/*.log "$dir"/*.err "$dir"/out "$dir"/err; do
		[[ -s $f ]] || continue
		echo "---- ${f##*/}" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}
