#!/bin/bash
# Guest script: how long a first `fragml-load` (observe programs and, on the
# patched kernel, the struct_ops policy: what every VM selftest pays) takes,
# three times after `fragml detach`.  Run it with
#   selftests/vm/run-vm.sh BZIMAGE OUTDIR script FRAGML_SCRIPT=$PWD/selftests/vm/load-time.sh FRAGML_BIN=$PWD/build/bin
# and read OUTDIR/output.txt.
b=${FRAGML_BIN:?}
model=$(dirname "$0")/../../model/defaults/thp_fault.bin
for i in 1 2 3; do
	"$b/fragml" detach >/dev/null 2>&1
	s=$(date +%s%N)
	"$b/fragml-load" -q "$model" || { echo "load-time: fragml-load failed"; exit 1; }
	e=$(date +%s%N)
	echo "first fragml-load $i: $(( (e - s) / 1000000 )) ms"
done
"$b/fragml" detach >/dev/null
