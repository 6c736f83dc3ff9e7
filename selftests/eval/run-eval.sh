#!/bin/bash
# The evaluation runner: one VM boot per cell of a scenario x policy x seed
# matrix (so every cell starts from the same state), the cell's counters
# collected by eval-guest.sh, then the raw CSV, the summary CSV and the report.
#
#   run-eval.sh MATRIX OUTDIR BZIMAGE
#
# MATRIX (selftests/eval/*.matrix) has lines
#   secs N               seconds of workload per cell (guest clock; 2/5 of it
#                        fragmentation alone, the rest with the THP faulter)
#   seeds S...           seeds run for every cell line
#   fault_mb N           faulter working set (MiB)
#   cell SCENARIO POLICY...   one cell per policy and seed (policies in
#                        order, all seeds of one before the next: an oracle
#                        policy replays the cell of the policy it names, so
#                        list that policy first)
# Environment: FRAGML_BIN (build/bin), FRAGML_EVAL_WORK (evalwork binary),
# FRAGML_EVAL_KHASH (patch-series hash), FRAGML_VM_MEM / FRAGML_VM_MACHINE /
# FRAGML_VM_SWAP (guest shape, see selftests/vm/run-vm.sh), FRAGML_EVAL_ONLY
# (run only cells whose "scenario.policy.sSEED" name matches this regex).
# Progress goes to stderr, one line per cell.  Exit status 1 when any cell
# produced no metrics.
set -uo pipefail
matrix=$1 out=$2 bz=$3
edir=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$edir/../.." && pwd)
: "${FRAGML_BIN:?}" "${FRAGML_EVAL_WORK:?}"
export FRAGML_VM_MEM=${FRAGML_VM_MEM:-1G} FRAGML_VM_MACHINE=${FRAGML_VM_MACHINE:-pc}
export FRAGML_VM_SWAP=${FRAGML_VM_SWAP:-1G}

[ -r "$matrix" ] || { echo "run-eval: $matrix: no such matrix" >&2; exit 1; }
secs=60 seeds=1 fault_mb=448
cells=()
while read -r key rest; do
	case $key in
	'' | '#'*) ;;
	secs) secs=$rest ;;
	seeds) seeds=$rest ;;
	fault_mb) fault_mb=$rest ;;
	cell)
		read -r sc pols <<<"$rest"
		[ -r "$edir/scenarios/$sc.sh" ] || { echo "run-eval: $matrix: no scenario $sc (selftests/eval/scenarios/$sc.sh)" >&2; exit 1; }
		for p in $pols; do
			[ -r "$edir/policies/$p.policy" ] || { echo "run-eval: $matrix: no policy $p (selftests/eval/policies/$p.policy)" >&2; exit 1; }
			for s in $seeds; do
				name=$sc.$p.s$s
				[[ -n ${FRAGML_EVAL_ONLY:-} && ! $name =~ $FRAGML_EVAL_ONLY ]] && continue
				cells+=("$sc $p $s")
			done
		done ;;
	*) echo "run-eval: $matrix: unknown key '$key'" >&2; exit 1 ;;
	esac
done <"$matrix"
[ ${#cells[@]} -gt 0 ] || { echo "run-eval: $matrix: no cells" >&2; exit 1; }

mkdir -p "$out/cells"
out=$(cd "$out" && pwd)	# the guest reads earlier cells here (oracle policies)
# a partial run (FRAGML_EVAL_ONLY) keeps the other cells of an earlier run
[ -z "${FRAGML_EVAL_ONLY:-}" ] && rm -rf "${out:?}"/cells/*
cp "$matrix" "$out/matrix.txt" && basename "$matrix" >"$out/matrix.name"
commit=$(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown)
total=${#cells[@]} i=0 failed=0 t_start=$(date +%s) last=0
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }
echo "# eval: $total cells from $(basename "$matrix"), $secs s of workload each, guest $FRAGML_VM_MEM machine $FRAGML_VM_MACHINE swap $FRAGML_VM_SWAP" >&2
for c in "${cells[@]}"; do
	read -r sc p s <<<"$c"
	i=$((i + 1))
	now=$(date +%s) el=$((now - t_start))
	left=""
	[ $i -gt 1 ] && left=", last cell ${last} s, about $(mmss $((el / (i - 1) * (total - i + 1)))) left"
	echo "[cell $i/$total] scenario=$sc policy=$p seed=$s elapsed $(mmss $el)$left" >&2
	cdir=$out/cells/$sc.$p.s$s
	rm -rf "$cdir"
	mkdir -p "$cdir"
	c0=$(date +%s)
	FRAGML_VM_TIMEOUT=$((secs + 360)) "$top/selftests/vm/run-vm.sh" "$bz" "$cdir" script \
		FRAGML_SCRIPT="$edir/eval-guest.sh" FRAGML_BIN="$FRAGML_BIN" FRAGML_EVAL_DIR="$edir" \
		FRAGML_EVAL_WORK="$FRAGML_EVAL_WORK" FRAGML_EVAL_TOP="$top" \
		FRAGML_EVAL_SCENARIO="$sc" FRAGML_EVAL_POLICY="$p" FRAGML_EVAL_SEED="$s" \
		FRAGML_EVAL_SECS="$secs" FRAGML_EVAL_FAULT_MB="$fault_mb" FRAGML_EVAL_OUT="$out" \
		>"$cdir/run.log" 2>"$cdir/vm.log"
	rc=$?
	last=$(($(date +%s) - c0))
	guest=$(sed -n 's/^# guest: //p' "$cdir/guest.txt" 2>/dev/null | head -1)
	{
		echo "cell $sc.$p.s$s"
		echo "scenario $sc"
		echo "policy $p"
		echo "seed $s"
		echo "secs $secs"
		echo "fault_mb $fault_mb"
		echo "guest_mem $FRAGML_VM_MEM"
		echo "machine $FRAGML_VM_MACHINE"
		echo "swap $FRAGML_VM_SWAP"
		echo "kernel ${guest%%,*}"
		echo "patch_hash ${FRAGML_EVAL_KHASH:-unknown}"
		echo "commit $commit"
		echo "guest $(echo "$guest" | tr ', ' ';_')"
		echo "host_cell_s $last"
		echo "vm_rc $rc"
	} >"$cdir/meta.txt"
	if [ $rc != 0 ] || ! grep -q '^cell_ok 1$' "$cdir/metrics.txt" 2>/dev/null; then
		failed=$((failed + 1))
		echo "# eval: cell $sc.$p.s$s FAILED (exit $rc): $(grep -h -m1 -E 'FAILED|guest check failed|did not finish|timed out' "$cdir/run.log" "$cdir/vm.log" "$cdir/guest.txt" 2>/dev/null | head -1)${rc:+}" >&2
		tail -3 "$cdir/run.log" 2>/dev/null | sed 's/^/#   /' >&2
	fi
done

echo "# eval: $total cells in $(mmss $(($(date +%s) - t_start))), $failed without metrics" >&2
"$edir/report.sh" "$out" || failed=$((failed + 1))
[ $failed = 0 ]
