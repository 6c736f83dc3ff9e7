#!/bin/bash
# Guest script: what loading the three shipped models costs a workload in
# free memory (docs/performance.md "What a workload loses"), per model and
# over three load/detach rounds: MemFree plus the free pages on the per-CPU
# lists (zoneinfo "count:"), with VmallocUsed, Slab and Percpu, each after
# dropping caches three times.  Run it with
#   selftests/vm/run-vm.sh BZIMAGE OUTDIR script FRAGML_SCRIPT=$PWD/selftests/vm/footprint-rounds.sh FRAGML_BIN=$PWD/build/bin
# and read OUTDIR/output.txt.
b=${FRAGML_BIN:?}
dir=$(cd "$(dirname "$0")/../.." && pwd)

snap() {
	for _ in 1 2 3; do sync; echo 3 > /proc/sys/vm/drop_caches; sleep 1; done
	awk '$1 == "count:" { c += $2 } END { printf "pcp %6d kB  ", c * 4 }' /proc/zoneinfo
	awk '/^(MemFree|VmallocUsed|Slab|Percpu):/ { printf "%s %7d  ", $1, $2; if ($1 == "MemFree:") f = $2 }
	     END { printf "| free + pcp %d kB", f + pcp }' pcp="$(awk '$1 == "count:" { c += $2 } END { print c * 4 }' /proc/zoneinfo)" /proc/meminfo
	echo "  <- $1"
}

for round in 1 2 3; do
	echo "== round $round"
	snap start
	for m in lifetime thp_fault compaction; do
		"$b/fragml-load" -q "$dir/model/defaults/$m.bin" || { echo "fragml-load $m.bin failed"; exit 1; }
		snap "$m loaded"
	done
	"$b/fragml" status | grep '^kernel memory'
	"$b/fragml" detach >/dev/null 2>&1
	snap detached
done
