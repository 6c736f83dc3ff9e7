#!/bin/bash
# Markdown table of a `make compare-gate` run: per policy, every seed's value
# and the mean of each counter (selftests/vm/gate_compare.c lines in OUTPUT).
#
#   trainer/compare-gate-table.sh build/compare-gate/output.txt
set -euo pipefail
in=${1:?usage: compare-gate-table.sh OUTPUT.txt}
cols="mixing fallbacks failed failed_atomic fallback_gate_defer fallback_gate_defer_refused fallback_gate_defer_satisfied fallback_gate_defer_fellback pgsteal_direct pgsteal_kswapd pswpout compact_stall allocstall_dma32 allocstall_normal oom_kill ms"
awk -v cols="$cols" '
BEGIN { n = split(cols, c, " ") }
/^(none|rule|learned) seed=/ {
	p = $1; if (!(p in seen)) { order[++np] = p; seen[p] = 1 }
	runs[p]++
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[p, kv[1], runs[p]] = kv[2]; s[p, kv[1]] += kv[2] }
}
END {
	printf "| counter |"; for (j = 1; j <= np; j++) printf " %s (per seed) | %s mean |", order[j], order[j]; printf "\n"
	printf "|---|"; for (j = 1; j <= np; j++) printf "---|---|"; printf "\n"
	for (i = 1; i <= n; i++) {
		printf "| %s |", c[i]
		for (j = 1; j <= np; j++) {
			p = order[j]; line = ""
			for (r = 1; r <= runs[p]; r++) line = line (r > 1 ? " / " : "") v[p, c[i], r]
			printf " %s | %.0f |", line, s[p, c[i]] / runs[p]
		}
		printf "\n"
	}
}' "$in"
