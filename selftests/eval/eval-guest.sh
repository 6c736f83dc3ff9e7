#!/bin/bash
# One cell of the evaluation matrix, inside the patched kernel (run by
# selftests/vm/guest-init.sh as its `script` job; selftests/eval/run-eval.sh
# boots one VM per cell).  Order: policy applied (THP mode, sysctls, fragml
# models loaded) -> baseline snapshot -> the scenario's fragmenters for 2/5
# of the cell -> snapshot -> the THP faulter alongside them for the rest ->
# final snapshot.  Results go to the results share (/tmp/out):
#   metrics.txt   "key value" lines, one cell's row of the raw CSV
#   timeline.csv  t_s,thp_fault_alloc,thp_fault_fallback,free_order9,unusable9_pm,extfrag_events,
#                 compact_stall,mixed (mixed: kpageflags scan, every 10 s)
#   faulter-regions.txt  the faulter's outcome per 2 MB region in fault order
#                 ('1' huge, '0' not): what an oracle cell replays
#   log.txt       what ran (also the job's output)
#   collect/      with a policy's `collect ARGS`: fragml-collect's CSVs (lifetime,
#                 thp_fault, compaction; workload = the scenario) traced system-wide
#                 from before the scenario starts to the end of the cell
# Environment (kernel command line): FRAGML_BIN, FRAGML_EVAL_DIR (this folder),
# FRAGML_EVAL_WORK (the evalwork binary), FRAGML_EVAL_TOP (the checkout),
# FRAGML_EVAL_SCENARIO, FRAGML_EVAL_POLICY, FRAGML_EVAL_SEED, FRAGML_EVAL_SECS,
# FRAGML_EVAL_FAULT_MB (faulter working set, MiB), FRAGML_EVAL_OUT (the run's
# output folder on the host, read-only here: the oracle's recorded cells).
set -u
bin=${FRAGML_BIN:?} edir=${FRAGML_EVAL_DIR:?} ew=${FRAGML_EVAL_WORK:?} top=${FRAGML_EVAL_TOP:?}
scenario=${FRAGML_EVAL_SCENARIO:?} policy=${FRAGML_EVAL_POLICY:?}
SEED=${FRAGML_EVAL_SEED:-1} SECS=${FRAGML_EVAL_SECS:-60} FAULT_MB=${FRAGML_EVAL_FAULT_MB:-448}
EW=$ew WORK=/tmp/work rec=""
out=/tmp/out M=/tmp/out/metrics.txt T=/sys/kernel/tracing
mkdir -p "$WORK"
: >"$M"
PIDS=()

log() { echo "# eval: $*"; }
put() { echo "$1 $2" >>"$M"; }
fail() { log "FAILED: $*"; put cell_error "$(echo "$*" | tr ' ' '_')"; exit 1; }
bg_pid() { PIDS+=("$@"); }
# A seeded shuffle: the same order for the same seed (and round $1).
seeded_shuf() { shuf --random-source=<(yes "fragml-$SEED-${1:-0}"); }
# A warm page cache, as on a server that has run for a while: read host files
# (over 9p with cache=loose, so they stay in the guest's page cache) in a
# seeded order until free memory is below 1/N of the total (default 8) or
# $2 s have passed; in the background.
warm_cache() {
	local div=${1:-8} until=$(($(awk '{ print int($1) }' /proc/uptime) + ${2:-30}))
	(
		find /usr/lib/x86_64-linux-gnu -maxdepth 2 -type f -size +64k 2>/dev/null | seeded_shuf |
			while read -r f; do
				cat "$f" >/dev/null 2>&1
				[ "$(meminfo MemFree)" -lt $(($(meminfo MemTotal) / div)) ] && break
				[ "$(awk '{ print int($1) }' /proc/uptime)" -ge "$until" ] && break
			done
		log "page cache warm: $(meminfo Cached) kB cached, $(meminfo MemFree) kB free"
	) &
	bg_pid $!
}
# redis-server on 127.0.0.1:6379 with maxmemory $1 (random eviction, no
# persistence, THP left to the policy) and the seeded key churn of
# `evalwork kv` over $2 keys of $3..$4 bytes
redis_churn() {
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
		--maxmemory "$1" --maxmemory-policy allkeys-random --disable-thp no \
		--daemonize no --logfile "$WORK/redis.log" &
	bg_pid $!
	"$EW" kv 6379 "$SEED" "$2" "$4" "$3" &
	bg_pid $!
}
# wait for a fragmenter's ready file, at most until the fragmentation phase ends
wait_ready() {
	while [ ! -e "$1" ] && [ "$(awk '{ print int($1) }' /proc/uptime)" -lt $((t0 + frag_secs)) ]; do
		sleep 1
	done
	[ -e "$1" ] || log "$(basename "$1" .ready) not set up within $frag_secs s (fragmenting on)"
}

