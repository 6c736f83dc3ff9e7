#!/bin/bash
# `make stress` (not in CI): the figures of docs/operator.md "Stress".
#
#   stress.sh BZIMAGE OUTDIR NAME=VALUE...   (the VM environment, as run-vm.sh)
#
# 1. In the patched kernel (QEMU): FRAGML_STRESS_SWAPS (10000) thp_fault model
#    swaps while two children fault huge pages (selftests/vm/stress_swap.c).
# 2. On the host: fragml-collect for STRESS_SECS (60; 600 for the 10-minute
#    run) while fragml-work drives page allocations, THP faults, pipes and
#    page-cache churn; the collector's BPF maps, their memlock (fdinfo) and
#    its RSS are read from the kernel every 10 s; lost records must be 0.
# Exit status: non-zero when either part failed.
set -uo pipefail
bz=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
secs=${STRESS_SECS:-60}
swaps=${FRAGML_STRESS_SWAPS:-10000}
bin=
for kv in "$@"; do case $kv in FRAGML_BIN=*) bin=${kv#FRAGML_BIN=} ;; esac; done
testdir=
for kv in "$@"; do case $kv in FRAGML_TESTDIR=*) testdir=${kv#FRAGML_TESTDIR=} ;; esac; done
mkdir -p "$out"
rc=0

echo "== stress 1/2: $swaps model swaps under a faulting workload (patched kernel, QEMU) =="
FRAGML_VM_TIMEOUT=${FRAGML_VM_TIMEOUT:-3600} "$here/run-vm.sh" "$bz" "$out/vm" script \
	FRAGML_SCRIPT="$testdir/stress_swap" FRAGML_STRESS_SWAPS="$swaps" "$@" | tee "$out/vm.txt"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1

echo "== stress 2/2: ${secs} s host collection at a high event rate =="
if [ "$(id -u)" != 0 ]; then
	echo "stress: the host collection needs root"; exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
work="$bin/fragml-work"
"$bin/fragml-collect" -q -d "$secs" -w stress -o "$out/collect" 2>"$out/collect.log" &
cpid=$!
sleep 3	# attached
# the workload: three loops until the collector stops
( while kill -0 $cpid 2>/dev/null; do "$work" --mb 256 --secs 10 malloc >/dev/null 2>&1; done ) &
w1=$!
( while kill -0 $cpid 2>/dev/null; do "$work" --mb 256 --secs 10 thp-sparse >/dev/null 2>&1; done ) &
w2=$!
( while kill -0 $cpid 2>/dev/null; do "$work" --mb 64 --secs 10 pipes >/dev/null 2>&1; done ) &
w3=$!
samples="$out/collect-usage.tsv"
printf 's\tbpf_maps\tmap_memlock_bytes\trss_kb\n' >"$samples"
t=0
while kill -0 $cpid 2>/dev/null; do
	maps=0 mem=0
	for fd in /proc/$cpid/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:bpf-map" ] || continue
		maps=$((maps + 1))
		m=$(awk '/^memlock:/ { print $2 }' "/proc/$cpid/fdinfo/${fd##*/}" 2>/dev/null)
		mem=$((mem + ${m:-0}))
	done
	rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$cpid/status 2>/dev/null)
	[ -n "$rss" ] && printf '%s\t%s\t%s\t%s\n' "$t" "$maps" "$mem" "$rss" >>"$samples"
	sleep 10; t=$((t + 10))
done
wait $cpid; crc=$?
kill $w1 $w2 $w3 2>/dev/null; wait $w1 $w2 $w3 2>/dev/null
cat "$out/collect.log"
column -t "$samples" | sed 's/^/# /'
lost=$(sed -n 's/.* events, \([0-9]*\) lost,.*/\1/p' "$out/collect.log" | tail -1)
events=$(sed -n 's/.*s, \([0-9]*\) events,.*/\1/p' "$out/collect.log" | tail -1)
first=$(awk -F'\t' 'NR == 2 { print $2 " " $3 }' "$samples")
last=$(awk -F'\t' 'END { print $2 " " $3 }' "$samples")
echo "# host: ${events:-?} events in ${secs} s ($(( ${events:-0} / secs ))/s), lost ${lost:-?};" \
	"collector maps/memlock first sample $first, last $last"
[ "$crc" = 0 ] && [ "${lost:-1}" = 0 ] && [ "$first" = "$last" ] || { echo "stress: host part failed"; rc=1; }
exit $rc
