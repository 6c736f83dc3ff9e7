#!/usr/bin/env bash
# `make demo`, observe part: load the shipped models into the running kernel
# (shadow mode on a stock kernel), run a small fragmenting workload, and show
# what the models decided.  Leaves the models loaded: `build/bin/fragml detach`
# removes them.
set -euo pipefail
cd "$(dirname "$0")/.."
B=build/bin
secs=${FRAGML_DEMO_SECONDS:-10}

[ "$(id -u)" = 0 ] || { echo "demo: needs root (loads BPF programs)" >&2; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true

vmstat() { awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat; }
snap() { for k in thp_fault_alloc thp_fault_fallback compact_stall compact_fail compact_success pgalloc_normal; do printf '%s=%s ' "$k" "$(vmstat $k)"; done; }

echo "== fragml demo (observe mode on $(uname -r)) =="
$B/fragml detach >/dev/null
# --identify: also keep the source maps that `fragml report` reads below
for m in lifetime thp_fault compaction; do
	$B/fragml-load --identify model/defaults/$m.bin
done
echo
echo "== workload: ${secs}s of pipe-buffer scatter, dentry churn and a MADV_HUGEPAGE faulter (stress-ng) =="
before=$(snap)
stress-ng --pipe 2 --dentry 1 --vm 1 --vm-bytes 256m --vm-madvise hugepage \
	--timeout "${secs}s" --metrics-brief 2>&1 | sed 's/^/  /' | tail -n 6
after=$(snap)
echo
echo "== /proc/vmstat deltas =="
for kv in $after; do
	k=${kv%%=*}; a=${kv#*=}
	b=$(tr ' ' '\n' <<<"$before" | awk -F= -v k="$k" '$1 == k { print $2 }')
	printf '  %-20s %12d\n' "$k" $((a - b))
done
echo
echo "== fragml status (decisions the models made in shadow) =="
$B/fragml status
if $B/fragml 2>&1 | grep -q '^  top'; then
	echo
	echo "== who fragments memory (fragml report) =="
	$B/fragml report 2>/dev/null | head -n 15 || true
fi
echo
echo "The models stay loaded; 'build/bin/fragml detach' removes them."
