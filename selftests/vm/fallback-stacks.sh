#!/bin/sh
# Guest script: where the fallback gate test's mixing fallbacks come from
# (docs/report-gate.md "Where the remaining fallbacks come from").  The
# workload of gate.forced_actions_enforced (anonymous memory with every other
# page freed, then one page per pipe) runs four times: no policy, forced
# defer, forced defer with small per-CPU lists, no policy with small lists.
# Each run prints the gate's /proc/vmstat deltas, the number of
# mm_page_alloc_extfrag events that left a block's type unchanged, and the
# kernel stacks (tracefs stacktrace trigger, first 3000) of the non-movable
# ones, grouped by their first five frames outside the page allocator.
# Run it with
#   [FRAGML_VM_MACHINE=pc,max-ram-below-4g=512M] selftests/vm/run-vm.sh BZIMAGE OUTDIR script \
#       FRAGML_SCRIPT=$PWD/selftests/vm/fallback-stacks.sh FRAGML_BIN=$PWD/build/bin
# and read OUTDIR/output.txt.
cd /tmp
B=${FRAGML_BIN:?}
T=/sys/kernel/tracing
echo 4096 > $T/buffer_size_kb
g() { grep -E "^fallback_gate_" /proc/vmstat | tr '\n' ' '; echo; }
run() {
	echo "=== $1"
	sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory
	free_kb=$(awk '$1 == "MemFree:" { print $2 }' /proc/meminfo)
	mb=$((free_kb * 85 / 100 / 1024)); n=$((free_kb * 25 / 100 / 4))
	echo $((4 * n + 65536)) > /proc/sys/fs/file-max; echo $((4 * n + 65536)) > /proc/sys/fs/nr_open
	echo > $T/trace
	echo 'stacktrace:3000 if change_ownership == 0 && alloc_migratetype != 1' > $T/events/kmem/mm_page_alloc_extfrag/trigger
	echo 'change_ownership == 0' > $T/events/kmem/mm_page_alloc_extfrag/filter
	echo 1 > $T/events/kmem/mm_page_alloc_extfrag/enable
	g > /tmp/g0
	awk '$1 == "high:" { h += $2; n++ } $1 == "batch:" { b += $2; m++ } END { printf "pcp: mean high %d, mean batch %d\n", h / n, b / m }' /proc/zoneinfo
	$B/fragml-work --mb $mb --hold 600 holes > /tmp/holes.out 2>&1 &
	hp=$!
	i=0; while ! grep -q ready /tmp/holes.out 2>/dev/null && [ $i -lt 240 ]; do sleep 0.5; i=$((i+1)); done
	ulimit -n $((2 * n + 1024))
	$B/fragml-work --count $n --keep 1 --hold 2 pipes > /dev/null 2>&1
	kill $hp; wait $hp 2>/dev/null
	echo 0 > $T/events/kmem/mm_page_alloc_extfrag/enable
	echo '!stacktrace:3000 if change_ownership == 0 && alloc_migratetype != 1' > $T/events/kmem/mm_page_alloc_extfrag/trigger
	g > /tmp/g1
	paste -d' ' /tmp/g0 /tmp/g1 | awk '{ n = NF / 2; for (i = 1; i < n; i += 2) printf "%s %d  ", $i, $(n + i + 1) - $(i + 1); print "" }'
	echo "events: $(grep -c 'mm_page_alloc_extfrag:' $T/trace)  non-movable with stack: $(grep -c '<stack trace>' $T/trace)"
	grep -o 'alloc_order=[0-9]* fallback_order=[0-9]* pageblock_order=[0-9]* alloc_migratetype=[0-9]* fallback_migratetype=[0-9]*' $T/trace | sort | uniq -c | sort -rn | head -8
	# top call chains: frames of each stack joined, page allocator internals dropped
	awk 'function out() { if (ins) print s; s = ""; k = 0; ins = 0 }
	     /<stack trace>/ { out(); ins = 1; next }
	     ins && /=> / { f = $2; sub(/\+.*/, "", f)
			if (f ~ /^(_+rmqueue|rmqueue|get_page_from_freelist|_+alloc_pages|alloc_pages|_+alloc_frozen|trace|ftrace|event_|stack_trace|_+traceiter|steal_suitable|try_to_claim|try_to_steal|alloc_pages_mpol|_*folio_alloc|_+trace)/) next
			if (k < 5) { s = s f " "; k++ } next }
	     { out() }
	     END { out() }' $T/trace | sort | uniq -c | sort -rn | head -14
}
run "no policy"
$B/fragml-mkmodel --hook fallback --const defer -o /tmp/d.bin >/dev/null && $B/fragml-load -q --no-guard /tmp/d.bin
run "forced defer"
echo 100000 > /proc/sys/vm/percpu_pagelist_high_fraction
run "forced defer, per-CPU lists small (percpu_pagelist_high_fraction 100000)"
$B/fragml detach >/dev/null 2>&1
run "no policy, per-CPU lists small"
