#!/bin/bash
# The enforce-mode demo, inside the patched kernel (run by guest-init.sh):
# fragment memory with unmovable scatter, then run the same MADV_HUGEPAGE
# faulter under the kernel default and under fragml models, and print what
# each got.  FRAGML_BIN, FRAGML_TESTDIR and FRAGML_MODELS (the shipped
# models, model/defaults) come from the kernel command line.
set -u
bin=${FRAGML_BIN:?} tdir=${FRAGML_TESTDIR:?}
pipes=${FRAGML_FRAG_PIPES:-110000} mb=${FRAGML_FAULT_MB:-384}
counters="thp_fault_alloc thp_fault_fallback thp_fault_declined thp_fault_policy_no_compact
 thp_fault_policy_compact thp_fault_policy_default compact_stall compact_success compact_fail
 compact_policy_run compact_policy_skip"

snap() { for c in $counters; do awk -v k="$c" '$1 == k { print $2 }' /proc/vmstat; done; }
order9_free() { awk '{ s = 0; for (i = 14; i <= NF; i++) s += $i * 2 ^ (i - 14); t += s } END { print t + 0 }' /proc/buddyinfo; }

echo "# fragml demo: $(uname -r), THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
"$bin/fragml" detach >/dev/null 2>&1
"$tdir/vmdemo" fragment "$pipes" /tmp/frag.ready &
frag=$!
for _ in $(seq 600); do [ -e /tmp/frag.ready ] && break; sleep 0.5; done
[ -e /tmp/frag.ready ] || { echo "# fragmenter did not finish"; exit 1; }
echo "# unmovable scatter: $pipes pipes holding one page each, 1 in 8 kept open"
echo "# free order>=9 blocks: $(order9_free); unusable index (order 9 is the 10th column):"
sed 's/^/#   /' /sys/kernel/debug/extfrag/unusable_index

mk() { "$bin/fragml-mkmodel" "$@" >/dev/null; }
mk --hook thp_fault --const no_compact -o /tmp/thp-nocompact.bin
mk --hook thp_fault --const compact -o /tmp/thp-compact.bin
mk --hook thp_fault --const decline -o /tmp/thp-decline.bin
mk --hook thp_fault --rule 'free_huge_blocks<16?no_compact:compact' -o /tmp/thp-rule.bin
mk --hook compaction --rule 'unusable_ppk<900?run:skip' -o /tmp/cmp-rule.bin

run() {	# name, then the setup commands
	local name=$1 ms a b
	shift
	"$bin/fragml" detach >/dev/null 2>&1
	for m in "$@"; do "$bin/fragml-load" -q "$m" || echo "# $name: fragml-load $m failed"; done
	a=($(snap))
	ms=$("$tdir/vmdemo" fault "$mb")
	b=($(snap))
	printf '%-26s' "$name"
	for i in "${!a[@]}"; do printf ' %8d' $(( b[i] - a[i] )); done
	printf ' %8d\n' "$ms"
}

echo "# faulter: $mb MiB MADV_HUGEPAGE, every 4 KiB page written; vmstat deltas per run"
printf '%-26s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' scenario \
	thp_huge fallback declined pol_nocmp pol_cmp pol_deflt c_stall c_succ c_fail \
	cpol_run cpol_skip fault_ms
run "kernel default"
run "model: decline" /tmp/thp-decline.bin
run "model: no_compact" /tmp/thp-nocompact.bin
run "model: compact" /tmp/thp-compact.bin
run "model: rule thp+compaction" /tmp/thp-rule.bin /tmp/cmp-rule.bin
if [ -n "${FRAGML_MODELS:-}" ]; then
	run "shipped models" "$FRAGML_MODELS/thp_fault.bin" "$FRAGML_MODELS/compaction.bin" \
		"$FRAGML_MODELS/lifetime.bin"
fi
# The fallback gate with the defrag_mode-style rule (make rules): its effect is
# on where later unmovable pages go, so the faulter here shows its cost only
# (docs/report-gate.md has the pageblock counts).  The learned gate
# (model/defaults/fallback.bin) is shown only on request: it defers the
# faulter's own movable fallbacks and stalled it 121 s here (docs/report-gate.md).
[ -r "$bin/../models/defrag_mode.bin" ] && run "gate: defrag_mode rule" "$bin/../models/defrag_mode.bin"
# Opt-in (make demo-vm FRAGML_DEMO_LEARNED_GATE=1): the learned gate's stall.
if [ -n "${FRAGML_DEMO_LEARNED_GATE:-}" ] && [ -n "${FRAGML_MODELS:-}" ]; then
	run "shipped + learned gate" "$FRAGML_MODELS/thp_fault.bin" "$FRAGML_MODELS/compaction.bin" \
		"$FRAGML_MODELS/fallback.bin"
fi
echo "# fallback gate counters (whole demo):"
grep '^fallback_gate_' /proc/vmstat | sed 's/^/#   /'
echo "# decisions per model version and action (fragml status, last run):"
"$bin/fragml" status 2>&1 | sed 's/^/#   /'
"$bin/fragml" detach >/dev/null 2>&1
kill "$frag" 2>/dev/null
exit 0
