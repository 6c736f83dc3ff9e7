#!/bin/bash
# Collect the fallback gate's training data in the QEMU guest and merge it
# into the committed dataset (`make collect-gate`):
#
#   trainer/collect-gate.sh BZIMAGE OUT [DATA_DIR]
#
# boots BZIMAGE with trainer/collect-gate-guest.sh (GATE_SEEDS, GATE_WORKLOADS,
# GATE_EXPLORE, GATE_EXPLORE_ACTION, GATE_TIMEOUT pass through; FRAGML_VM_MACHINE
# picks the guest's shape, as for the VM tests), then concatenates the per-run
# CSVs of OUT/vm/<workload>-s<seed>/ into DATA_DIR (default trainer/data):
# NAME.csv.gz (deferred decisions, labelled: the training data),
# NAME_now.csv.gz (decisions to fall back at once, outcome only) and
# NAME-collection.md (rows, label balance and gate counters per run);
# NAME = GATE_NAME, default fallback; GATE_SOURCE names where the runs came
# from in the .md (default: this script's guest).
# gzip -n: the same CSVs give the same bytes.
set -euo pipefail
bz=${1:?usage: collect-gate.sh BZIMAGE OUT [DATA_DIR]} out=${2:?usage: collect-gate.sh BZIMAGE OUT [DATA_DIR]}
top=$(cd "$(dirname "$0")/.." && pwd)
data=${3:-$top/trainer/data}
name=${GATE_NAME:-fallback}
mkdir -p "$out/vm" "$data"
vars=(FRAGML_SCRIPT="$top/trainer/collect-gate-guest.sh" FRAGML_BIN="$top/build/bin")
for v in GATE_SEEDS GATE_WORKLOADS GATE_EXPLORE GATE_EXPLORE_ACTION GATE_TIMEOUT GATE_PCP_FRACTION; do
	[ -n "${!v:-}" ] && vars+=("$v=${!v}")
done
# GATE_MERGE_ONLY=1: no guest run, merge what OUT/vm holds (runs of several collections)
if [ -z "${GATE_MERGE_ONLY:-}" ]; then
	FRAGML_VM_TIMEOUT=${FRAGML_VM_TIMEOUT:-3000} "$top/selftests/vm/run-vm.sh" "$bz" "$out/vm" script "${vars[@]}" |
		tee -a "$out/guest.txt"
fi

merge() {	# name: header of the first file, rows of all, in run order
	local first=1 f
	for f in "$out"/vm/*-s*/"$1"; do
		[ -s "$f" ] || continue
		if [ $first = 1 ]; then cat "$f"; first=0; else tail -n +2 "$f"; fi
	done
}
merge fallback.csv | gzip -n -9 > "$data/$name.csv.gz"
merge fallback_now.csv | gzip -n -9 > "$data/${name}_now.csv.gz"

{
	echo "# Fallback-gate collection"
	echo
	echo "Made by ${GATE_SOURCE:-\`trainer/collect-gate.sh\` (guest: \`trainer/collect-gate-guest.sh\`)}; machine ${FRAGML_VM_MACHINE:-pc}, exploring now against ${GATE_EXPLORE_ACTION:-defer}, kernel $(basename "$(dirname "$(dirname "$(dirname "$(dirname "$bz")")")")"), $(date -u +%F)."
	echo
	echo "| run | deferred rows | label 1 (no mixing fallback) | now rows | now without mixing | decisions | open | lost | gate defer | satisfied | fellback | reclaimed | compacted |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for d in "$out"/vm/*-s*/; do
		[ -f "$d/gate_summary.json" ] || continue
		n=$(basename "$d")
		read -r dr d1 < <(awk -F, 'NR==1{for(i=1;i<=NF;i++)if($i=="label")l=i;next}{n++;s+=$l}END{print n+0, s+0}' "$d/fallback.csv")
		read -r nr n1 < <(awk -F, 'NR==1{for(i=1;i<=NF;i++)if($i=="label")l=i;next}{n++;s+=$l}END{print n+0, s+0}' "$d/fallback_now.csv")
		j() { grep -o "\"$1\": *[0-9-]*" "$d/gate_summary.json" | grep -o '[0-9-]*$' || echo 0; }
		echo "| $n | $dr | $d1 | $nr | $n1 | $(j decisions) | $(j open) | $(( $(j lost_decisions) + $(j lost_outcomes) )) | $(j fallback_gate_defer) | $(j fallback_gate_defer_satisfied) | $(j fallback_gate_defer_fellback) | $(j fallback_gate_defer_reclaimed) | $(j fallback_gate_defer_compacted) |"
	done
	echo
	echo "sha256:"
	echo
	echo '```'
	(cd "$data" && sha256sum "$name.csv.gz" "${name}_now.csv.gz")
	echo '```'
} > "$data/$name-collection.md"
echo "collect-gate: $(zcat "$data/$name.csv.gz" | tail -n +2 | wc -l) deferred rows, $(zcat "$data/${name}_now.csv.gz" | tail -n +2 | wc -l) now rows -> $data"
