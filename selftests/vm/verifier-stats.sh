#!/bin/bash
# Guest script: `make bench-verifier` on the patched kernel, with the objects
# the host cannot load (the struct_ops policy, the BPF-LSM guard): per
# program, the instructions the 6.12 verifier processed and its time.  Run it
# with
#   selftests/vm/run-vm.sh BZIMAGE OUTDIR script FRAGML_SCRIPT=$PWD/selftests/vm/verifier-stats.sh FRAGML_BIN=$PWD/build/bin
# after `make bench-verifier` (which builds the tool and the objects), and
# read OUTDIR/output.txt.
top=$(cd "$(dirname "$0")/../.." && pwd)
bench=$top/build/selftests/bench/bench_verifier
[ -x "$bench" ] || { echo "verifier-stats: $bench missing: run 'make bench-verifier' on the host first"; exit 1; }
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf ||
	{ echo "verifier-stats: cannot mount bpffs on /sys/fs/bpf"; exit 1; }
cd "$top/build/bpf" || exit 1
"$bench" fragml_policy.bpf.o fragml_observe.bpf.o fragml_core.bpf.o fragml_guard.bpf.o
