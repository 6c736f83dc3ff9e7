#!/bin/bash
# The best F1 any model of the given features can reach on a dataset, in
# sample: rows with the same values of FEATURES are indistinguishable to it,
# so it can only answer one thing per distinct vector.  Vectors are ranked by
# their share of label 1 and the F1-best cut is taken (an upper bound: the
# cut is chosen on the data it is scored on).  Where it is far below 1, the
# data (objects of one site with random lifetimes), not the model, bound the
# score.  The last column is the precision of the cut that first reaches
# recall 0.90: what a recall target costs.  Markdown table: all rows, then per workload (bound within it), or
# per value of another column GROUP (e.g. class: the allocation class, the
# system source).
#
#   trainer/label-bound.sh DATA.csv FEATURE,FEATURE,... [GROUP]
set -euo pipefail
usage="usage: label-bound.sh DATA.csv FEATURES [GROUP]"
csv=${1:?$usage} feats=${2:?$usage} group=${3:-workload}
echo "| rows of | rows | label=1 | distinct vectors | best F1 | precision | recall | precision at recall 0.90 |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
awk -F, -v feats="$feats" -v group="$group" '
	NR == 1 { n = split(feats, f, ","); for (i = 1; i <= NF; i++) c[$i] = i
		  for (i = 1; i <= n; i++) if (!(f[i] in c)) { print "label-bound: no column " f[i] > "/dev/stderr"; exit 2 }
		  if (!(group in c)) { print "label-bound: no column " group > "/dev/stderr"; exit 2 }
		  lab = c["label"]; gc = c[group]; next }
	{ k = ""; for (i = 1; i <= n; i++) k = k "," $c[f[i]]
	  y = ($lab > 0); print "all" SUBSEP k "\t" y; print $gc SUBSEP k "\t" y }' "$csv" |
awk -F'\t' '{ split($1, a, SUBSEP); g = a[1]; key = $1; n[key]++; p[key] += $2; grp[key] = g } END {
		for (k in n) printf "%s\t%.9f\t%d\t%d\n", grp[k], p[k] / n[k], n[k], p[k] }' |
sort -t'	' -k1,1 -k2,2gr |
awk -F'\t' '
	function flush(	best, bp, br, tp, fp, i, f1, pr, rc, p90) {
		if (g == "") return
		best = 0; bp = 0; br = 0; tp = 0; fp = 0; p90 = -1
		for (i = 1; i <= m; i++) {
			tp += pos[i]; fp += cnt[i] - pos[i]
			if (!P) break
			pr = tp / (tp + fp); rc = tp / P; f1 = (pr + rc) ? 2 * pr * rc / (pr + rc) : 0
			if (f1 > best) { best = f1; bp = pr; br = rc }
			if (p90 < 0 && rc >= 0.9) p90 = pr	# the cut a 0.90 recall needs
		}
		line[g] = sprintf("| %s | %d | %d | %d | %s | %s | %s | %s |", g, N, P, m,
				  P ? sprintf("%.3f", best) : "-", P ? sprintf("%.3f", bp) : "-", P ? sprintf("%.3f", br) : "-",
				  p90 >= 0 ? sprintf("%.3f", p90) : "-")
		order[++no] = g
	}
	$1 != g { flush(); g = $1; m = 0; N = 0; P = 0 }
	{ m++; cnt[m] = $3; pos[m] = $4; N += $3; P += $4 }
	END { flush(); if ("all" in line) print line["all"]; for (i = 1; i <= no; i++) if (order[i] != "all") print line[order[i]] }'
