#!/bin/bash
# Who pollutes pageblocks: the identification report per source over a
# lifetime collection (`make source-report`; default the committed
# trainer/data/apps-lifetime.csv.gz).
#
#   FRAGML_BIN=build/bin trainer/source-report.sh LIFETIME.csv[.gz] OUTDIR
#
# A page "pollutes" as trainer/pollutes.awk says (one place).  A polluted
# pageblock is one that holds at least one such page (pfn >> 9; collect-apps
# makes pfn unique across cells).  Per source: polluting pages, polluted
# blocks and their share of all polluted blocks (a block polluted by two
# sources counts for both, so the shares may add up to more than 100 %),
# and the precision and recall of the pollutes model on that source's rows,
# held out: for each application a model (the lifetime model's shape and
# features, trainer/models.conf, label = pollutes) is trained without it and
# scored on its rows only; the counts are summed over the applications.
# Sources: the system's by class (slab by cache, page tables, pipes,
# sockets, page cache, kernel stacks, other kernel pages), the applications
# (workload = scenario) and their processes (comm of `source`).  cgroups are
# not in the rows (fragml-collect writes comm:tgid); `fragml-collect
# --cgroup DIR` collects one cgroup.  Writes OUTDIR/sources.md (and prints it).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${FRAGML_BIN:?}"
in=${1:?usage: source-report.sh LIFETIME.csv[.gz] OUTDIR} w=${2:?usage: source-report.sh LIFETIME.csv[.gz] OUTDIR}
# shellcheck source=models.conf
. "$here/models.conf"
TRAIN_SEED=${TRAIN_SEED:-1}
TOP=${TOP:-15}
rm -rf "$w" && mkdir -p "$w"
"$here/pad-features.sh" "$in" "$w/lifetime.csv"

# label := pollutes; per application the rows relabelled by source group (two groupings,
# system source and process) for the held-out scoring; pages and blocks per group
awk -F, -v OFS=, -v w="$w" -f "$here/pollutes.awk" -f <(cat <<'EOA'
function sysgroup(	a, n) {
	n = split($5, a, ":")
	if ($4 == "slab")
		return (a[1] == "slab" && n >= 2) ? "slab:" a[2] : "slab:(cache unknown)"
	if ($4 == "net")
		return "sockets (net)"
	if ($4 == "pipe")
		return "pipes"
	if ($4 == "pagetable")
		return "page tables"
	if ($4 == "kstack")
		return "kernel stacks"
	if ($4 == "pagecache")
		return "page cache"
	if ($4 == "kernel")
		return "other kernel pages"
	return $4
}
function procgroup(	a, n) {
	n = split($5, a, ":")
	if (a[1] == "slab" && n >= 4)
		return a[3]
	if (a[1] == "kthread")
		return "kthread:" a[2]
	return a[1]
}
NR == 1 { pollutes_header(); hdr = $0; print > (w "/pollutes.csv"); next }
{
	p = pollutes() ? 1 : 0
	$PCOL["label"] = p
	print > (w "/pollutes.csv")
	app = $2; sg = sysgroup(); pg = procgroup()
	if (!(app in apps)) {
		apps[app] = 1
		print hdr > (w "/sys-" app ".csv"); print hdr > (w "/proc-" app ".csv"); print app > (w "/apps.txt")
	}
	rest = $0
	$2 = sg; print > (w "/sys-" app ".csv")
	$0 = rest; $2 = pg; print > (w "/proc-" app ".csv")
	$0 = rest
	if (p) {
		blk = int($PCOL["pfn"] / 512)
		printf "sys\t%s\t%d\n", sg, blk > (w "/blocks.txt")
		printf "app\t%s\t%d\n", app, blk > (w "/blocks.txt")
		printf "proc\t%s\t%d\n", pg, blk > (w "/blocks.txt")
		printf "all\tall\t%d\n", blk > (w "/blocks.txt")
	}
}
EOA
) "$w/lifetime.csv"
touch "$w/blocks.txt"

