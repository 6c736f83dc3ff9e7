#!/bin/bash
# A Markdown table of "median (min–max)" over seeds per scenario x policy,
# from the cells.csv of one or more runs (selftests/eval/report.sh):
#
#   medians.sh [-a] [-l LABEL=CELLS.CSV]... COLUMN...
#
# -a prints the mean instead of the median (the report's tables).
# Each -l adds that run's rows with LABEL in the first column (a machine
# shape, say), so two runs sit side by side.  A COLUMN of the form A+B+...
# is the sum of those columns.  A column missing in a run prints "–".
set -uo pipefail
runs=() mean=0
while getopts al:h o; do
	case $o in
	a) mean=1 ;;
	l) runs+=("$OPTARG") ;;
	h) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ ${#runs[@]} -gt 0 ] && [ $# -gt 0 ] || { echo "medians.sh: need -l LABEL=CELLS.CSV and COLUMNs (-h)" >&2; exit 2; }
printf '| run | scenario | policy | n |'; printf ' %s |' "$@"; echo
printf '|---|---|---|---|'; printf -- '---|%.0s' "$@"; echo
for r in "${runs[@]}"; do
	label=${r%%=*} csv=${r#*=}
	[ -r "$csv" ] || { echo "medians.sh: $csv: no such file" >&2; exit 1; }
	awk -F, -v label="$label" -v cols="$*" -v mean="$mean" '
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; nk = split(cols, k, " "); next }
	{
		g = $c["scenario"] SUBSEP $c["policy"]
		if (!(g in n)) order[++ng] = g
		n[g]++
		for (j = 1; j <= nk; j++) {
			np = split(k[j], part, "+"); x = 0; ok = 1
			for (a = 1; a <= np; a++)
				if ((part[a] in c) && $c[part[a]] != "") x += $c[part[a]]; else ok = 0
			if (ok) v[g, j, ++m[g, j]] = x
		}
	}
	function show(x) { return x == int(x) ? sprintf("%d", x) : sprintf(x >= 100 || x <= -100 ? "%.0f" : "%.1f", x) }
	END {
		for (i = 1; i <= ng; i++) {
			g = order[i]; split(g, sp, SUBSEP)
			printf "| %s | %s | %s | %d |", label, sp[1], sp[2], n[g]
			for (j = 1; j <= nk; j++) {
				q = m[g, j] + 0
				if (!q) { printf " – |"; continue }
				for (a = 1; a <= q; a++) s[a] = v[g, j, a]
				for (a = 2; a <= q; a++) for (b = a; b > 1 && s[b - 1] > s[b]; b--) { t = s[b]; s[b] = s[b - 1]; s[b - 1] = t }
				med = q % 2 ? s[(q + 1) / 2] : (s[q / 2] + s[q / 2 + 1]) / 2
				if (mean) { med = 0; for (a = 1; a <= q; a++) med += s[a]; med /= q }
				printf " %s", show(med)
				if (s[1] != s[q]) printf " (%s–%s)", show(s[1]), show(s[q])
				printf " |"
			}
			printf "\n"
		}
	}' "$csv"
done
