#!/usr/bin/env bash
# 100 reloads while streaming, half of them invalid (issue 14). ttwsd
# streams the test tone to the simulated pair; the test rewrites its
# configuration file 100 times and asks for a reload each time (`ttwsctl
# reload`, what `systemctl reload ttwsd` runs; every fifth by SIGHUP,
# whose answer is judged by the status's configuration generation, as
# the log rate-limits a flood of them),
# alternating:
#   - a valid file, with new values for live keys (the tones, the delay
#     ceiling, the back-off ceiling, the supervision time): the reload
#     succeeds, and `ttwsctl get` reads the new values back;
#   - the last valid file plus one bad line, of eight kinds: syntax (no
#     "=", an unclosed section), out of range, not a number, an unknown
#     estimator, an unknown key, an unknown section, a bad value for a
#     restart-only key: refused, the error naming ttwsd.conf and the bad
#     line's number (over D-Bus, and in every refusal the log shows),
#     and the running
#     values stay those of the last valid file.
# At the end the running configuration (ttwsctl get, and D-Bus Get) is
# the last valid file's, and the simulator's render log shows every frame
# of the run rendered by both ears, on time, none missing: no reload,
# good or bad, cost a frame.
#
#   reload.sh BUILD_DIR
set -euo pipefail
BUILD=$(realpath "$1")
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
# shellcheck source=faultlib.sh
. "$ROOT/tests/integration/faults/faultlib.sh"
faults_init reload
[[ -x $TTWSCTL ]] || { echo "SKIP: built without ttwsctl"; exit 77; }
export TTWS_CONTROL_SOCKET

start_pair
write_conf </dev/null
cp "$dir/ttwsd.conf" "$dir/base.conf"
start_ttwsd
TTWS_CONTROL_SOCKET=$dir/run/control
wait_for 10 both_streaming || fail "the ears did not stream"

# valid I: base + live keys at values unique to I. The keys, in order,
# and their values in the running configuration after it.
keys=(stream.tone_left_hz stream.tone_right_hz stream.delay_max_ms
	reconnect.backoff_max_ms sync.supervision_ms)
valid() {
	local i=$1
	cp "$dir/base.conf" "$dir/ttwsd.conf"
	cat >>"$dir/ttwsd.conf" <<CONF
[stream]
tone_left_hz = $((300 + i))
tone_right_hz = $((600 + i))
delay_max_ms = $((200 + i))
[reconnect]
backoff_max_ms = $((3000 + i))
[sync]
supervision_ms = $((1000 + i))
CONF
	want=("$((300 + i))" "$((600 + i))" "$((200 + i))" "$((3000 + i))" "$((1000 + i))")
	cp "$dir/ttwsd.conf" "$dir/last-valid.conf"
}
# invalid I: the last valid file and one bad line; bad_line is its number.
bad_kinds=("this line has no equals sign"
	"[stream"
	"[stream]
delay_max_ms = 5000"
	"[stream]
tone_left_hz = loud"
	"[servo]
estimator = bogus"
	"[stream]
speed = 11"
	"[nonsense]
key = 1"
	"[stream]
codec = mp3")
invalid() {
	local i=$1
	cp "$dir/last-valid.conf" "$dir/ttwsd.conf"
	printf '%s\n' "${bad_kinds[$(((i / 2) % ${#bad_kinds[@]}))]}" >>"$dir/ttwsd.conf"
	bad_line=$(wc -l <"$dir/ttwsd.conf")
}
generation() { stats | jq .config.generation; }
generation_above() { (($(generation) > $1)); }
running() { # the keys' running values, space-separated (one client)
	"$TTWSCTL" --json keys | jq -r --argjson k "$(printf '%s\n' "${keys[@]}" | jq -R . | jq -s .)" \
		'map({(.name): .value}) | add as $v | [$k[] | $v[.]] | join(" ")'
}

t_start=$(mono_ns)
refused=0 adopted=0
for i in $(seq 100); do
	if ((i % 2)); then
		valid "$i"
	else
		invalid "$i"
	fi
	if ((i % 5 == 0)); then
		# SIGHUP: its answer goes to the log, which rate-limits a
		# flood of them (10 per 5 s, log.h): judged by the generation
		# the status reports, and the log's refusals at the end.
		g0=$(generation)
		kill -HUP "$ttwsd_pid"
		if ((i % 2)); then
			wait_for 3 generation_above "$g0" ||
				fail "valid reload $i (SIGHUP) not adopted"
			adopted=$((adopted + 1))
		else
			sleep 0.1
			(($(generation) == g0)) ||
				fail "invalid reload $i (SIGHUP) adopted"
			refused=$((refused + 1))
		fi
	else
		ok=1
		out=$("$TTWSCTL" reload 2>&1) || ok=0
		if ((i % 2)); then
			((ok)) || fail "valid reload $i refused: $out"
			adopted=$((adopted + 1))
		else
			((ok == 0)) || fail "invalid reload $i (line $bad_line: ${bad_kinds[$(((i / 2) % ${#bad_kinds[@]}))]}) accepted: $out"
			[[ $out == *"ttwsd.conf:$bad_line:"* ]] ||
				fail "invalid reload $i: the error does not name ttwsd.conf:$bad_line: $out"
			refused=$((refused + 1))
		fi
	fi
	# What runs is the last valid file, whatever came since.
	got=$(running)
	[[ $got == "${want[*]}" ]] ||
		fail "after reload $i the running values are $got, not ${want[*]} (the last valid file's)"
done
t_end=$(mono_ns)
echo "$adopted reloads adopted, $refused refused with file:line, in $(((t_end - t_start) / 1000000)) ms"
# The last reload was an invalid one: D-Bus Get still reads the last
# valid values, key by key.
for k in "${!keys[@]}"; do
	[[ $(call Get s "${keys[$k]}") == "s \"${want[$k]}\"" ]] ||
		fail "D-Bus Get ${keys[$k]}: $(call Get s "${keys[$k]}"), want ${want[$k]}"
done
both_streaming || fail "an ear stopped streaming during the reloads"
# Each refusal the log shows names file:line (the SIGHUP ones included).
if grep 'reload refused' "$dir/ttwsd.log" | grep -Ev 'ttwsd\.conf:[0-9]+: ' >&2; then
	fail "a refusal in the log without file:line"
fi
sleep 0.5
stop "$ttwsd_pid"
ttwsd_pid=
sleep 0.3
stop "$sim_pid"
sim_pid=

# Every frame from the first reload to the last, rendered by both ears,
# on time.
judge_frames "$dir/render.csv" "$t_start" "$t_end" 0 ||
	fail "frames were lost or late during the reloads"
(($(jq '.ears.left.disconnects + .ears.right.disconnects' "$dir/stats.json") == 0)) ||
	fail "a link dropped during the reloads"
echo "reload: ok"