# held out: one model per application, trained without it, scored on its rows
shape=(--kind binary --trees 16 --max-depth 5 --features "$FEATURES_lifetime" --seed "$TRAIN_SEED")
: >"$w/scores.txt"
while read -r app; do
	if "$FRAGML_BIN/fragml-train" --hook lifetime --data "$w/pollutes.csv" --test-workloads "$app" \
		-o "$w/loo-$app.bin" -q "${shape[@]}" 2>"$w/loo-$app.err"; then
		for g in sys proc; do
			"$FRAGML_BIN/fragml-train" --hook lifetime --data "$w/$g-$app.csv" --eval "$w/loo-$app.bin" \
				-r "$w/$g-$app.json" -q 2>/dev/null
			jq -r --arg g "$g" '.by_workload | to_entries[] | "\($g)\t\(.key)\t\(.value.tp)\t\(.value.fp)\t\(.value.fn)"' \
				"$w/$g-$app.json" >>"$w/scores.txt"
		done
		jq -r --arg a "$app" '"app\t\($a)\t\(.metrics.tp)\t\(.metrics.fp)\t\(.metrics.fn)"' "$w/sys-$app.json" >>"$w/scores.txt"
	else
		echo "# $app: no held-out model ($(tail -1 "$w/loo-$app.err"))" >>"$w/notes.txt"
	fi
done <"$w/apps.txt"

# one table per grouping: pages, blocks, share, held-out precision/recall
table() {	# KIND TITLE
	echo "### $2"
	echo
	echo "| source | rows | polluting pages | polluted blocks | share of polluted blocks | predicted polluting | precision | recall |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|"
	awk -F'\t' -v k="$1" -v top="$TOP" '
		FILENAME ~ /blocks/ { if ($1 == "all") { if (!($3 in ab)) { ab[$3] = 1; B++ } ; next }
				      if ($1 != k) next
				      pages[$2]++; if (!(($2, $3) in gb)) { gb[$2, $3] = 1; blocks[$2]++ } ; next }
		FILENAME ~ /scores/ { if ($1 != k) next; tp[$2] += $3; fp[$2] += $4; fn[$2] += $5; seen[$2] = 1; next }
		FILENAME ~ /rows/ { if ($1 == k) rows[$2] += $3; next }
		END {
			for (g in rows) if (!(g in pages)) pages[g] = 0
			for (g in pages) {
				pr = (tp[g] + fp[g]) ? sprintf("%.3f", tp[g] / (tp[g] + fp[g])) : "-"
				rc = (tp[g] + fn[g]) ? sprintf("%.3f", tp[g] / (tp[g] + fn[g])) : "-"
				if (!(g in seen)) { pr = "n/a"; rc = "n/a" }
				printf "%d\t| %s | %d | %d | %d | %.1f %% | %d | %s | %s |\n", pages[g], g, rows[g], pages[g], blocks[g],
					B ? 100 * blocks[g] / B : 0, tp[g] + fp[g], pr, rc
			}
		}' "$w/blocks.txt" "$w/scores.txt" "$w/rows.txt" | sort -t'	' -k1,1nr -k2 | head -n "$TOP" | cut -f2-
	echo
}
# rows per group (all rows, for the denominators)
for g in sys proc; do
	for f in "$w"/$g-*.csv; do
		awk -F, -v g="$g" 'NR > 1 { n[$2]++ } END { for (k in n) printf "%s\t%s\t%d\n", g, k, n[k] }' "$f"
	done
done >"$w/rows.txt"
awk -F, 'NR > 1 { n[$2]++ } END { for (k in n) printf "app\t%s\t%d\n", k, n[k] }' "$w/lifetime.csv" >>"$w/rows.txt"

npol=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") l = i; next } { p += $l } END { print p + 0 }' "$w/pollutes.csv")
nblk=$(awk '$1 == "all" { print $3 }' "$w/blocks.txt" | sort -u | wc -l)
{
	echo "## Who pollutes pageblocks"
	echo
	echo "Data: \`$(basename "$in")\`, $(($(wc -l <"$w/lifetime.csv") - 1)) rows; $npol polluting pages (trainer/pollutes.awk) in $nblk polluted pageblocks."
	echo "Precision/recall: the pollutes model (lifetime model's shape and features, label = pollutes) trained"
	echo "without the application and scored on its rows, summed over applications (\`predicted polluting\` = its"
	echo "positive calls). Rows are those of the data (the committed data are trimmed: at most CAP_ROWS rows per"
	echo "application and class and CAP_FALLBACK fallback rows, trainer/models.conf). \`slab:(cache unknown)\`: slab"
	echo "pages whose cache the collector had not resolved (source without \`slab:<cache>\`)."
	echo
	table sys "System sources (allocation class; slab by cache)"
	table app "Applications (scenario)"
	table proc "Processes (comm; top $TOP by polluting pages)"
	[ -s "$w/notes.txt" ] && { echo "Not scored:"; sed 's/^# /* /' "$w/notes.txt"; echo; }
	echo "Command: \`FRAGML_BIN=build/bin trainer/source-report.sh $(basename "$in") OUTDIR\` (\`make source-report\`)."
} >"$w/sources.md"
cat "$w/sources.md"
