#!/bin/bash
# Trim a merged collection (trainer/merge-collection.sh OUT) to what training
# and the source report use, and write it compressed for the repository:
#
#   trainer/trim-collection.sh MERGED DATA      -> DATA/apps-{lifetime,thp_fault,compaction}.csv.gz
#                                                  DATA/apps-collection.md
#
# Kept: ts_ns, workload, hook, class, source, every registered feature column
# (the dataset reader needs them all) but only the features of
# trainer/models.conf filled (the others empty = missing, which the model does
# not split on), label, and the auxiliary columns of models.conf (plus a
# `pollutes` column when the collector writes one); pfn only on fallback rows.  Rows: at most CAP_ROWS
# per (workload, class) and hook, every k-th in file order; fallback rows
# (fallback_mt set) apart, at most CAP_FALLBACK per (workload, class); only
# the rows whose column matches ONLY_<hook> (COLUMN=VALUE), when set.  Deterministic (gzip -n): the same merged
# collection gives the same bytes.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:?usage: trim-collection.sh MERGED DATA} data=${2:?usage: trim-collection.sh MERGED DATA}
# shellcheck source=models.conf
. "$here/models.conf"
mkdir -p "$data"
for hook in lifetime thp_fault compaction; do
	f=$in/$hook.csv
	[ -r "$f" ] || { echo "trim-collection: $f: missing" >&2; exit 1; }
	fv=FEATURES_$hook av=AUX_$hook ov=ONLY_$hook
	awk -F, -v OFS=, -v feats="${!fv}" -v aux="${!av},pollutes" -v cap="$CAP_ROWS" -v fcap="$CAP_FALLBACK" -v only="${!ov:-}" '
		NR == FNR { if (FNR == 1) { for (i = 1; i <= NF; i++) { if ($i == "fallback_mt") f0 = i; if (only != "" && $i == substr(only, 1, index(only, "=") - 1)) oc = i }
					    ov = substr(only, index(only, "=") + 1); next }
			    if (oc && $oc != ov) next
			    key = $2 SUBSEP $4; if (f0 && $f0 != "") nf_[key]++; else n[key]++; next }
		FNR == 1 {
			nf = split(feats, a, ","); for (i = 1; i <= nf; i++) want[a[i]] = 1
			na = split(aux, b, ","); for (i = 1; i <= na; i++) waux[b[i]] = 1
			for (i = 1; i <= NF; i++) { col[$i] = i; if ($i == "label") lab = i }
			if (!lab) { print "trim-collection: " FILENAME ": no label column" > "/dev/stderr"; exit 2 }
			for (f in want) if (!(f in col)) { print "trim-collection: " FILENAME ": no column " f > "/dev/stderr"; exit 2 }
			# output columns: 1..label, then the kept auxiliary ones
			m = 0
			for (i = 1; i <= lab; i++) { out[++m] = i; blank[i] = (i > 5 && i < lab && !($i in want)) }
			for (i = lab + 1; i <= NF; i++) if ($i in waux) out[++m] = i
			fb = ("fallback_mt" in col) ? col["fallback_mt"] : 0
			pc = ("pfn" in col) ? col["pfn"] : 0
			for (k in n) step[k] = n[k] > cap ? int((n[k] + cap - 1) / cap) : 1
			for (k in nf_) fstep[k] = nf_[k] > fcap ? int((nf_[k] + fcap - 1) / fcap) : 1
		}
		{
			if (FNR > 1) {
				if (oc && $oc != ov) next
				key = $2 SUBSEP $4
				if (fb && $fb != "")
					keep = (fseen[key]++ % fstep[key]) == 0
				else
					keep = (seen[key]++ % step[key]) == 0
				if (!keep) next
			}
			s = ""
			for (j = 1; j <= m; j++) {
				i = out[j]
				# pfn only where a fallback took the page (the polluted blocks)
				v = (FNR > 1 && (blank[i] || (i == pc && fb && $fb == ""))) ? "" : $i
				s = s (j > 1 ? OFS : "") v
			}
			print s
		}' "$f" "$f" | gzip -n -9 >"$data/apps-$hook.csv.gz.tmp"
	mv "$data/apps-$hook.csv.gz.tmp" "$data/apps-$hook.csv.gz"
done
{
	echo "# Application collection (trainer/data/apps-*.csv.gz)"
	echo
	echo "Collected by \`$(cat "$in/command" 2>/dev/null || echo "an unrecorded command")\`"
	echo "on $(cat "$in/kernel" 2>/dev/null || echo "an unrecorded kernel"), $(cat "$in/started" 2>/dev/null || echo ?) .. $(cat "$in/finished" 2>/dev/null || echo ?) (UTC),"
	echo "collector (fragml-collect, bpf/) built from commit $(cat "$in/collector-rev" 2>/dev/null || echo unrecorded)."
	echo "Trimmed by trainer/trim-collection.sh (trainer/models.conf: at most $CAP_ROWS rows per workload"
	echo "and class, fallback rows apart and at most $CAP_FALLBACK of them; only the models' features filled)."
	echo
	if [ -r "$in/cells.md" ]; then
		echo "## Cells (one guest boot each; counts of the whole cell)"
		echo
		cat "$in/cells.md"
		echo
	fi
	for hook in lifetime thp_fault compaction; do
		echo "## apps-$hook.csv.gz: $(($(zcat "$data/apps-$hook.csv.gz" | wc -l) - 1)) rows (of $(($(wc -l <"$in/$hook.csv") - 1)) collected), sha256 \`$(sha256sum "$data/apps-$hook.csv.gz" | cut -c1-16)…\`"
		echo
		echo "| workload | rows | label=1 | share |$([ $hook = lifetime ] && echo ' pollutes | fallback rows |')"
		echo "|---|---:|---:|---:|$([ $hook = lifetime ] && echo '---:|---:|')"
		zcat "$data/apps-$hook.csv.gz" | awk -F, -v hook=$hook -f "$here/pollutes.awk" -f <(cat <<'EOA'
NR == 1 { pollutes_header(); next }
{
	w = $2; n[w]++; l = ($PCOL["label"] > 0); p[w] += l; N++; P += l
	if (hook == "lifetime") { q[w] += pollutes(); Q += pollutes(); f = ($PCOL["fallback_mt"] != ""); fr[w] += f; F += f }
}
END {
	for (w in n)
		printf "| %s | %d | %d | %.3f |%s\n", w, n[w], p[w], p[w] / n[w], hook == "lifetime" ? sprintf(" %d | %d |", q[w], fr[w]) : ""
	if (N)
		printf "| **all** | %d | %d | %.3f |%s\n", N, P, P / N, hook == "lifetime" ? sprintf(" %d | %d |", Q, F) : ""
}
EOA
		) | sort
		echo
	done
} >"$data/apps-collection.md"
ls -l "$data"/apps-*
