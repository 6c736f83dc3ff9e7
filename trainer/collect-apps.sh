#!/bin/bash
# Labelled training data from real applications under memory pressure, in the
# 1 GB QEMU guest (`make collect-apps`; not in CI).  The evaluation runner does
# the work: selftests/eval/collect.matrix runs every application scenario
# (redis, postgres, build, files, sockets, pagecache; pipes as a synthetic
# extra) under the policy `collect` (kernel default; fragml-collect traces the
# whole guest around the cell, workload = scenario), one VM boot per cell.
# The matrix runs once per guest shape of COLLECT_MACHINES (default: the 1 GB
# `pc` guest, whose memory is all DMA32, and the same 1 GB with 512 MB of it
# above 4 GB, a ZONE_NORMAL, where fallbacks are far more frequent), into
# OUT/eval-1, OUT/eval-2, ...  The cells are then merged into OUT/merged
# (every row under its scenario's name: the guest runs nothing else) and
# trimmed into DATA (the committed trainer/data/apps-*.csv.gz) by
# trainer/trim-collection.sh.
#
#   trainer/collect-apps.sh BZIMAGE OUT [DATA]
#
# Environment: FRAGML_BIN, FRAGML_EVAL_WORK (as selftests/eval/run-eval.sh),
# COLLECT_MATRIX (default selftests/eval/collect.matrix), COLLECT_MACHINES
# (QEMU -machine values separated by spaces), FRAGML_EVAL_ONLY
# (a subset of cells), COLLECT_MERGE_ONLY=1 (merge and trim the cells of an
# earlier run only).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
bz=${1:?usage: collect-apps.sh BZIMAGE OUT [DATA]} out=${2:?usage: collect-apps.sh BZIMAGE OUT [DATA]}
data=${3:-}
matrix=${COLLECT_MATRIX:-$top/selftests/eval/collect.matrix}
mkdir -p "$out"
out=$(cd "$out" && pwd)
machines=${COLLECT_MACHINES:-pc pc,max-ram-below-4g=512M}
if [ -z "${COLLECT_MERGE_ONLY:-}" ]; then
	date -u +%FT%TZ >"$out/started"
	i=0
	for m in $machines; do
		i=$((i + 1))
		echo "collect-apps: guest shape $i: -machine $m" >&2
		# a cell without metrics does not stop the others; its data are left out below
		FRAGML_VM_MACHINE=$m "$top/selftests/eval/run-eval.sh" "$matrix" "$out/eval-$i" "$bz" || true
	done
	date -u +%FT%TZ >"$out/finished"
fi
dirs=()
for c in "$out"/eval*/cells/*.collect.s*; do
	if grep -q '^cell_ok 1$' "$c/metrics.txt" 2>/dev/null && [ -s "$c/collect/lifetime.csv" ]; then
		dirs+=("$c/collect")
	else
		echo "collect-apps: $(basename "$c"): no data (see $c/run.log)" >&2
	fi
done
[ ${#dirs[@]} -gt 0 ] || { echo "collect-apps: no cell of $out/eval produced data" >&2; exit 1; }
# pfn made unique across cells (each one a fresh boot): cell i's pfn + i * 2^24 (a guest has
# fewer than 2^24 pages; below 2^31 for awk's integers, up to 127 cells), so that a
# pageblock (pfn >> 9) of the merged data names one block of one cell (the source report)
rm -rf "$out/cells-prep"
prep=() i=0
[ ${#dirs[@]} -le 127 ] || { echo "collect-apps: more than 127 cells" >&2; exit 1; }
for d in "${dirs[@]}"; do
	i=$((i + 1))
	p=$out/cells-prep/$(printf %03d $i)-$(basename "$(dirname "$d")")
	mkdir -p "$p"
	cp "$d/thp_fault.csv" "$d/compaction.csv" "$d/summary.json" "$p/"
	awk -F, -v OFS=, -v off=$((i * 16777216)) 'NR == 1 { for (j = 1; j <= NF; j++) if ($j == "pfn") c = j; print; next }
		c && $c != "" { $c = $c + off } { print }' "$d/lifetime.csv" >"$p/lifetime.csv"
	prep+=("$p")
done
# huge=1 thp_fault rows kept: under THP always most eligible regions got a huge page at once;
# without them the data hold only the regions that fell back (mostly sparse), and a model
# learns to decline every region that is not advised
OWN_COMMS=all KEEP_HUGE=1 "$here/merge-collection.sh" "$out/merged" "${prep[@]}" >/dev/null
# provenance: which kernel and which collector (the commit of the cells' meta.txt)
c1=$(dirname "${dirs[0]}")
k=$(awk '$1 == "kernel" { $1 = ""; print substr($0, 2) }' "$c1/meta.txt")
echo "${k:-unknown} (patched 6.12 in the QEMU guest, 1 GB, -machine $(for c in "${dirs[@]}"; do awk '$1 == "machine" { print $2 }' "$(dirname "$c")/meta.txt"; done | sort -u | paste -sd' ' | sed 's/ / and /g'), policy collect)" >"$out/merged/kernel"
awk '$1 == "commit" { print $2 }' "$c1/meta.txt" >"$out/merged/collector-rev"
cp "$out/started" "$out/finished" "$out/merged/" 2>/dev/null || true
{
	echo "make collect-apps    # trainer/collect-apps.sh BZIMAGE OUT: $(basename "$matrix"): $(grep -E '^(secs|seeds|fault_mb)' "$matrix" | tr '\n' ' ')"
} >"$out/merged/command"
# per cell: what the guest measured (pressure, fallbacks, compaction)
{
	echo "| cell | lifetime rows | thp_fault rows | compaction rows | fallbacks (kernel) | polluted blocks | compact stalls | THP fallbacks | swap-out |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	for d in "${dirs[@]}"; do
		c=$(dirname "$d")
		m() { awk -v k="$1" '$1 == k { print $2 }' "$c/metrics.txt" | head -1; }
		echo "| $(basename "$c") $(awk '$1 == "machine" { print $2 }' "$c/meta.txt") | $(($(wc -l <"$d/lifetime.csv") - 1)) | $(($(wc -l <"$d/thp_fault.csv") - 1)) | $(($(wc -l <"$d/compaction.csv") - 1)) | $(m extfrag_bpf_events) | $(m extfrag_polluted_blocks) | $(m vm_compact_stall) | $(m vm_thp_fault_fallback) | $(m vm_pswpout) |"
	done
} >"$out/merged/cells.md"
echo "collect-apps: $out/merged ($(basename "$matrix"), ${#dirs[@]} cells)"
if [ -n "$data" ]; then
	"$here/trim-collection.sh" "$out/merged" "$data"
fi
