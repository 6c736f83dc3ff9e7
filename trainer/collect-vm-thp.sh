#!/bin/bash
# thp_fault data under fragmentation, inside the 1 GB QEMU guest (patched 6.12, no policy
# attached): dense and sparse MADV_HUGEPAGE faulters with the memory scattered by unmovable
# pipe pages (vmdemo fragment, as in `make demo-vm`) and, for contrast, unfragmented.
# The *-nothp-* runs fault the same regions with 4 KB pages (PR_SET_THP_DISABLE) so that
# every region gets a density label (a region that gets a huge page at its first fault
# cannot be measured, docs/dataset.md); under scatter most THP faults fall back anyway.
#
#   make kernel
#   selftests/vm/run-vm.sh BZIMAGE OUT script FRAGML_SCRIPT=$PWD/trainer/collect-vm-thp.sh \
#       FMW=$PWD/C/.bin/fmw-real NOTHP=$PWD/C/.bin/nothp      (C: trainer/collect-real.sh C)
#   OWN_COMMS='^(fmw-real|nothp)$' trainer/merge-collection.sh OUT/merged OUT/vm-*
#
# Needs trainer/collect-real.sh's OUT/.bin/fmw-real and OUT/.bin/nothp: FMW=, NOTHP= on the
# kernel command line (absolute paths the guest sees over 9p).  ~4 min under TCG.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build/bin
V=$top/build/selftests/vm/vmdemo
W=${FMW:?collect-vm-thp.sh: FMW=<collect-real.sh OUT>/.bin/fmw-real on the kernel command line}
N=${NOTHP:?collect-vm-thp.sh: NOTHP=<collect-real.sh OUT>/.bin/nothp on the kernel command line}
O=/tmp/out
echo "# guest $(uname -r) mem $(awk '/MemTotal/{print $2}' /proc/meminfo) kB THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
echo "$(uname -r) (QEMU guest, 1 GB, patched kernel, observe mode)" > $O/kernel
date -u +%FT%TZ > $O/started
order9_free() { awk '{ s = 0; for (i = 14; i <= NF; i++) s += $i * 2 ^ (i - 14); t += s } END { print t + 0 }' /proc/buddyinfo; }
col() {	# name, then the command
	local n=$1 t0=$(date +%s)
	shift
	echo "# $n: free order>=9 blocks before: $(order9_free)"
	$B/fragml-collect -q -o $O/$n -w $n -T 2 -s 16 -- "$@" >$O/$n.log 2>&1
	echo "# $n rc=$? $(( $(date +%s) - t0 )) s: $(tail -1 $O/$n.log)"
	grep -E '^(compact_stall|compact_fail|compact_success|thp_fault_alloc|thp_fault_fallback) ' /proc/vmstat | tr '\n' ' '; echo
}
pass() {	# prefix mb
	local p=$1 mb=$2
	col $p-dense $W --seed 7 --mb $mb --hold 1 thp-dense
	col $p-sparse $W --seed 7 --mb $mb --hold 1 thp-sparse
	col $p-nothp-dense $N $W --seed 8 --mb $((mb / 2)) --hold 1 thp-dense
	col $p-nothp-sparse $N $W --seed 8 --mb $((mb / 2)) --hold 1 thp-sparse
}
ulimit -n 200000 2>/dev/null || ulimit -n 65536
$V fragment ${FRAG_PIPES:-60000} /tmp/frag.ready & frag=$!
for _ in $(seq 600); do [ -e /tmp/frag.ready ] && break; sleep 0.5; done
echo "# scatter: ${FRAG_PIPES:-60000} pipes, 1 in 8 kept; unusable index:"; sed 's/^/#   /' /sys/kernel/debug/extfrag/unusable_index
pass vm-frag 384
kill $frag; wait $frag 2>/dev/null
echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory
pass vm-clean 256
date -u +%FT%TZ > $O/finished
exit 0
