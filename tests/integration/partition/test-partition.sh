#!/usr/bin/env bash
# The RT thread alone on an isolated CPU, on a real kernel: trixie-
# backports' kernel in qemu with 2 CPUs (tests/vm), cgroup2 mounted,
# ttws-cgroup unit-setup run in a service cgroup shaped like systemd's,
# ttwsd --latency-test in it as user ttws, its RT thread joining rt by
# itself (partition-run). Asserted: the partition reads "isolated" (valid)
# on the highest CPU; the RT thread's cgroup is .../rt and it may run only
# there; ttwsd's main thread and a busy process of the rest of the system
# may not; ttwsd's RT report says all that; unit-teardown undoes it.
#
#   test-partition.sh [-k default|new|SUITE] BUILD_DIR
#
# 77 = skipped: qemu cannot run here, or a sanitizer build (the plain
# build runs this).
set -euo pipefail
usage() { echo "usage: test-partition.sh [-k default|new|SUITE] BUILD_DIR" >&2; exit 2; }
kernel=new
while getopts k: opt; do
	case $opt in
	k) kernel=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
(($# == 1)) || usage
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
VM=$ROOT/tests/vm
BUILD=$(realpath "$1")
OUT=$BUILD/vm-partition
[[ $kernel == new ]] || OUT=$BUILD/vm-partition-$kernel
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: partition: $*" >&2; echo "$r" | jq . >&2 || true; exit 1; }

if ldd "$BUILD/src/daemon/ttwsd" 2>/dev/null | grep -q libasan; then
	echo "partition: skipped in the sanitizer build (the plain build runs it)"
	exit 77
fi
mkdir "$tmp/payload"
cp "$BUILD/src/daemon/ttwsd" "$ROOT/cgroup/ttws-cgroup" "$tmp/payload/"
install -m 0755 "$HERE/partition-run" "$tmp/payload/run"
"$VM/build.sh" -k "$kernel" -o "$OUT" "$tmp/payload"
rc=0
"$VM/run.sh" -t 40 -l "$OUT/console.log" "$OUT" >"$tmp/result" || rc=$?
((rc == 77)) && exit 77
r=$(tail -n 1 "$tmp/result")
[[ -n $r ]] || fail "no result (run.sh exited $rc)"
((rc == 0)) || fail "run.sh exited $rc"
j() { jq -r "$1" <<<"$r"; }
echo "partition: kernel $(j .kernel), CPUs $(j .cpus), partition \"$(j .partition)\""

last=$(j .cpus | tr ',-' '\n\n' | tail -n 1)
[[ $(j .get_rt_cpu) == auto || $(j .get_rt_cpu) == -2 ]] || fail "ttwsd --get rt.cpu: $(j .get_rt_cpu)"
(($(j .setup_rc) == 0)) || fail "unit-setup exited $(j .setup_rc): $(j .setup)"
[[ $(j .partition) == isolated ]] || fail "partition reads \"$(j .partition)\""
[[ $(j .rt_effective) == "$last" ]] || fail "rt has CPUs $(j .rt_effective), not $last"
[[ $(j .exclusive) == "$last" ]] || fail "exclusive CPUs $(j .exclusive)"
# The service cgroup and the rest of the system lost that CPU.
for f in svc_effective root_effective busy_allowed; do
	j ".$f" | tr ',' '\n' | awk -F- -v c="$last" \
		'{ if ((NF == 1 && $1 == c) || (NF == 2 && $1 <= c && c <= $2)) bad = 1 }
		 END { exit bad }' || fail "$f ($(j ".$f")) includes CPU $last"
done
# ttwsd's threads: the RT one in rt on the partition's CPU, the others
# (main) in the service cgroup, not allowed there.
pid=$(j .pid)
n_rt=$(j "[.threads[] | select(.cgroup | endswith(\"/ttwsd.service/rt\"))] | length")
((n_rt == 1)) || fail "$n_rt threads in rt"
[[ $(j '.threads[] | select(.cgroup | endswith("/rt")) | .allowed') == "$last" ]] ||
	fail "the RT thread may run on $(j '.threads[] | select(.cgroup | endswith("/rt")) | .allowed')"
[[ $(j ".threads[] | select(.tid == $pid) | .cgroup") == /ttws-rt.slice/ttwsd.service ]] ||
	fail "main thread in $(j ".threads[] | select(.tid == $pid) | .cgroup")"
[[ $(j ".threads[] | select(.tid == $pid) | .allowed") != *"$last"* ]] ||
	[[ $(j ".threads[] | select(.tid == $pid) | .allowed") == *-* ]] ||
	fail "main thread allowed on $last"
# ttwsd's own report, as ttwsctl status shows it.
(($(j .ttwsd_rc) == 0)) || fail "ttwsd exited $(j .ttwsd_rc)"
[[ $(j .report.rt.partition.status) == ok ]] || fail "report: partition $(j .report.rt.partition.status)"
[[ $(j .report.rt.partition.joined) == /ttws-rt.slice/ttwsd.service/rt ]] || fail "report: joined $(j .report.rt.partition.joined)"
[[ $(j .report.rt.partition.raw) == isolated ]]
[[ $(j .report.rt.partition.type) == isolated && $(j .report.rt.partition.valid) == true ]]
[[ $(j .report.rt.affinity.status) == ok && $(j .report.rt.affinity.cpu) == "$last" ]] ||
	fail "report: affinity $(j .report.rt.affinity)"
[[ $(j .report.rt.affinity.auto) == true ]]
[[ $(j .report.rt.cgroup.path) == /ttws-rt.slice/ttwsd.service/rt ]]
# RT throttling as the kernel has it (Debian's 7.3: runtime = period).
[[ $(j .report.rt.rt_throttle.runtime_us) == $(j .rt_runtime_us) &&
   $(j .report.rt.rt_throttle.period_us) == $(j .rt_period_us) ]] ||
	fail "report: rt throttling $(j .report.rt.rt_throttle)"
case $(j .rt_runtime_us) in
-1) want=off ;;
"$(j .rt_period_us)") want=full ;;
0) want=starved ;;
*) want=on ;;
esac
[[ $(j .report.rt.rt_throttle.state) == "$want" ]] || fail "report: throttling state $(j .report.rt.rt_throttle.state), not $want"
# systemd's control processes can join <service>/.control (threaded by
# unit-setup), where a fresh domain child refuses them.
[[ $(j .control_move) == ok && $(j .control_type) == threaded ]] ||
	fail "a process cannot join .control ($(j .control_type)): $(j .control_move)"
(($(j .teardown_rc) == 0)) || fail "unit-teardown exited $(j .teardown_rc): $(j .teardown)"
[[ $(j .rt_left) == false ]] || fail "unit-teardown left rt"
echo "partition: RT thread alone on CPU $last (isolated); main thread on $(j ".threads[] | select(.tid == $pid) | .allowed"), busy process on $(j .busy_allowed)"
echo "partition: rt throttling $(j .rt_runtime_us)/$(j .rt_period_us) us, fair server runtime $(j .fair_server_runtime) ns"
echo "partition: a process in a fresh domain child of the service cgroup: $(j .plain_move) ($(j .plain_type))"
echo "partition: ok"
