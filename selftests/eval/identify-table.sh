#!/bin/bash
# Tabulate the identification of an `identify.matrix` run: per cell, the
# sources holding polluted pageblocks and the lifetime model's precision and
# recall for each (from the cells' report.json, `fragml report --json`).
#   selftests/eval/identify-table.sh EVAL_OUT [TOP]
# Markdown on stdout; TOP sources per cell (default 5), ranked as the report ranks.
set -euo pipefail
out=${1:?usage: identify-table.sh EVAL_OUT [TOP]}
top=${2:-5}
command -v jq >/dev/null || { echo "identify-table.sh: jq not installed (make deps)" >&2; exit 1; }
shopt -s nullglob
cells=("$out"/cells/*/report.json)
[ ${#cells[@]} -gt 0 ] || { echo "identify-table.sh: no cells/*/report.json under $out (run identify.matrix)" >&2; exit 1; }
echo "| cell | source | class | polluted blocks (share) | huge blocked | predicted long | judged: long→long / long→short / short→long / short→short | precision | recall |"
echo "|---|---|---|---|---|---|---|---|---|"
for f in "${cells[@]}"; do
	cell=$(basename "$(dirname "$f")")
	jq -r --arg cell "$cell" --argjson top "$top" '
		def f2: if . == null then "–" else (. * 100 | round / 100 | tostring) end;
		.sources[:$top][] |
		"| \($cell) | \(.source) | \(.class) | \(.blocks_polluted) (\(.polluted_share | f2)) | \(.huge_blocked) | \(.predicted_long) | \(.judged.predicted_long_lived_long) / \(.judged.predicted_long_lived_short) / \(.judged.predicted_short_lived_long) / \(.judged.predicted_short_lived_short) | \(.precision | f2) | \(.recall | f2) |"' "$f"
done
echo
echo "Per class, every source of every cell (judged counts summed):"
echo
echo "| class | sources | polluted blocks | long→long | long→short | short→long | short→short | precision | recall |"
echo "|---|---|---|---|---|---|---|---|---|"
jq -s -r '
	def r(a; b): if (a + b) == 0 then "–" else (a / (a + b) * 100 | round / 100 | tostring) end;
	[.[].sources[]] | group_by(.class)[] |
	{ c: .[0].class, n: length, p: (map(.blocks_polluted) | add),
	  ll: (map(.judged.predicted_long_lived_long) | add), ls: (map(.judged.predicted_long_lived_short) | add),
	  sl: (map(.judged.predicted_short_lived_long) | add), ss: (map(.judged.predicted_short_lived_short) | add) } |
	"| \(.c) | \(.n) | \(.p) | \(.ll) | \(.ls) | \(.sl) | \(.ss) | \(r(.ll; .ls)) | \(r(.ll; .sl)) |"' "${cells[@]}"
