#!/usr/bin/env bash
# ttws-cgroup against directories laid out like a cgroup2 hierarchy (this
# machine's real one has no cpuset controller): the files it writes for
# the threaded rt child and its partition, the exclusive CPUs up the chain
# (a "6.7" tree has cpuset.cpus.exclusive, a "6.1" tree not), the chown to
# the service user, teardown, and the refusals with their reasons; then
# `check` on the real hierarchy, which must explain rather than fail
# obscurely. What the kernel makes of it is tests/integration/partition.
set -euo pipefail
SCRIPT=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: cgroup: $*" >&2; exit 1; }
# The service user: anyone but root will do to see the chown.
user=nobody
id "$user" >/dev/null 2>&1 || user=$(awk -F: '$3 != 0 { print $1; exit }' /etc/passwd)

# A cgroupfs creates a cgroup's files on mkdir; emulate the ones read.
mkcg() { # dir [exclusive]
	mkdir -p "$1"
	for f in cgroup.procs cgroup.threads cgroup.subtree_control \
		 cpuset.cpus cpuset.mems; do
		: >"$1/$f"
	done
	echo domain >"$1/cgroup.type"
	echo 0 >"$1/cpuset.mems.effective"
	[[ ${2:-} != exclusive ]] || : >"$1/cpuset.cpus.exclusive"
}
tree() { # root [exclusive]
	rm -rf "$1"
	mkcg "$1" "${2:-}"
	rm -f "$1/cpuset.cpus.exclusive" # the root cgroup has none
	echo "cpuset cpu memory" >"$1/cgroup.controllers"
	mkcg "$1/ttws-rt.slice" "${2:-}"
	mkcg "$1/ttws-rt.slice/ttwsd.service" "${2:-}"
	mkcg "$1/ttws-rt.slice/ttwsd.service/rt" "${2:-}"
}
# cgroupfs removes a cgroup's files with it; plain directories need -r.
mkdir "$tmp/bin"
cat >"$tmp/bin/rmdir" <<EOF
#!/bin/sh
case \$1 in $tmp/*) exec rm -r "\$1" ;; esac
echo "test rmdir: \$1 is outside $tmp" >&2
exit 1
EOF
chmod +x "$tmp/bin/rmdir"
export PATH=$tmp/bin:$PATH
echo 0-3 >"$tmp/online"
cat >"$tmp/ttwsd" <<'EOF'
#!/bin/sh
# Stands in for `ttwsd --config FILE --get rt.cpu`.
[ "$1 $3 $4" = "--config --get rt.cpu" ] || { echo "bad args: $*" >&2; exit 2; }
cat "$2"
EOF
chmod +x "$tmp/ttwsd"
run() { # root config-value args...
	local root=$1 value=$2
	shift 2
	echo "$value" >"$tmp/conf"
	TTWS_CGROUP_ROOT=$root TTWS_CGROUP_SELF=/ttws-rt.slice/ttwsd.service \
		TTWS_USER=$user TTWSD=$tmp/ttwsd TTWS_CPU_ONLINE=$tmp/online \
		"$SCRIPT" "$@"
}

# unit-setup on a "6.7" tree: threaded rt, cpuset enabled on the way
# down, the CPU exclusive from the top level down, isolated, chown.
# Under ttwsd.service's UMask=0027 (ExecStartPre=+ keeps it) and with an
# rt left drwx------ by an earlier run: rt and .control come out 0755,
# or user ttws cannot enter rt to write its cgroup.threads (EACCES).
root=$tmp/new
tree "$root" exclusive
svc=$root/ttws-rt.slice/ttwsd.service
chmod 0700 "$svc/rt"
(umask 077 && run "$root" auto unit-setup --config "$tmp/conf") >"$tmp/out"
[[ $(stat -c %a "$svc/rt") == 755 ]] || fail "rt is $(stat -c %a "$svc/rt"), not 755"
[[ $(stat -c %a "$svc/.control") == 755 ]] || fail ".control is $(stat -c %a "$svc/.control"), not 755"
[[ $(cat "$svc/rt/cgroup.type") == threaded ]] || fail "rt not threaded"
[[ $(cat "$svc/rt/cpuset.cpus") == 3 ]] || fail "auto is not the highest CPU"
[[ $(cat "$svc/rt/cpuset.mems") == 0 ]]
[[ $(cat "$svc/rt/cpuset.cpus.partition") == isolated ]] || fail "not isolated"
for d in "$root" "$root/ttws-rt.slice" "$svc"; do
	grep -qx "+cpuset" "$d/cgroup.subtree_control" || fail "no +cpuset in $d"
done
for d in "$root/ttws-rt.slice" "$svc" "$svc/rt"; do
	[[ $(cat "$d/cpuset.cpus.exclusive") == 3 ]] || fail "exclusive of $d"
done
[[ $(stat -c %U "$svc/rt/cgroup.threads") == "$user" ]] || fail "rt/cgroup.threads not chowned"
[[ $(stat -c %U "$svc/cgroup.threads") == "$user" ]] || fail "svc/cgroup.threads not chowned"
grep -q "partition=isolated" "$tmp/out"
# systemd's control processes go to .control: threaded, or refused.
[[ $(cat "$svc/.control/cgroup.type") == threaded ]] || fail ".control not threaded"
# No cpu.max: it does not bound SCHED_FIFO.
[[ ! -e $svc/rt/cpu.max ]] || fail "cpu.max written"
# An exclusive CPU of another child is kept when ours is added.
echo 1 >"$root/ttws-rt.slice/cpuset.cpus.exclusive"
run "$root" 2 unit-setup --config "$tmp/conf" >/dev/null
[[ $(cat "$root/ttws-rt.slice/cpuset.cpus.exclusive") == 1-2 ]] || fail "list_plus"
[[ $(cat "$svc/cpuset.cpus.exclusive") == 2-3 ]] || fail "list_plus svc"

# unit-teardown: partition off, CPU handed back bottom-up, rt gone.
run "$root" 2 unit-teardown >"$tmp/out"
[[ ! -d $svc/rt ]] || fail "rt not removed"
[[ $(cat "$root/ttws-rt.slice/cpuset.cpus.exclusive") == 1 ]] || fail "exclusive not handed back"
[[ $(cat "$svc/cpuset.cpus.exclusive") == 3 ]]
run "$root" 2 unit-teardown | grep -q "nothing to tear down"

# A "6.1" tree (no cpuset.cpus.exclusive): the same, nothing exclusive.
root=$tmp/old
tree "$root"
svc=$root/ttws-rt.slice/ttwsd.service
run "$root" 1 unit-setup --config "$tmp/conf" >/dev/null
[[ $(cat "$svc/rt/cpuset.cpus") == 1 ]]
[[ ! -e $svc/rt/cpuset.cpus.exclusive ]] || fail "exclusive on a 6.1 tree"
# -2 is how ttwsd spells auto internally; -1: no partition at all.
run "$root" -2 unit-setup --config "$tmp/conf" >/dev/null
[[ $(cat "$svc/rt/cpuset.cpus") == 3 ]] || fail "-2 is not auto"
tree "$root"
rm -rf "$svc/rt"
run "$root" -1 unit-setup --config "$tmp/conf" | grep -q "no partition"
[[ ! -d $svc/rt ]] || fail "rt made for cpu = -1"

# Refusals, each with its reason.
refused() { # expected-text root value args...
	local want=$1
	shift
	if run "$@" >"$tmp/out" 2>"$tmp/err"; then
		fail "accepted: $*"
	fi
	grep -q "$want" "$tmp/err" || { cat "$tmp/err" >&2; fail "no '$want' for $*"; }
}
echo 0 >"$tmp/online"
refused "at least two online CPUs" "$root" auto unit-setup --config "$tmp/conf"
refused "only online CPU" "$root" 0 unit-setup --config "$tmp/conf"
echo 0-3 >"$tmp/online"
refused "is not online" "$root" 7 unit-setup --config "$tmp/conf"
refused "not auto, -1 or a CPU number" "$root" bogus unit-setup --config "$tmp/conf"
refused "usage" "$root" 1 unit-setup
echo "cpu memory" >"$root/cgroup.controllers"
refused "cpuset controller is not available" "$root" 1 unit-setup --config "$tmp/conf"
grep -q "fix:" "$tmp/err"

# Without systemd: setup builds ttws.rt with the same rt child and moves
# the PIDs into ttws.rt (the RT thread joins rt itself).
root=$tmp/plain
rm -rf "$root"
mkcg "$root"
rm -f "$root/cpuset.cpus.exclusive"
echo "cpuset cpu memory" >"$root/cgroup.controllers"
mkcg "$root/ttws.rt" exclusive
mkcg "$root/ttws.rt/rt" exclusive
TTWS_CGROUP_ROOT=$root TTWS_USER=$user TTWS_CPU_ONLINE=$tmp/online \
	"$SCRIPT" setup 1 4242 >"$tmp/out"
[[ $(cat "$root/ttws.rt/rt/cgroup.type") == threaded ]]
[[ $(cat "$root/ttws.rt/rt/cpuset.cpus") == 1 ]]
[[ $(cat "$root/ttws.rt/rt/cpuset.cpus.partition") == isolated ]]
[[ $(cat "$root/ttws.rt/cpuset.cpus.exclusive") == 1 ]]
[[ $(cat "$root/ttws.rt/cgroup.procs") == 4242 ]]
[[ ! -e $root/ttws.rt/cpu.max ]] || fail "setup wrote cpu.max"
TTWS_CGROUP_ROOT=$root "$SCRIPT" check >"$tmp/check" || fail "check: $(cat "$tmp/check")"
grep -q "cpuset.cpus.partition: isolated" "$tmp/check"
grep -q "rt throttling:" "$tmp/check"
# check says when the partition is not valid (as the kernel would write
# it) and explains RT throttling from the sysctls.
echo "isolated invalid (Parent is not a partition root)" \
	>"$root/ttws.rt/rt/cpuset.cpus.partition"
mkdir -p "$tmp/sys/kernel"
echo -1 >"$tmp/sys/kernel/sched_rt_runtime_us"
echo 1000000 >"$tmp/sys/kernel/sched_rt_period_us"
set +e
TTWS_CGROUP_ROOT=$root TTWS_PROC_SYS=$tmp/sys "$SCRIPT" check >"$tmp/check"
rc=$?
set -e
((rc == 4)) || fail "check of an invalid partition exited $rc"
grep -q "NOT a valid partition" "$tmp/check"
grep -q "Parent is not a partition root" "$tmp/check"
grep -q "rt throttling: OFF" "$tmp/check"
echo 950000 >"$tmp/sys/kernel/sched_rt_runtime_us"
TTWS_CGROUP_ROOT=$root TTWS_PROC_SYS=$tmp/sys "$SCRIPT" check >"$tmp/check" || true
grep -q "other 50000 us go to other tasks" "$tmp/check"
TTWS_CGROUP_ROOT=$root "$SCRIPT" teardown >/dev/null
[[ ! -d $root/ttws.rt ]] || fail "teardown left ttws.rt"

# The real hierarchy: check must run and explain, whatever it finds.
set +e
"$SCRIPT" check >"$tmp/real" 2>&1
rc=$?
set -e
grep -q "cgroup2 root:\|no cgroup v2 hierarchy" "$tmp/real"
((rc == 0 || rc == 1 || rc == 2 || rc == 3 || rc == 4))
echo "cgroup: ok"