# ---- snapshots --------------------------------------------------------------
# vmstat counters kept, by prefix: new kernel counters with these prefixes
# (fallback_gate_*, placement_*) appear in the CSV without a change here.
VM_PREFIXES='^(thp_|compact_|pgmigrate_|pgsteal_|pgscan_|pswp|allocstall_|oom_kill|fallback_gate_|placement_|pgalloc_|pgfault|pgmajfault|workingset_|drop_|nr_free_pages$|nr_anon_pages$|nr_anon_transparent_hugepages$|nr_slab_|nr_kernel_stack|nr_page_table_pages)'
vmsnap() { grep -E "$VM_PREFIXES" /proc/vmstat >"/tmp/vm.$1"; }
# free blocks of order >= 9 and the unusable index at order 9 (per 1000, the
# kernel's formula over all zones): (free - free in blocks >= 9) / free
frag9() {
	awk '{ for (i = 5; i <= NF; i++) { o = i - 5; p = $i * 2 ^ o; f += p; if (o >= 9) { b += $i * 2 ^ (o - 9); u += p } } }
	     END { printf "%d %d\n", b, f ? int((f - u) * 1000 / f) : 0 }' /proc/buddyinfo
}
extfrag_count() {
	cat $T/per_cpu/cpu*/stats 2>/dev/null | awk '$1 == "entries:" || $1 == "overrun:" { s += $2 } END { print s + 0 }'
}
extfrag_lost() {
	cat $T/per_cpu/cpu*/stats 2>/dev/null | awk '$1 == "overrun:" { s += $2 } END { print s + 0 }'
}
meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
psi_total() { awk '/^some/ { sub("total=", "", $5); print $5 }' /proc/pressure/memory; }
last_mixed=-100
timeline() {
	local t v9 mixed=""
	t=$(awk '{ print int($1) }' /proc/uptime)
	v9=($(frag9))
	# mixed pageblocks (kpageflags scan, evalwork pageblocks) every 10 s
	if [ $((t - last_mixed)) -ge 10 ]; then
		mixed=$("$EW" pageblocks 2>/dev/null | awk '$1 == "kpf_mixed_blocks" { print $2 }')
		last_mixed=$t
	fi
	echo "$((t - t0)),$(awk '$1 == "thp_fault_alloc" { a = $2 } $1 == "thp_fault_fallback" { f = $2 } $1 == "compact_stall" { c = $2 } END { print a + 0 "," f + 0 "," c + 0 }' /proc/vmstat | {
		IFS=, read -r a f c; echo "$a,$f,${v9[0]},${v9[1]},$(extfrag_count),$c"; }),$mixed" >>"$out/timeline.csv"
}
# sleep until $1 s since the cell began, sampling the timeline every 2 s
run_until() {
	while [ "$(awk '{ print int($1) }' /proc/uptime)" -lt $((t0 + $1)) ]; do
		sleep 2
		timeline
	done
}

