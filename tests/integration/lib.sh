# Shared by the integration scripts and benchmarks: source it.

# wait_for SECONDS COMMAND...: run COMMAND every 20 ms until it succeeds
# (0) or SECONDS have passed (1). Its output is discarded.
wait_for() {
	local n=$(($1 * 50))
	shift
	while ((n-- > 0)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.02
	done
	return 1
}
