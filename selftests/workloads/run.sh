#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Bounded, seeded workload scenarios for fragml-collect (≤ 2 GiB, ≤ ~1 min each).
#   run.sh SCENARIO [SEED]
# Scenarios: thp-dense thp-sparse nothp malloc files sockets pipes pagetables
#            pagecache redis mixed-app mixed-sys
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
W=${FRAGML_WORK:-$here/../../build/bin/fragml-work}
scen=${1:?usage: run.sh SCENARIO [SEED]}
seed=${2:-1}
tmp=$(mktemp -d /tmp/fragml-work.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	# a redis-server started by redis(), which may run in a subshell (mixed-app)
	# whose pids the list above does not hold
	[ -s "$tmp/redis.pid" ] && kill "$(cat "$tmp/redis.pid")" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

redis() {
	command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null ||
		{ echo "run.sh: redis-server/redis-benchmark not installed (Debian redis-server, redis-tools)" >&2; return 77; }
	local port=$((20000 + seed % 10000))
	redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
		--maxmemory 512mb --dir "$tmp" --daemonize no >/dev/null &
	pids+=($!)
	echo $! > "$tmp/redis.pid"
	for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	# mixed value sizes, then deletions (bounded -n)
	for d in 64 1024 16384; do
		redis-benchmark -p "$port" -q -n 20000 -r 100000 -d "$d" -t set,get >/dev/null
	done
	redis-cli -p "$port" --scan --count 1000 2>/dev/null | awk -v s="$seed" 'BEGIN{srand(s)} rand()<0.75' |
		head -60000 | xargs -r -n 500 redis-cli -p "$port" del >/dev/null
	redis-benchmark -p "$port" -q -n 20000 -r 100000 -d 4096 -t set >/dev/null
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
}

case "$scen" in
thp-dense|thp-sparse|nothp) "$W" --seed "$seed" --mb 512 --hold 2 "$scen" ;;
malloc)     "$W" --seed "$seed" --mb 256 --secs 5 malloc ;;
files)      "$W" --seed "$seed" --count 100000 --hold 2 --dir "$tmp" files ;;
sockets)    "$W" --seed "$seed" --count 40000 --hold 3 sockets ;;
pipes)      "$W" --seed "$seed" --count 80000 --hold 3 pipes ;;
pagetables) "$W" --seed "$seed" --mb 64 --hold 2 pagetables ;;
pagecache)  "$W" --seed "$seed" --mb 64 --secs 5 --dir "$tmp" pagecache ;;
redis)      redis ;;
mixed-sys)  # system-side unmovable scatter while a THP faulter runs
	"$W" --seed "$seed" --count 80000 --hold 12 pipes & pids+=($!)
	"$W" --seed "$seed" --count 40000 --hold 12 sockets & pids+=($!)
	"$W" --seed "$seed" --count 60000 --hold 8 --dir "$tmp" files & pids+=($!)
	sleep 3
	"$W" --seed "$seed" --mb 1024 --hold 3 thp-dense
	# one manual compaction of the scattered memory (compaction rows; root only)
	[ -w /proc/sys/vm/compact_memory ] && echo 1 > /proc/sys/vm/compact_memory || true
	wait ;;
mixed-app)  # application churn + redis while a THP faulter runs
	"$W" --seed "$seed" --mb 256 --secs 10 malloc & pids+=($!)
	redis & pids+=($!)
	sleep 2
	"$W" --seed "$seed" --mb 768 --hold 3 thp-dense
	wait ;;
*) echo "run.sh: unknown scenario '$scen'" >&2; exit 2 ;;
esac
