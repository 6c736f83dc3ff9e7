#!/bin/bash
# Sanity comparison of fallback-gate policies inside the QEMU guest (patched
# 6.12), run by `make compare-gate` through selftests/vm/run-vm.sh: for each
# seed, the same workload (free memory scattered by fragml-work holes, then
# GATE_CMP_WORKLOAD) under no policy, the defrag_mode-style rule
# (build/models/defrag_mode.bin) and the learned model
# (model/defaults/fallback.bin), in turn.  One line per run from gate_compare
# (selftests/vm/gate_compare.c) with the allocator's counters.
#
# Kernel command line: FRAGML_BIN, FRAGML_TESTDIR, FRAGML_MODELS_DIR (the
# repository's model/), GATE_SEEDS (1,2,3), GATE_CMP_WORKLOAD (pipes),
# GATE_CMP_STRIDE (holes frees 1 page in this many, 4), GATE_PCP_FRACTION
# (vm.percpu_pagelist_high_fraction, 100000 as in the collection; 0 = default).
set -u
B=${FRAGML_BIN:?} T=${FRAGML_TESTDIR:?} M=${FRAGML_MODELS_DIR:?}
seeds=${GATE_SEEDS:-1,2,3}
w=${GATE_CMP_WORKLOAD:-pipes}
stride=${GATE_CMP_STRIDE:-4}
rule=$B/../models/defrag_mode.bin learned=$M/defaults/fallback.bin

echo "# guest $(uname -r), $(nproc) CPUs, MemTotal $(awk '/MemTotal/{print $2}' /proc/meminfo) kB, swap $(awk 'NR>1' /proc/swaps | wc -l) devices"
echo 1048576 > /proc/sys/fs/nr_open
echo 2000000 > /proc/sys/fs/file-max
ulimit -n 400000
mkdir -p /tmp/d
echo "${GATE_PCP_FRACTION:-100000}" > /proc/sys/vm/percpu_pagelist_high_fraction
echo "# workload $w, holes stride $stride, percpu_pagelist_high_fraction $(cat /proc/sys/vm/percpu_pagelist_high_fraction)"
case $w in
pipes)      args="--count 30000 --keep 1 --hold 1 pipes" ;;
sockets)    args="--count 20000 --keep 1 --hold 1 sockets" ;;
files)      args="--count 40000 --hold 1 --dir /tmp/d files" ;;
pagetables) args="--mb 48 --hold 1 pagetables" ;;
*) echo "# unknown workload $w"; exit 1 ;;
esac

for s in ${seeds//,/ }; do
	for pol in none rule learned; do
		"$B/fragml" detach >/dev/null 2>&1
		case $pol in
		rule)    "$B/fragml-load" -q "$rule" || { echo "# fragml-load $rule failed"; exit 1; } ;;
		learned) "$B/fragml-load" -q "$learned" || { echo "# fragml-load $learned failed"; exit 1; } ;;
		esac
		sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory
		free_mb=$(( $(awk '/MemFree/{print $2}' /proc/meminfo) / 1024 ))
		"$B/fragml-work" --seed "$s" --stride "$stride" --mb $(( free_mb * 95 / 100 )) --hold 600 holes >/tmp/holes.log 2>&1 &
		hp=$!
		for _ in $(seq 600); do grep -q ready /tmp/holes.log 2>/dev/null && break; kill -0 $hp 2>/dev/null || break; sleep 0.5; done
		grep -q ready /tmp/holes.log || { echo "# holes failed: $(cat /tmp/holes.log)"; exit 1; }
		t0=$(date +%s%N)
		# shellcheck disable=SC2086
		line=$("$T/gate_compare" "$pol seed=$s" -- "$B/fragml-work" --seed "$s" $args 2>&1 | tail -1)
		echo "$line ms=$(( ($(date +%s%N) - t0) / 1000000 ))"
		kill $hp; wait $hp 2>/dev/null
		rm -rf /tmp/d/*
	done
done
"$B/fragml" detach >/dev/null 2>&1
exit 0
