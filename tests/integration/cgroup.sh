#!/usr/bin/env bash
# ttws-cgroup against a directory laid out like a cgroup2 hierarchy (this
# machine's real one has no cpuset controller), and `check` on the real
# hierarchy, which must say what is missing rather than fail obscurely.
set -euo pipefail
SCRIPT=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

root=$tmp/cg
mkdir -p "$root"
echo "cpuset cpu memory" >"$root/cgroup.controllers"
: >"$root/cgroup.subtree_control"
echo "0" >"$root/cpuset.mems.effective"
: >"$root/cgroup.procs"
# A cgroupfs creates these files itself on mkdir; emulate that.
mkdir -p "$root/ttws.rt"
for f in cpuset.cpus cpuset.mems cpuset.cpus.partition cpu.max cgroup.procs; do
	: >"$root/ttws.rt/$f"
done

TTWS_CGROUP_ROOT=$root "$SCRIPT" setup 1 4242 >"$tmp/out"
[[ $(cat "$root/ttws.rt/cpuset.cpus") == 1 ]]
[[ $(cat "$root/ttws.rt/cpuset.mems") == 0 ]]
[[ $(cat "$root/ttws.rt/cpuset.cpus.partition") == isolated ]]
[[ $(cat "$root/ttws.rt/cpu.max") == "90000 100000" ]]
[[ $(cat "$root/ttws.rt/cgroup.procs") == 4242 ]]
grep -qx "+cpuset +cpu" "$root/cgroup.subtree_control"
TTWS_CGROUP_ROOT=$root "$SCRIPT" check >"$tmp/check"
grep -q "cpuset.cpus: 1" "$tmp/check"

# Without the cpuset controller: refused, with the fix in words.
echo "cpu memory" >"$root/cgroup.controllers"
if TTWS_CGROUP_ROOT=$root "$SCRIPT" setup 1 2>"$tmp/err"; then
	echo "setup without cpuset succeeded" >&2
	exit 1
fi
grep -q "cpuset controller is not available" "$tmp/err"
grep -q "fix:" "$tmp/err"

# The real hierarchy: check must run and explain, whatever it finds.
set +e
"$SCRIPT" check >"$tmp/real" 2>&1
rc=$?
set -e
grep -q "cgroup2 root:\|no cgroup v2 hierarchy" "$tmp/real"
((rc == 0 || rc == 1 || rc == 2 || rc == 3))
echo "cgroup: ok"
