#!/bin/bash
# Guest script: the kernel memory fragml holds in enforce mode without
# collection, as the kernel reports it (fragml status: memlock of every map
# and program reachable from the pins), on the patched kernel: the three
# shipped models published with the guard (what `fragml-load` does by
# default), then the same three published again (every hook's previous
# version stays pinned for a rollback).  Run it with
#   selftests/vm/run-vm.sh BZIMAGE OUTDIR script FRAGML_SCRIPT=$PWD/selftests/vm/kmem-enforce.sh FRAGML_BIN=$PWD/build/bin
# and read OUTDIR/output.txt (the guest has 1 GB unless FRAGML_VM_MEM says otherwise).
b=${FRAGML_BIN:?}
dir=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "kmem-enforce: $*"; exit 1; }

echo "guest: $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) }' /proc/meminfo) MB"
for m in thp_fault compaction fallback; do
	"$b/fragml-load" -q "$dir/model/defaults/$m.bin" || fail "fragml-load $m.bin failed"
done
"$b/fragml" status | grep -E "^mode:|^guard:" || fail "fragml status failed"
"$b/fragml" status | sed -n '/^kernel memory/,$p'
for m in thp_fault compaction fallback; do
	"$b/fragml-load" -q "$dir/model/defaults/$m.bin" || fail "fragml-load $m.bin failed"
done
echo "after publishing them again (previous versions pinned):"
"$b/fragml" status | grep "^kernel memory"
"$b/fragml" detach >/dev/null
exit 0
