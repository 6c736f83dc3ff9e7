#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# Run every scenario under fragml-collect; datasets in OUT/<scenario>/; prints rows per file.
#   collect-all.sh OUT [SEED] [SCENARIO...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../build/bin
out=${1:?usage: collect-all.sh OUT [SEED] [SCENARIO...]}; shift
seed=${1:-1}; [ $# -gt 0 ] && shift
scens=${*:-thp-dense thp-sparse nothp malloc files sockets pipes pagetables pagecache redis mixed-app mixed-sys}
mkdir -p "$out"
printf '%-12s %9s %9s %10s %6s\n' scenario lifetime thp_fault compaction lost
for s in $scens; do
	"$bin/fragml-collect" -q -o "$out/$s" -w "$s" -T 2 -s 1 -- "$here/run.sh" "$s" "$seed" >/dev/null 2>"$out/$s.log" || true
	l=$(($(wc -l <"$out/$s/lifetime.csv") - 1)); t=$(($(wc -l <"$out/$s/thp_fault.csv") - 1))
	c=$(($(wc -l <"$out/$s/compaction.csv") - 1))
	lost=$(grep -o '"lost":[0-9]*' "$out/$s/summary.json" | cut -d: -f2)
	printf '%-12s %9d %9d %10d %6s\n' "$s" "$l" "$t" "$c" "$lost"
done
