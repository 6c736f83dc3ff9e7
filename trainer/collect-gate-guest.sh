#!/bin/bash
# Fallback-gate training data, inside the QEMU guest (patched 6.12), run by
# trainer/collect-gate.sh through selftests/vm/run-vm.sh.  For every workload
# and seed: scatter free memory over movable pageblocks (fragml-work holes,
# as selftests/vm/gate_test.c does, freeing 1 page in 2, 3 or 4 by seed),
# then run the workload under
# `fragml-collect --gate` with the gate exploring (a "fall back now" model
# plus GATE_EXPLORE ppm random actions).  Output: /tmp/out/<workload>-s<seed>/.
#
# Kernel command line (NAME=VALUE): FRAGML_BIN, GATE_SEEDS (1,2,3),
# GATE_WORKLOADS (pipes,sockets,files,pagetables), GATE_EXPLORE (500000),
# GATE_EXPLORE_ACTION (defer: the waiting action drawn against now; or compact),
# GATE_TIMEOUT (seconds per run, 240), GATE_PCP_FRACTION
# (vm.percpu_pagelist_high_fraction, 100000; 0 = the kernel default).
set -u
B=${FRAGML_BIN:?}
O=/tmp/out
seeds=${GATE_SEEDS:-1,2,3}
workloads=${GATE_WORKLOADS:-pipes,sockets,files,pagetables}
explore=${GATE_EXPLORE:-500000}
explore_action=${GATE_EXPLORE_ACTION:-defer}
tmo=${GATE_TIMEOUT:-240}

echo "# guest $(uname -r), $(nproc) CPUs, MemTotal $(awk '/MemTotal/{print $2}' /proc/meminfo) kB, swap $(awk 'NR>1' /proc/swaps | wc -l) devices"
echo 1048576 > /proc/sys/fs/nr_open
echo 2000000 > /proc/sys/fs/file-max
ulimit -n 400000
mkdir -p /tmp/d
# Small per-CPU page lists (high = 4 batches): one gate decision then covers one
# batch refill (~63 pages) rather than up to the default high (~1500 pages in
# this guest), so a run yields a few hundred decisions instead of a dozen.
pcp_frac=${GATE_PCP_FRACTION:-100000}
echo "$pcp_frac" > /proc/sys/vm/percpu_pagelist_high_fraction
echo "# percpu_pagelist_high_fraction $(cat /proc/sys/vm/percpu_pagelist_high_fraction)"
"$B/fragml" detach >/dev/null 2>&1
"$B/fragml-mkmodel" --hook fallback --const fallback -o /tmp/fb-now.bin >/dev/null || exit 1
"$B/fragml-load" -q /tmp/fb-now.bin || { echo "# fragml-load failed"; exit 1; }

# workload arguments of fragml-work, sized for a 1 GB guest
wargs() {
	case $1 in
	pipes)      echo "--count 30000 --keep 1 --hold 1 pipes" ;;	# one unmovable page each
	sockets)    echo "--count 20000 --keep 1 --hold 1 sockets" ;;	# skb + socket slab, unmovable
	files)      echo "--count 40000 --hold 1 --dir /tmp/d files" ;;	# dentry/inode slab, reclaimable
	pagetables) echo "--mb 48 --hold 1 pagetables" ;;		# page-table pages, unmovable
	*) return 1 ;;
	esac
}

for w in ${workloads//,/ }; do
	for s in ${seeds//,/ }; do
		name=$w-s$s
		args=$(wargs "$w") || { echo "# unknown workload $w"; exit 1; }
		sync; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/vm/compact_memory
		free_mb=$(( $(awk '/MemFree/{print $2}' /proc/meminfo) / 1024 ))
		# 1 page in 2, 3, 4 freed (by seed): blocks a fallback claims whole, or only steals from
		"$B/fragml-work" --seed "$s" --stride $(( (s - 1) % 3 + 2 )) --mb $(( free_mb * 95 / 100 )) \
			--hold 600 holes >/tmp/holes.log 2>&1 &
		hp=$!
		for _ in $(seq 600); do grep -q ready /tmp/holes.log 2>/dev/null && break; kill -0 $hp 2>/dev/null || break; sleep 0.5; done
		grep -q ready /tmp/holes.log || { echo "# holes failed: $(cat /tmp/holes.log)"; exit 1; }
		t0=$(date +%s)
		# shellcheck disable=SC2086
		timeout "$tmo" "$B/fragml-collect" --gate -q --explore "$explore" --explore-action "$explore_action" -o "$O/$name" -w "$w" \
			-- "$B/fragml-work" --seed "$s" $args >"$O/$name.log" 2>&1
		rc=$?
		kill $hp; wait $hp 2>/dev/null
		rm -rf /tmp/d/*
		echo "# $name rc=$rc $(( $(date +%s) - t0 )) s: $(tail -1 "$O/$name.log")"
	done
done
"$B/fragml" detach >/dev/null 2>&1
exit 0
