#!/bin/bash
# `make stress` (not in CI): the figures of docs/operator.md "Stress".
#
#   stress.sh BZIMAGE OUTDIR NAME=VALUE...   (the VM environment, as run-vm.sh)
#
# 1. In the patched kernel (QEMU): FRAGML_STRESS_SWAPS (10000) thp_fault model
#    swaps while two children fault huge pages (selftests/vm/stress_swap.c).
# 2. On the host: fragml-collect for STRESS_SECS (60; 600 for the 10-minute
#    run) while fragml-work drives page allocations, THP faults, pipes and
#    page-cache churn; the collector's BPF maps, their memlock (fdinfo) and
#    its RSS are read from the kernel every 10 s; lost records must be 0.
# STRESS_PART=vm or host runs one part only; STRESS_RINGBUF=KIB gives the host
# part's collector that ring size (--ringbuf; default: fragml-collect's own).
# FRAGML_STRESS_BUDGET=SECONDS stops the swaps early (a loaded host) and says so.
# Exit status: non-zero when either part failed.
set -uo pipefail
bz=$1 out=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
secs=${STRESS_SECS:-60}
swaps=${FRAGML_STRESS_SWAPS:-10000}
bin=
for kv in "$@"; do case $kv in FRAGML_BIN=*) bin=${kv#FRAGML_BIN=} ;; esac; done
testdir=
for kv in "$@"; do case $kv in FRAGML_TESTDIR=*) testdir=${kv#FRAGML_TESTDIR=} ;; esac; done
mkdir -p "$out"
rc=0

if [ "${STRESS_PART:-vm}" = vm ]; then
echo "== stress 1/2: $swaps model swaps under a faulting workload (patched kernel, QEMU) =="
FRAGML_VM_TIMEOUT=${FRAGML_VM_TIMEOUT:-3600} "$here/run-vm.sh" "$bz" "$out/vm" script \
	FRAGML_SCRIPT="$testdir/stress_swap" FRAGML_STRESS_SWAPS="$swaps" \
	${FRAGML_STRESS_BUDGET:+FRAGML_STRESS_BUDGET=$FRAGML_STRESS_BUDGET} "$@" | tee "$out/vm.txt"
[ "${PIPESTATUS[0]}" = 0 ] || rc=1
fi
[ "${STRESS_PART:-host}" = host ] || exit $rc

echo "== stress 2/2: ${secs} s host collection at a high event rate =="
if [ "$(id -u)" != 0 ]; then
	echo "stress: the host collection needs root"; exit 1
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
work="$bin/fragml-work"
"$bin/fragml-collect" -q -d "$secs" -w stress ${STRESS_RINGBUF:+--ringbuf "$STRESS_RINGBUF"} \
	-o "$out/collect" 2>"$out/collect.log" &
cpid=$!
sleep 3	# attached
# the workload: three loops until the collector stops
( while kill -0 $cpid 2>/dev/null; do "$work" --mb 256 --secs 10 malloc >/dev/null 2>&1; done ) &
w1=$!
( while kill -0 $cpid 2>/dev/null; do "$work" --mb 256 --secs 10 thp-sparse >/dev/null 2>&1; done ) &
w2=$!
( while kill -0 $cpid 2>/dev/null; do "$work" --mb 64 --secs 10 pipes >/dev/null 2>&1; done ) &
w3=$!
samples="$out/collect-usage.tsv"
printf 's\tbpf_maps\tmap_memlock_bytes\trss_kb\n' >"$samples"
t=0
# sampled while it collects (not while it writes its datasets at the end)
while kill -0 $cpid 2>/dev/null && [ $t -le $((secs - 8)) ]; do
	# one pass over the collector's fdinfo: BPF maps have map_type and memlock
	read -r maps mem < <(awk 'FNR == 1 { m = 0 } /^map_type:/ { m = 1; n++ }
		/^memlock:/ && m { s += $2 } END { print n + 0, s + 0 }' /proc/$cpid/fdinfo/* 2>/dev/null)
	# per map (id, type, max_entries, memlock): the first and the latest sample
	awk 'FNR == 1 { m = 0 } /^map_type:/ { m = 1; t = $2 } /^max_entries:/ { e = $2 }
		/^memlock:/ { b = $2 } /^map_id:/ && m { print $2, t, e, b }' \
		/proc/$cpid/fdinfo/* 2>/dev/null | sort >"$out/maps-$t.txt"
	[ $t = 0 ] && cp "$out/maps-0.txt" "$out/maps-first.txt"
	cp "$out/maps-$t.txt" "$out/maps-last.txt"
	# the maps' names, once (bpftool, when given)
	if [ $t = 0 ] && [ -x "${BPFTOOL:-}" ]; then
		while read -r id _; do
			echo "$id $("$BPFTOOL" map show id "$id" 2>/dev/null | sed -n '1s/.* name \([^ ]*\) .*/\1/p')"
		done <"$out/maps-0.txt" >"$out/map-names.txt" &
	fi
	rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$cpid/status 2>/dev/null)
	[ -n "$rss" ] && printf '%s\t%s\t%s\t%s\n' "$t" "$maps" "$mem" "$rss" >>"$samples"
	sleep 10; t=$((t + 10))
done
while kill -0 $cpid 2>/dev/null; do sleep 1; done
wait $cpid; crc=$?
kill $w1 $w2 $w3 2>/dev/null; wait $w1 $w2 $w3 2>/dev/null
cat "$out/collect.log"
column -t "$samples" | sed 's/^/# /'
lost=$(sed -n 's/.* events, \([0-9]*\) lost,.*/\1/p' "$out/collect.log" | tail -1)
events=$(sed -n 's/.*s, \([0-9]*\) events,.*/\1/p' "$out/collect.log" | tail -1)
# growth: the last sample against the one at half time (hash maps fill up
# to their bound in the first minutes, then must stay there)
mid=$(awk -F'\t' 'NR > 1 { r[NR] = $2 " " $3 } END { print r[int((NR + 2) / 2)] }' "$samples")
last=$(awk -F'\t' 'END { print $2 " " $3 }' "$samples")
echo "# host: ${events:-?} events in ${secs} s ($(( ${events:-0} / secs ))/s), lost ${lost:-?};" \
	"collector maps and map memlock at half time: $mid, at the end: $last"
midt=$(awk -F'\t' 'NR > 1 { r[NR] = $1 } END { print r[int((NR + 2) / 2)] }' "$samples")
touch "$out/map-names.txt"
echo "# maps whose memlock changed from the first to the last sample (id name type max_entries bytes: first, half, last):"
join -a1 -e - -o 0,1.2,1.3,1.4,2.4 "$out/maps-first.txt" "$out/maps-$midt.txt" |
	join -a1 -e - -o 0,1.2,1.3,1.4,1.5,2.4 - "$out/maps-last.txt" |
	join -a1 -e - -o 0,2.2,1.2,1.3,1.4,1.5,1.6 - "$out/map-names.txt" |
	awk '$5 != $7 { print "#   id " $1 " " $2 " type " $3 " max_entries " $4 ": " $5 " -> " $6 " -> " $7 }' |
	tee "$out/maps-changed.txt"
# The tracking map (fragml_live) follows the pages tracked allocations hold,
# system-wide: it grows while the machine keeps more of them (other tasks'
# builds and page cache), which is no leak.  A leak is an entry for a page that
# is free: the pageblock scan at the end counts them (summary.json
# tracked_stale_pages, loader/pageblock.c).  The site lifetime table
# (fragml_site_life) keeps one entry per allocation site ever seen, by design,
# up to its 8 192 (~700 KB): a program the host starts meanwhile adds its
# sites.  Every other map: at most 1 % more memory in the second half (hash
# maps allocate per entry up to their max_entries while they warm up, then stay).
read -r stale tracked < <(sed -n 's/.*"tracked_pages":\([0-9]*\),.*"tracked_stale_pages":\([0-9]*\).*/\2 \1/p' \
	"$out/collect/summary.json" 2>/dev/null | head -1)
echo "# tracked pages at the end ${tracked:-?}, of which free with their entry still in the map (stale) ${stale:-?}"
grown=$(awk '$4 != "fragml_live" && $4 != "fragml_site_lif" { split($0, a, ": "); split(a[2], b, " -> ")
	if (b[3] + 0 > (b[2] + 0) * 1.01) print $4 "(" $3 ")" }' "$out/maps-changed.txt" | tr '\n' ' ')
[ -s "$out/map-names.txt" ] || grown="(map names unknown: run with BPFTOOL=path)"
[ -n "$grown" ] && echo "# grew by more than 1 % in the second half: $grown"
read -r mm mb <<<"$mid"; read -r lm lb <<<"$last"
[ "$crc" = 0 ] && [ "${lost:-1}" = 0 ] && [ "${lm:-x}" = "${mm:-y}" ] && [ -z "$grown" ] &&
	[ -n "${stale:-}" ] && [ "$stale" -le $(( ${tracked:-0} / 100 )) ] ||
	{ echo "stress: host part failed"; rc=1; }
exit $rc