# ---- policy -----------------------------------------------------------------
pfile=$edir/policies/$policy.policy
[ -r "$pfile" ] || fail "no policy file $pfile"
"$bin/fragml" detach >/dev/null 2>&1
models="" nmodel=0 collect_args="" cpid="" load_args=""
while read -r key rest; do
	case $key in
	'' | '#'*) continue ;;
	desc) ;;
	thp_enabled) echo "$rest" >/sys/kernel/mm/transparent_hugepage/enabled || fail "THP enabled=$rest" ;;
	thp_defrag) echo "$rest" >/sys/kernel/mm/transparent_hugepage/defrag || fail "THP defrag=$rest" ;;
	sysctl)
		k=${rest%%=*} v=${rest#*=}
		echo "$v" >"/proc/sys/${k//.//}" || fail "sysctl $rest" ;;
	identify)
		# the loads below keep the identification maps (fragml-load
		# --identify): the cell saves `fragml report --json` at its end
		load_args="--identify" ;;
	mkmodel | load)
		if [ "$key" = mkmodel ]; then
			nmodel=$((nmodel + 1)) m=/tmp/policy-$nmodel.bin
			eval "args=($rest)"
			"$bin/fragml-mkmodel" "${args[@]}" -o "$m" >/dev/null || fail "fragml-mkmodel $rest"
		else
			m=$rest
			[ "${m#/}" = "$m" ] && m=$top/$m
		fi
		"$bin/fragml-load" -q $load_args "$m" || fail "fragml-load $m"
		models="$models${models:+;}$(basename "$m" .bin):$(sha256sum "$m" | cut -c1-12)" ;;
	collect)
		# fragml-collect traces the whole guest around the scenario (make
		# collect-apps; with --gate the fallback gate's decisions, under the
		# policy's fallback model); ARGS are fragml-collect options
		collect_args=${rest:--T 2} ;;
	pressure)
		# a machine that has run a while: PCT % of free memory taken by 4 KB
		# anonymous pages, 1 in STRIDE freed again (free memory left in
		# holes of movable pageblocks), held to the end of the cell (600 s at most)
		read -r ppct pstride <<<"$rest"
		pmb=$(awk -v p="$ppct" '$1 == "MemFree:" { print int($2 * p / 100 / 1024) }' /proc/meminfo)
		"$bin/fragml-work" --mb "$pmb" --stride "${pstride:-2}" --hold 600 holes >/tmp/pressure.out 2>&1 &
		bg_pid $!
		for _ in $(seq 240); do grep -q ready /tmp/pressure.out || ! kill -0 $! 2>/dev/null && break; sleep 0.5; done
		grep -q ready /tmp/pressure.out || fail "pressure: fragml-work holes not ready: $(head -1 /tmp/pressure.out)"
		put pressure_mb "$pmb" ;;
	oracle)
		# the outcomes recorded in an earlier cell of the same scenario and
		# seed under policy $rest: its faulter's per-region record is replayed
		# (a region that got no huge page there is declined here), and when
		# every direct compaction of that run failed, direct compaction is
		# skipped (kcompactd left alone)
		rec=${FRAGML_EVAL_OUT:?}/cells/$scenario.$rest.s$SEED
		[ -s "$rec/faulter-regions.txt" ] && [ -r "$rec/metrics.txt" ] ||
			fail "oracle: no recorded cell $scenario.$rest.s$SEED in ${FRAGML_EVAL_OUT} (list $rest before the oracle in the matrix)"
		cp "$rec/faulter-regions.txt" /tmp/oracle-plan.txt
		rstall=$(awk '$1 == "vm_compact_stall" { print $2 }' "$rec/metrics.txt")
		rsucc=$(awk '$1 == "vm_compact_success" { print $2 }' "$rec/metrics.txt")
		put oracle_from "$rest"
		put oracle_recorded_compact "${rstall:-0}:${rsucc:-0}"
		if [ "${rstall:-0}" -gt 0 ] && [ "${rsucc:-0}" = 0 ]; then
			nmodel=$((nmodel + 1)) m=/tmp/policy-$nmodel.bin
			"$bin/fragml-mkmodel" --hook compaction --rule 'is_kcompactd<1?skip:run' -o "$m" >/dev/null || fail "fragml-mkmodel oracle compaction"
			"$bin/fragml-load" -q $load_args "$m" || fail "fragml-load $m"
			models="$models${models:+;}oracle-compaction:$(sha256sum "$m" | cut -c1-12)"
		fi ;;
	*) fail "$pfile: unknown key '$key'" ;;
	esac
done <"$pfile"
put models "${models:-none}"
put thp_enabled "$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"
put thp_defrag "$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/defrag)"
put compaction_proactiveness "$(cat /proc/sys/vm/compaction_proactiveness)"
log "policy $policy: THP $(cat /sys/kernel/mm/transparent_hugepage/enabled), models ${models:-none}"

