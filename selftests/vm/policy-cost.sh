#!/bin/bash
# Guest script: what a decision of the struct_ops policy costs at a real hook,
# with the compiled model version (the default) and with the map evaluator
# (the callback's compiled slot emptied by hand), and with no model at all
# (the callback builds its vector and finds no model: its cost without the
# evaluation), alternated.  The hook is
# the thp_fault callback, asked at every huge-page fault of an anonymous
# region; the cost is the kernel's own accounting of the callback's program
# (kernel.bpf_stats_enabled: run_time_ns / run_cnt, ≈ 30 ns of bookkeeping
# included in both columns).  Under TCG every figure is emulated time:
# compare the two columns, not the host's.  Run it with
#   selftests/vm/run-vm.sh BZIMAGE OUTDIR script FRAGML_SCRIPT=$PWD/selftests/vm/policy-cost.sh FRAGML_BIN=$PWD/build/bin FRAGML_BPFTOOL=PATH
# and read OUTDIR/output.txt.  FRAGML_COST_MODELS: the thp_fault models to
# measure (default: the shipped one).
b=${FRAGML_BIN:?}
bt=${FRAGML_BPFTOOL:-bpftool}
dir=$(cd "$(dirname "$0")/../.." && pwd)
rounds=${FRAGML_COST_ROUNDS:-3}
fail() { echo "policy-cost: $*"; exit 1; }

echo always > /sys/kernel/mm/transparent_hugepage/enabled
cat > /tmp/pc-fault.c <<'C'
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
/* n passes of faulting 64 MB of 2 MB-aligned anonymous memory */
int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 20;
	size_t len = 64UL << 20;

	for (int i = 0; i < n; i++) {
		char *raw = mmap(0, len + (2UL << 20), PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		char *p = (char *)(((unsigned long)raw + (2UL << 20) - 1) & ~((2UL << 20) - 1));

		if (raw == MAP_FAILED)
			return 1;
		for (size_t off = 0; off < len; off += 4096)
			p[off] = 1;
		munmap(raw, len + (2UL << 20));
	}
	return 0;
}
C
cc -O2 -o /tmp/pc-fault /tmp/pc-fault.c || fail "no C compiler in the guest"

models=${FRAGML_COST_MODELS:-$dir/model/defaults/thp_fault.bin}

stats() {	# run_cnt run_time_ns of the policy's thp_fault program
	"$bt" prog show name fragml_thp_fault --json 2>/dev/null | jq -r '"\(.run_cnt // 0) \(.run_time_ns // 0)"'
}

sysctl -qw kernel.bpf_stats_enabled=1 || fail "no kernel.bpf_stats_enabled"
printf '%-28s %-9s %8s %10s\n' model evaluator calls "ns/call"
for m in $models; do
	"$b/fragml" detach >/dev/null 2>&1
	"$b/fragml-load" -q --no-guard "$m" || fail "fragml-load $m failed"
	[ -e /sys/fs/bpf/fragml/fragml_cprog_thp ] || fail "no compiled-program array: not the patched kernel?"
	for r in $(seq "$rounds"); do
		for ev in compiled map none; do
			case $ev in
			compiled) "$b/fragml-load" -q --no-guard "$m" || fail "fragml-load $m failed" ;;
			map)	"$bt" map delete pinned /sys/fs/bpf/fragml/fragml_cprog_thp key 1 0 0 0 ||
					fail "cannot empty the compiled slot" ;;
			none)	"$b/fragml-load" -q --no-guard --unpublish thp_fault ||
					fail "fragml-load --unpublish failed" ;;
			esac
			read -r c0 t0 < <(stats)
			/tmp/pc-fault 20 || fail "fault loop failed"
			read -r c1 t1 < <(stats)
			[ "$c1" -gt "$c0" ] || fail "the thp_fault callback did not run"
			printf '%-28s %-9s %8d %10.1f\n' "$(basename "$m")" $ev $((c1 - c0)) \
				"$(echo "($t1 - $t0) / ($c1 - $c0)" | bc -l)"
		done
	done
done
sysctl -qw kernel.bpf_stats_enabled=0
"$b/fragml" detach >/dev/null 2>&1
exit 0
