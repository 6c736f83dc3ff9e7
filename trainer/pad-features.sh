#!/bin/bash
# Bring a committed collector CSV to the running registry's header: every
# registered feature gets its column (empty = missing where the data have
# none: a feature registered after the data were collected), in registry
# order; columns of features no longer registered are dropped; ts_ns ..
# source, label and the auxiliary columns after it are kept as they are.
# The registry's header comes from fragml-synth (it writes exactly that).
#
#   FRAGML_BIN=build/bin trainer/pad-features.sh IN.csv[.gz] OUT.csv
set -euo pipefail
: "${FRAGML_BIN:?}"
in=${1:?usage: pad-features.sh IN.csv[.gz] OUT.csv} out=${2:?usage: pad-features.sh IN.csv[.gz] OUT.csv}
reg=$(mktemp) && trap 'rm -f "$reg"' EXIT
"$FRAGML_BIN/fragml-synth" --hook lifetime --rows 1 --seed 1 -o "$reg" >/dev/null
case $in in *.gz) cat=zcat ;; *) cat=cat ;; esac
$cat "$in" | awk -F, -v OFS=, -v reg="$(head -1 "$reg")" '
	NR == 1 {
		nr = split(reg, r, ",")
		for (i = 1; i <= NF; i++) { col[$i] = i; if ($i == "label") lab = i }
		if (!lab || $1 != "ts_ns" || $5 != "source") { print "pad-features: " FILENAME ": not a collector CSV (ts_ns .. source, features, label)" > "/dev/stderr"; exit 2 }
		# output: columns 1-5, the registry features (r[6 .. nr-1]), label, the auxiliary ones
		m = 0
		for (i = 1; i <= 5; i++) src[++m] = i
		for (i = 6; i < nr; i++) src[++m] = (r[i] in col) ? col[r[i]] : 0
		for (i = lab; i <= NF; i++) src[++m] = i
		s = ""
		for (j = 1; j <= m; j++) s = s (j > 1 ? OFS : "") (src[j] ? $src[j] : r[j])
		print s
		next
	}
	{
		s = ""
		for (j = 1; j <= m; j++) s = s (j > 1 ? OFS : "") (src[j] ? $src[j] : "")
		print s
	}' >"$out"