# ---- counters on ------------------------------------------------------------
"$EW" lo || fail "loopback interface"
echo 2048 >$T/buffer_size_kb 2>/dev/null
echo 1 >$T/events/kmem/mm_page_alloc_extfrag/enable 2>/dev/null || log "no kmem:mm_page_alloc_extfrag event: extfrag counts are 0"
# the same fallbacks counted in the kernel (evalblocks.c): the ring above
# overflows when fallbacks run to hundreds of thousands (a ZONE_NORMAL guest)
eb=$(dirname "$ew")/evalblocks ebpid=""
if [ -x "$eb" ]; then
	"$eb" "$(dirname "$ew")/extfrag_blocks.bpf.o" /tmp/evalblocks.ready >/tmp/evalblocks.txt 2>/tmp/evalblocks.err &
	ebpid=$!
	for _ in $(seq 50); do [ -e /tmp/evalblocks.ready ] || ! kill -0 $ebpid 2>/dev/null && break; sleep 0.2; done
	[ -e /tmp/evalblocks.ready ] || { log "evalblocks: $(head -1 /tmp/evalblocks.err): block counts from the ring"; ebpid=""; }
fi
sync
echo 3 >/proc/sys/vm/drop_caches
if [ -n "$collect_args" ]; then
	# started before the baseline, stopped after the faulter; its command only
	# says the programs are attached; the OOM killer leaves it alone
	rm -f /tmp/collect.ready
	eval "cargs=($collect_args)"
	"$bin/fragml-collect" -q -o "$out/collect" -w "$scenario" "${cargs[@]}" -- \
		sh -c 'touch /tmp/collect.ready; exec sleep 100000' 2>"$out/collect.log" &
	cpid=$!
	echo -1000 >/proc/$cpid/oom_score_adj 2>/dev/null
	for _ in $(seq 300); do [ -e /tmp/collect.ready ] || ! kill -0 $cpid 2>/dev/null && break; sleep 0.2; done
	[ -e /tmp/collect.ready ] || fail "fragml-collect did not start: $(head -1 "$out/collect.log")"
	put collect_args "$(echo "$collect_args" | tr ' ' '_')"
fi
t0=$(awk '{ print int($1) }' /proc/uptime)
echo "t_s,thp_fault_alloc,thp_fault_fallback,free_order9,unusable9_pm,extfrag_events,compact_stall,mixed" >"$out/timeline.csv"
vmsnap 0
read -r free9_0 unus9_0 <<<"$(frag9)"
ext0=$(extfrag_count) psi0=$(psi_total)
timeline

# ---- scenario ---------------------------------------------------------------
sfile=$edir/scenarios/$scenario.sh
[ -r "$sfile" ] || fail "no scenario file $sfile"
frag_secs=$((SECS * 2 / 5))
# shellcheck source=/dev/null
. "$sfile"
log "scenario $scenario (seed $SEED): fragmenters for $frag_secs s, then the THP faulter ($FAULT_MB MiB) for $((SECS - frag_secs)) s"
scenario_start || fail "scenario $scenario did not start"
# a slow setup (a database copied in, a server started) does not eat the
# fragmentation phase: it runs its full length after the setup
setup_s=$(($(awk '{ print int($1) }' /proc/uptime) - t0))
put setup_s "$setup_s"
frag_secs=$((frag_secs + setup_s)) SECS=$((SECS + setup_s))
run_until "$frag_secs"
vmsnap 1
read -r free9_1 unus9_1 <<<"$(frag9)"
put app_anon_kb $(($(meminfo AnonPages) + $(meminfo SwapTotal) - $(meminfo SwapFree)))
put app_anon_huge_kb "$(meminfo AnonHugePages)"
put app_slab_kb "$(meminfo Slab)"

"$EW" fault "$FAULT_MB" "$SEED" /tmp/faulter.txt "$out/faulter-regions.txt" \
	${rec:+/tmp/oracle-plan.txt} &
