#!/bin/bash
# Guest script: how long a first `fragml-load` (observe programs and, on the
# patched kernel, the struct_ops policy: what every VM selftest pays) takes,
# three times after `fragml detach`; then, where strace is found, a fourth
# load under `strace -T -e trace=bpf`: the share of the load spent in bpf()
# and its slowest program loads (each one's verification).  Run it with
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
command -v strace >/dev/null || { echo "load-time: no strace: no breakdown"; exit 0; }
s=$(date +%s%N)
strace -f -T -e trace=bpf -o /tmp/load-time.strace "$b/fragml-load" -q "$model" ||
	{ echo "load-time: fragml-load under strace failed"; exit 1; }
e=$(date +%s%N)
"$b/fragml" detach >/dev/null
awk -v wall=$(( (e - s) / 1000000 )) '
	match($0, /<[0-9.]+>$/) { t = substr($0, RSTART + 1, RLENGTH - 2); bpf += t
		if ($0 ~ /BPF_PROG_LOAD/ && match($0, /prog_name="[^"]*"/))
			printf "%.3f s  %s\n", t, substr($0, RSTART + 11, RLENGTH - 12) | "sort -rn | head -8" }
	END { close("sort -rn | head -8")
	      printf "under strace: %d ms in all, %.0f ms in bpf() (%.0f %%)\n", wall, bpf * 1000, bpf * 100000 / wall }' /tmp/load-time.strace
