#!/bin/bash
# Merge per-scenario fragml-collect outputs into one training collection for
# `make models COLLECT_DIR=OUT`, keeping each workload's OWN rows apart from the
# rest of the machine.
#
#   trainer/merge-collection.sh OUT SCENARIO_DIR...
#
# Each SCENARIO_DIR is a `fragml-collect -o DIR -w NAME` output (docs/dataset.md);
# `selftests/workloads/collect-all.sh` makes one per scenario.  Collection is
# system-wide, so a scenario's CSV also holds every other task of the machine
# (on the shared development machines: kernel builds, other engineers' tests).
# Rows are therefore split by the allocating task's comm (from `source`):
#
#  * comm matches OWN_COMMS (the workload's own processes)  -> workload = the scenario
#  * anything else (other tasks, kernel threads, the collector)  -> workload `background`,
#    thinned deterministically to at most BG_CAP rows per scenario and hook (every k-th row)
#  * thp_fault rows with huge=1 are dropped: a region that got a huge page at its first fault
#    cannot have its density measured, its label says only "lived >= --thp-life"
#    (docs/dataset.md), which is not the utility label the model should learn
#  * compaction rows are zone-wide events: all are kept under the scenario's name
#  * KEEP_HUGE=1: thp_fault rows with huge=1 are kept (label: the huge page lived
#    --thp-life), so that a collection under THP `always` is not left with only the
#    regions that fell back to 4 KB (trainer/collect-apps.sh)
#  * OWN_COMMS=all: no split, every row stays under its scenario's name (a guest
#    that runs nothing but the scenario: trainer/collect-apps.sh)
#
# Writes OUT/{lifetime,thp_fault,compaction}.csv and OUT/collection.md (per workload: rows,
# positives, allocation classes; what was dropped).  Deterministic: same inputs, same output.
set -euo pipefail
out=${1:?usage: merge-collection.sh OUT SCENARIO_DIR...}; shift
[ $# -gt 0 ] || { echo "merge-collection: no scenario directories" >&2; exit 2; }
OWN_COMMS=${OWN_COMMS:-'^(fmw-real|redis-server|redis-benchmark?|redis-cli|run\.sh)$'}
BG_CAP=${BG_CAP:-4000}
mkdir -p "$out"

for hook in lifetime thp_fault compaction; do
	first=1
	for d in "$@"; do
		f=$d/$hook.csv
		[ -r "$f" ] || { echo "merge-collection: $f: missing" >&2; exit 1; }
		if [ $first = 1 ]; then head -1 "$f" > "$out/$hook.csv.tmp"; hdr=$(head -1 "$f"); first=0
		elif [ "$(head -1 "$f")" != "$hdr" ]; then
			echo "merge-collection: $f: header differs from the first file's" >&2; exit 1
		fi
		nbg=$(awk -F, -v own="$OWN_COMMS" -v hook=$hook '
			NR == 1 { next }
			hook == "compaction" || own == "all" { next }
			{ n = split($5, a, ":"); c = (a[1] == "slab" && n >= 4) ? a[3] : a[1]
			  if (a[1] == "kthread" || a[1] == "kcompactd" || c !~ own) bg++ }
			END { print bg + 0 }' "$f")
		awk -F, -v OFS=, -v own="$OWN_COMMS" -v hook=$hook -v nbg="$nbg" -v cap="$BG_CAP" -v keephuge="${KEEP_HUGE:-0}" '
			NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; k = int((nbg + cap - 1) / cap); if (k < 1) k = 1; next }
			hook == "thp_fault" && $col["huge"] == 1 && !keephuge { next }
			hook == "compaction" || own == "all" { print; next }
			{ n = split($5, a, ":"); c = (a[1] == "slab" && n >= 4) ? a[3] : a[1]
			  if (a[1] == "kthread" || a[1] == "kcompactd" || c !~ own) {
				if (bi++ % k) next
				$2 = "background"
			  }
			  print }' "$f" >> "$out/$hook.csv.tmp"
	done
	mv "$out/$hook.csv.tmp" "$out/$hook.csv"
done

# ---- summary ----
{
	echo "# Merged real collection"
	echo
	echo "Scenario directories: $*"
	for d in "$@"; do
		s=$(basename "$d")
		[ -r "$d/summary.json" ] && echo "* \`$s\`: $(grep -o '"elapsed_s":[0-9.]*\|"events":[0-9]*\|"lost":[0-9]*\|"censored":[0-9]*\|"lifetime_T_s":[0-9]*\|"sample":[0-9]*' "$d/summary.json" | head -6 | tr '\n' ' ')"
	done
	echo
	if [ "$OWN_COMMS" = all ]; then
		echo "Every row under its scenario's name; thp_fault rows with huge=1 $([ "${KEEP_HUGE:-0}" = 1 ] && echo kept || echo dropped)."
	else
		echo "Own rows: comm =~ \`$OWN_COMMS\`; everything else -> \`background\` (at most $BG_CAP rows"
		echo "per scenario and hook, every k-th); thp_fault rows with huge=1 dropped."
	fi
	for hook in lifetime thp_fault compaction; do
		echo
		echo "## $hook.csv: $(($(wc -l < "$out/$hook.csv") - 1)) rows, sha256 \`$(sha256sum "$out/$hook.csv" | cut -c1-16)…\`"
		echo
		echo "| workload | rows | label=1 | share | classes (rows:label=1) |"
		echo "|---|---:|---:|---:|---|"
		awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
			{ w = $2; n[w]++; p[w] += ($col["label"] > 0); cl[w "|" $4]++; cp[w "|" $4] += ($col["label"] > 0); N++; P += ($col["label"] > 0) }
			END { for (w in n) {
				s = ""; for (k in cl) { split(k, a, "|"); if (a[1] == w) s = s sprintf(" %s %d:%d", a[2], cl[k], cp[k]) }
				printf "| %s | %d | %d | %.3f |%s |\n", w, n[w], p[w], p[w] / n[w], s }
			      if (N) printf "| **all** | %d | %d | %.3f | |\n", N, P, P / N }' "$out/$hook.csv" | sort
	done
} > "$out/collection.md"
cat "$out/collection.md"