fpid=$!
run_until "$SECS"
kill -TERM "$fpid" 2>/dev/null
wait "$fpid" || fail "faulter exited with an error"
vmsnap 2
read -r free9_2 unus9_2 <<<"$(frag9)"
ext2=$(extfrag_count) psi2=$(psi_total)
echo 0 >$T/events/kmem/mm_page_alloc_extfrag/enable 2>/dev/null

# ---- metrics ----------------------------------------------------------------
cat /tmp/faulter.txt >>"$M"
put free9_start "$free9_0"
put free9_after_frag "$free9_1"
put free9_end "$free9_2"
put unusable9_start_pm "$unus9_0"
put unusable9_after_frag_pm "$unus9_1"
put unusable9_end_pm "$unus9_2"
put extfrag_events $((ext2 - ext0))
put extfrag_lost "$(extfrag_lost)"
put psi_memory_some_us $((psi2 - psi0))
put swap_used_kb_end $(($(meminfo SwapTotal) - $(meminfo SwapFree)))
# whole-cell deltas, and the fragmentation phase alone (frag_*)
awk 'FNR == NR { a[$1] = $2; next } { print "vm_" $1, $2 - a[$1] }' /tmp/vm.0 /tmp/vm.2 >>"$M"
awk 'FNR == NR { a[$1] = $2; next } $1 ~ /^(thp_fault|compact_stall|pswpout)/ { print "frag_" $1, $2 - a[$1] }' /tmp/vm.0 /tmp/vm.1 >>"$M"
if [ -n "$ebpid" ] && kill -TERM "$ebpid" && wait "$ebpid" && [ -s /tmp/evalblocks.txt ]; then
	# the kernel's counts; the ring's (lossy when it overflowed) as extfrag_ring_*
	cat /tmp/evalblocks.txt >>"$M"
	cat $T/trace >/tmp/trace.txt 2>/dev/null && "$EW" extfrag /tmp/trace.txt | sed 's/^extfrag_/extfrag_ring_/' >>"$M"
else
	cat $T/trace >/tmp/trace.txt 2>/dev/null && "$EW" extfrag /tmp/trace.txt >>"$M"
fi
"$EW" pageblocks >>"$M" || fail "pageblock count"
if pb=$("$bin/fragml" report --pageblocks --json 2>/tmp/pb.err); then
	echo "$pb" >"$out/pageblocks.json"
	put mixed_blocks "$(echo "$pb" | tr ',{}' '\n\n\n' | awk -F: '$1 ~ /"mixed"$/ { gsub(/ /, "", $2); print $2; exit }')"
else
	log "fragml report --pageblocks: $(head -1 /tmp/pb.err)"
fi
cp /sys/kernel/debug/extfrag/unusable_index "$out/unusable_index.txt" 2>/dev/null
"$bin/fragml" status >"$out/fragml-status.txt" 2>&1
# who polluted, and the lifetime model's precision per source (policy key identify)
[ -n "$load_args" ] && "$bin/fragml" report --json >"$out/report.json" 2>>"$out/fragml-status.txt"
for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
type scenario_stop >/dev/null 2>&1 && scenario_stop
if [ -n "$cpid" ]; then
	# the labels of pages younger than T are censored at the stop: wait T
	sleep 2
	kill -TERM "$cpid" && wait "$cpid" || fail "fragml-collect: $(tail -1 "$out/collect.log")"
	if [ -s "$out/collect/gate_summary.json" ]; then	# collect --gate: the fallback gate's data
		put collect_rows "$(for h in fallback fallback_now; do echo "$h:$(($(wc -l <"$out/collect/$h.csv") - 1))"; done | tr '\n' ';')"
	else
		[ -s "$out/collect/lifetime.csv" ] || fail "fragml-collect wrote no lifetime.csv"
		put collect_rows "$(for h in lifetime thp_fault compaction; do echo "$h:$(($(wc -l <"$out/collect/$h.csv") - 1))"; done | tr '\n' ';')"
	fi
	log "fragml-collect: $(tail -1 "$out/collect.log")"
fi
put cell_ok 1
log "done: faulter $(tr '\n' ' ' </tmp/faulter.txt), free order-9 blocks $free9_0 -> $free9_1 -> $free9_2, unusable9 $unus9_0 -> $unus9_1 -> $unus9_2 per 1000"
exit 0
