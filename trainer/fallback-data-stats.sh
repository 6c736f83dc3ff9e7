#!/bin/bash
# What the fallback gate's collections hold, per collection and scenario: the
# figures docs/report-gate.md and docs/trainer.md quote about the data.
#
#   trainer/fallback-data-stats.sh [DATA_DIR] [FEATURE]   (default trainer/data, task_pred_long_ppk)
#
# For each trainer/data/fallback-{normal,pred,round2}.csv.gz (the deferred
# decisions): rows, rows of non-movable requests (migratetype != 1), the mean
# of FEATURE over the rows that have it, and FEATURE's ROC-AUC for the priced
# label (avoided the mixing fallback at <= GATE_SWAP_BUDGET swapped-out
# pages, 256 by default; a row without the feature ranks lowest).
set -euo pipefail
data=${1:-$(dirname "$0")/data} feat=${2:-task_pred_long_ppk} budget=${GATE_SWAP_BUDGET:-256}
printf '| collection | scenario | rows | non-movable | mean %s | ROC-AUC of %s |\n|---|---|---|---|---|---|\n' "$feat" "$feat"
for d in fallback-normal fallback-pred fallback-round2; do
	f=$data/$d.csv.gz
	[ -r "$f" ] || { echo "fallback-data-stats: $f: missing" >&2; exit 1; }
	for scope in pipes holes-pipes all; do
		# value (missing: -1e18), label; sorted by value for the rank sum
		zcat "$f" | awk -F, -v F="$feat" -v B="$budget" -v S="$scope" '
			NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }	# no such column: missing in every row
			S != "all" && $c["workload"] != S { next }
			{ y = $c["label"] == 1 && $c["swap_share"] != "" && $c["swap_share"] <= B
			  x = (F in c) ? $c[F] : ""
			  print (x == "" ? -1e18 : x), y, ($c["migratetype"] != 1) }' |
		sort -g -k1,1 |
		awk -v D="$d" -v S="$scope" '
			{ v[NR] = $1; y[NR] = $2; nm += $3; if ($1 > -1e17) { s += $1; k++ } }
			END {
				if (!NR) exit
				# mid-ranks over ties, then the Mann-Whitney U of the positives
				for (i = 1; i <= NR; i = j) {
					for (j = i; j <= NR && v[j] == v[i]; j++) ;
					for (t = i; t < j; t++) { if (y[t]) { r += (i + j - 1) / 2; np++ } }
				}
				nn = NR - np
				auc = np && nn ? (r - np * (np + 1) / 2) / (np * nn) : -1
				printf "| %s | %s | %d | %d | %s | %s |\n", D, S, NR, nm,
				       k ? sprintf("%.0f", s / k) : "–", auc < 0 ? "–" : sprintf("%.2f", auc)
			}'
	done
done
