#!/bin/bash
# The fallback gate's training data from an evaluation run whose policy
# collects (`collect --gate ...`, e.g. selftests/eval/gate-collect.matrix):
#
#   trainer/merge-gate-eval.sh BZIMAGE EVAL_OUT POLICY NAME [DATA_DIR]
#
# links the collect/ folder of each cell of POLICY as <scenario>-s<seed> and
# merges them with trainer/collect-gate.sh (GATE_MERGE_ONLY=1) into DATA_DIR
# (default trainer/data): NAME.csv.gz, NAME_now.csv.gz, NAME-collection.md
# (gate-collect-compact -> fallback-compact, gate-collect-defer ->
# fallback-normal).  BZIMAGE only names the kernel in the .md.
set -euo pipefail
usage="usage: merge-gate-eval.sh BZIMAGE EVAL_OUT POLICY NAME [DATA_DIR]"
bz=${1:?$usage} ev=${2:?$usage} policy=${3:?$usage} name=${4:?$usage}
top=$(cd "$(dirname "$0")/.." && pwd)
data=${5:-$top/trainer/data}
[ -d "$ev/cells" ] || { echo "merge-gate-eval: $ev/cells: no such folder (an eval run's output)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/vm"
n=0
for c in "$ev"/cells/*/; do
	[ -s "$c/collect/gate_summary.json" ] || continue
	cell=$(basename "$c")			# scenario.policy.sSEED
	[ "${cell#*.}" = "$policy.${cell##*.}" ] || continue
	ln -s "$(cd "$c/collect" && pwd)" "$tmp/vm/${cell%%.*}-${cell##*.}"
	n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "merge-gate-eval: no cell of policy $policy in $ev collected gate data (collect --gate)" >&2; exit 1; }
matrix=$(cat "$ev/matrix.name" 2>/dev/null || echo "an evaluation matrix")
GATE_MERGE_ONLY=1 GATE_NAME=$name \
	GATE_SOURCE="\`trainer/merge-gate-eval.sh\` from the cells of \`selftests/eval/$matrix\` (\`make eval\`, policy $policy, key \`collect --gate ...\`: selftests/eval/eval-guest.sh)" \
	"$top/trainer/collect-gate.sh" "$bz" "$tmp" "$data"
