#!/bin/bash
# Collect the real training data for `make models COLLECT_DIR=OUT/merged`
# (root, stock kernel, observe mode; ~2.5 min of machine time, each run <= 2 GiB).
#
#   trainer/collect-real.sh OUT [SEED]
#
# 1. every scenario of selftests/workloads/collect-all.sh (fragml-collect -T 2 -s 1);
# 2. THP-advised regions faulted with 4 KB pages (PR_SET_THP_DISABLE, inherited by the
#    workload): thp-dense, thp-sparse, mixed-app and mixed-sys again as nothp-*, so that
#    thp_fault rows of MADV_HUGEPAGE regions get density labels (a region that receives a
#    huge page at its first fault cannot be measured, docs/dataset.md);
# 3. trainer/merge-collection.sh OUT/merged OUT/<scenario>... (own rows vs `background`).
#
# The workload binary runs under its own name (fmw-real) so that rows of other engineers'
# fragml-work runs on a shared machine are never taken for this collection's.
# The data are the kernel's, not a function of the seed: a fresh collection gives new CSVs
# (and new models); the models are byte-reproducible only from the same merged CSVs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$here/..
bin=$top/build/bin
out=${1:?usage: collect-real.sh OUT [SEED]}
seed=${2:-7}	# redis listens on 20000 + seed % 10000
[ "$(id -u)" = 0 ] || { echo "collect-real: needs root (BPF, tracefs)" >&2; exit 1; }
mkdir -p "$out/.bin"
out=$(cd "$out" && pwd)
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing
cp "$bin/fragml-work" "$out/.bin/fmw-real"
cat > "$out/.bin/nothp.c" <<'EOF'
/* run a command with PR_SET_THP_DISABLE (inherited across fork and exec) */
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	if (argc < 2 || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0)) { perror("nothp"); return 2; }
	execvp(argv[1], argv + 1); perror(argv[1]); return 127;
}
EOF
${CC:-cc} -O2 -o "$out/.bin/nothp" "$out/.bin/nothp.c"
export FRAGML_WORK=$out/.bin/fmw-real

echo "$(uname -r) (this machine's own kernel, observe mode)" > "$out/kernel"
# which collector measured: the features' meaning follows bpf/fragml_features.bpf.h of that tree
echo "$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)" > "$out/collector-rev"
date -u +%FT%TZ > "$out/started"
# A redis-server left on the seed's port (by a run interrupted before run.sh could stop it)
# would be benchmarked by the next redis run: shut any down before and after every run.
stop_redis() { redis-cli -p $((20000 + seed % 10000)) shutdown nosave >/dev/null 2>&1 || true; }
stop_redis
"$top/selftests/workloads/collect-all.sh" "$out" "$seed"
stop_redis
for s in thp-dense thp-sparse mixed-app mixed-sys; do
	case $s in thp-*) n=nothp-${s#thp-}-adv ;; *) n=nothp-$s ;; esac
	"$bin/fragml-collect" -q -o "$out/$n" -w "$n" -T 2 -s 1 -- \
		"$out/.bin/nothp" "$top/selftests/workloads/run.sh" "$s" "$seed" >/dev/null 2>"$out/$n.log" || true
	tail -1 "$out/$n.log"
	stop_redis
done
date -u +%FT%TZ > "$out/finished"

scen="thp-dense thp-sparse nothp nothp-dense-adv nothp-sparse-adv malloc redis mixed-app nothp-mixed-app
      files sockets pipes pagetables pagecache mixed-sys nothp-mixed-sys"
"$here/merge-collection.sh" "$out/merged" $(for s in $scen; do echo "$out/$s"; done) >/dev/null
cp "$out/kernel" "$out/collector-rev" "$out/started" "$out/finished" "$out/merged/"
echo "collect-real: $out/merged ready: make models COLLECT_DIR=$out/merged"
