#!/bin/bash
# Lifetime/thp_fault/compaction data under real memory pressure, inside the 1 GB QEMU guest
# (patched 6.12, no policy attached), for out-of-distribution checks of the shipped models:
#
#   make kernel
#   selftests/vm/run-vm.sh BZIMAGE OUT script FRAGML_SCRIPT=$PWD/trainer/collect-vm-guest.sh \
#       FMW=$PWD/C/.bin/fmw-real      (C: trainer/collect-real.sh C)
#   OWN_COMMS='^(fmw-real|vmdemo)$' trainer/merge-collection.sh OUT/merged OUT/vm-*
#   make models COLLECT_DIR=... EVAL_lifetime=OUT/merged
#
# Needs trainer/collect-real.sh's OUT/.bin/fmw-real (a renamed fragml-work): FMW=path on the
# kernel command line (an absolute path the guest sees over 9p).  ~3.5 min under TCG.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
B=$top/build/bin
V=$top/build/selftests/vm/vmdemo
W=${FMW:?collect-vm-guest.sh: FMW=<collect-real.sh OUT>/.bin/fmw-real on the kernel command line}
O=/tmp/out
echo "# guest $(uname -r) mem $(awk '/MemTotal/{print $2}' /proc/meminfo) kB THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
date -u +%FT%TZ > $O/started
cat > /tmp/scatter.sh <<S
#!/bin/bash
# scatter.sh KIND N MB: build the scatter, then fault MB (and MB/2) of MADV_HUGEPAGE memory
k=\$1 n=\$2 mb=\$3
ulimit -n 200000 2>/dev/null || ulimit -n 65536
rm -f /tmp/ready; mkdir -p /tmp/d
case \$k in
vmdemo)	# every pipe held, then 7 of 8 closed: scattered unmovable pages
	$V fragment \$n /tmp/ready & p=\$!
	for i in \$(seq 600); do [ -e /tmp/ready ] && break; sleep 0.5; done ;;
*)	# fragml-work pipes or files; wait until MemFree settles
	$W --seed 7 --count \$n --hold 600 --dir /tmp/d \$k & p=\$!
	prev=0; for i in \$(seq 300); do sleep 1; f=\$(awk '/MemFree/{print \$2}' /proc/meminfo)
		[ \$i -gt 5 ] && [ \$((prev - f)) -lt 1000 ] && [ \$((f - prev)) -lt 1000 ] && break; prev=\$f; done ;;
esac
$W --seed 7 --mb \$mb --hold 1 thp-dense
[ \$k = pipes ] || $W --seed 8 --mb \$((mb / 2)) --hold 1 thp-dense
kill \$p; wait \$p 2>/dev/null
rm -rf /tmp/d
exit 0
S
chmod +x /tmp/scatter.sh
col() {	# name sample args of scatter.sh
	local n=$1 s=$2 t0=$(date +%s)
	shift 2
	$B/fragml-collect -q -o $O/$n -w $n -T 2 -s $s -- /tmp/scatter.sh "$@" >$O/$n.log 2>&1
	echo "# $n rc=$? $(( $(date +%s) - t0 )) s: $(tail -1 $O/$n.log)"
	grep -E '^(compact_stall|compact_fail|compact_success|thp_fault_alloc|thp_fault_fallback) ' /proc/vmstat | tr '\n' ' '; echo
	echo 3 > /proc/sys/vm/drop_caches
}
col vm-pipes-heavy 4 pipes 150000 384	# fragml-work pipes: closed at once, so packed, not scattered
col vm-pipes-light 4 pipes 50000 448
col vm-scatter-60k 16 vmdemo 60000 448	# 150000 pipes + the collector ran the guest out of memory
col vm-scatter-20k 16 vmdemo 20000 512
col vm-tmpfs 16 files 60000 448
date -u +%FT%TZ > $O/finished
exit 0
