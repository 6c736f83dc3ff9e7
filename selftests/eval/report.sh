#!/bin/bash
# Build the evaluation's CSVs, figures and report from the cells of a run:
#
#   report.sh OUTDIR
#
# reads  OUTDIR/cells/<scenario>.<policy>.s<seed>/{meta,metrics}.txt and timeline.csv
# writes OUTDIR/cells.csv      one row per cell (raw; every counter collected)
#        OUTDIR/summary.csv    per scenario x policy: n, then mean/min/max/sd per metric
#        OUTDIR/report/*.png   gnuplot figures (the .dat next to each re-plots it)
#        OUTDIR/report.md      tables and figures
# Re-run it alone (`make eval-report`) to re-plot from the CSVs of a run.
set -uo pipefail
out=${1:?usage: report.sh OUTDIR}
edir=$(cd "$(dirname "$0")" && pwd)
fig=$out/report
mkdir -p "$fig"
rm -f "$fig"/*.png "$fig"/*.dat "$fig"/*.gp "$fig"/gnuplot.log
cells=$(find "$out/cells" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | sort)
[ -n "$cells" ] || { echo "report: no cells under $out/cells" >&2; exit 1; }

# ---- raw CSV: the union of every cell's keys, derived columns appended ------
for c in $cells; do
	echo "@@cell"
	cat "$c/meta.txt" 2>/dev/null
	cat "$c/metrics.txt" 2>/dev/null
done | awk '
$1 == "@@cell" { n++; next }
NF >= 1 {
	k = $1; v = $0; sub(/^[^ ]+ ?/, "", v); gsub(/,/, ";", v)
	if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
	val[n, k] = v
}
function num(r, k) { return ((r, k) in val && val[r, k] != "") ? val[r, k] + 0 : "" }
function add(k) { if (!(k in seen)) { seen[k] = 1; keys[++nk] = k } }
END {
	add("thp_success_pct"); add("faulter_huge_pct"); add("pgsteal_total"); add("pgscan_total")
	add("allocstall_total"); add("mixed"); add("bloat_vs_never_pct")
	add("thp_fallback_pct"); add("extfrag_per_kregion"); add("stalls_per_kregion"); add("gate_asked")
	for (r = 1; r <= n; r++) {
		a = num(r, "vm_thp_fault_alloc"); f = num(r, "vm_thp_fault_fallback")
		if (a != "" && a + f > 0) val[r, "thp_success_pct"] = sprintf("%.1f", 100 * a / (a + f))
		if (a != "" && a + f > 0) val[r, "thp_fallback_pct"] = sprintf("%.1f", 100 * f / (a + f))
		h = num(r, "faulter_huge"); g = num(r, "faulter_regions")
		if (g != "" && g > 0) {
			val[r, "faulter_huge_pct"] = sprintf("%.1f", 100 * h / g)
			# cells are bounded by time, so a policy that spends less time
			# compacting does more work: per 1000 faulted 2 MB regions
			val[r, "extfrag_per_kregion"] = sprintf("%.1f", 1000 * num(r, "extfrag_events") / g)
			val[r, "stalls_per_kregion"] = sprintf("%.1f", 1000 * num(r, "vm_compact_stall") / g)
		}
		st = sc = as = ""
		for (i = 1; i <= nk; i++) {
			if (!((r, keys[i]) in val)) continue
			if (keys[i] ~ /^vm_pgsteal_(kswapd|direct|khugepaged)$/) st += val[r, keys[i]]
			if (keys[i] ~ /^vm_pgscan_(kswapd|direct|khugepaged)$/) sc += val[r, keys[i]]
			if (keys[i] ~ /^vm_allocstall_/) as += val[r, keys[i]]
		}
		val[r, "pgsteal_total"] = st; val[r, "pgscan_total"] = sc; val[r, "allocstall_total"] = as
		# every decision of the fallback gate: fall back now, defer, defer refused
		if (num(r, "vm_fallback_gate_fallback") != "")
			val[r, "gate_asked"] = num(r, "vm_fallback_gate_fallback") + num(r, "vm_fallback_gate_defer") + num(r, "vm_fallback_gate_defer_refused")
		# mixed pageblocks: the pageblock scan when the guest kernel allows it,
		# else the kpageflags count (see the report)
		val[r, "mixed"] = num(r, "mixed_blocks") != "" ? num(r, "mixed_blocks") : num(r, "kpf_mixed_blocks")
		if (val[r, "policy"] == "never") never[val[r, "scenario"], val[r, "seed"]] = num(r, "app_anon_kb")
	}
	for (r = 1; r <= n; r++) {
		b = never[val[r, "scenario"], val[r, "seed"]]
		if (b != "" && b > 0 && num(r, "app_anon_kb") != "")
			val[r, "bloat_vs_never_pct"] = sprintf("%.1f", 100 * (num(r, "app_anon_kb") - b) / b)
	}
	for (i = 1; i <= nk; i++) printf "%s%s", keys[i], i < nk ? "," : "\n"
	for (r = 1; r <= n; r++)
		for (i = 1; i <= nk; i++) printf "%s%s", ((r, keys[i]) in val) ? val[r, keys[i]] : "", i < nk ? "," : "\n"
}' >"$out/cells.csv"

# ---- summary: mean, min, max, sd per scenario x policy ----------------------
METRICS="thp_success_pct thp_fallback_pct faulter_huge_pct faulter_regions extfrag_per_kregion stalls_per_kregion vm_thp_fault_alloc vm_thp_fault_fallback vm_thp_fault_declined
 extfrag_events extfrag_polluted_blocks mixed kpf_mixed_blocks free9_after_frag free9_end unusable9_after_frag_pm
 unusable9_end_pm vm_compact_stall vm_compact_success vm_compact_fail vm_compact_migrate_scanned
 vm_compact_free_scanned vm_pgmigrate_success pgsteal_total pgscan_total vm_pswpout allocstall_total
 vm_oom_kill app_anon_kb bloat_vs_never_pct psi_memory_some_us host_cell_s
 extfrag_nonmovable_blocks extfrag_polluting_events extfrag_nm_polluting_events extfrag_nm_polluted_blocks gate_asked vm_fallback_gate_defer vm_fallback_gate_defer_satisfied vm_fallback_gate_defer_fellback
 vm_placement_default vm_placement_claim vm_placement_claim_override vm_placement_skip vm_placement_steal vm_placement_narrowed"
# the policy's decisions per hook and action, and any counters of a new hook
# (placement_*), whatever the kernel reports (those not listed above too)
DECISIONS=$(head -1 "$out/cells.csv" | tr , '\n' | grep -E '^vm_(thp_fault_declined|thp_fault_policy_|compact_policy_|compact_proactive_policy_|fallback_gate_|placement_)' | grep -vx vm_thp_fault_declined | tr '\n' ' ')
METRICS="$METRICS $(for k in $DECISIONS; do case " $(echo $METRICS) " in *" $k "*) ;; *) printf '%s ' "$k" ;; esac; done)"
awk -F, -v metrics="$METRICS" '
NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; nm = split(metrics, m, /[ \n]+/); next }
{
	g = $col["scenario"] "," $col["policy"]
	if (!(g in cnt)) order[++ng] = g
	cnt[g]++
	for (j = 1; j <= nm; j++) {
		if (!(m[j] in col) || $col[m[j]] == "") continue
		x = $col[m[j]] + 0; k = g SUBSEP j
		nn[k]++; s[k] += x; s2[k] += x * x
		if (!(k in lo) || x < lo[k]) lo[k] = x
		if (!(k in hi) || x > hi[k]) hi[k] = x
	}
}
END {
	printf "scenario,policy,n"
	for (j = 1; j <= nm; j++) if (m[j] != "") printf ",%s_mean,%s_min,%s_max,%s_sd", m[j], m[j], m[j], m[j]
	printf "\n"
	for (i = 1; i <= ng; i++) {
		g = order[i]; printf "%s,%d", g, cnt[g]
		for (j = 1; j <= nm; j++) {
			if (m[j] == "") continue
			k = g SUBSEP j
			if (!(k in nn)) { printf ",,,,"; continue }
			mu = s[k] / nn[k]; v = s2[k] / nn[k] - mu * mu
			printf ",%.6g,%.6g,%.6g,%.3g", mu, lo[k], hi[k], (v > 0 ? sqrt(v) : 0)
		}
		printf "\n"
	}
}' "$out/cells.csv" >"$out/summary.csv"

# ---- helpers over summary.csv -----------------------------------------------
# get SCENARIO POLICY METRIC STAT -> value or empty
get() {
	awk -F, -v s="$1" -v p="$2" -v k="$3_$4" '
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	$1 == s && $2 == p && (k in c) { print $c[k]; exit }' "$out/summary.csv"
}
# "mean (min-max)" with D decimals
fmt() {
	local mu lo hi
	mu=$(get "$1" "$2" "$3" mean) lo=$(get "$1" "$2" "$3" min) hi=$(get "$1" "$2" "$3" max)
	[ -z "$mu" ] && { echo "–"; return; }
	if [ "$lo" = "$hi" ]; then printf "%.${4:-0}f" "$mu"; else printf "%.${4:-0}f (%.${4:-0}f–%.${4:-0}f)" "$mu" "$lo" "$hi"; fi
}
scenarios=$(awk -F, 'NR > 1 && !s[$1]++ { print $1 }' "$out/summary.csv")
policies=$(awk -F, 'NR > 1 && !s[$2]++ { print $2 }' "$out/summary.csv")
pols_of() { awk -F, -v s="$1" 'NR > 1 && $1 == s { print $2 }' "$out/summary.csv"; }
nseeds() { awk -F, -v s="$1" -v p="$2" 'NR > 1 && $1 == s && $2 == p { print $3 }' "$out/summary.csv"; }
desc_of() { sed -n "s/^$2 //p; s/^# $2: //p" "$1" | head -1; }
rawcol() {	# first value of a column in cells.csv
	awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next } c && $c != "" { print $c; exit }' "$out/cells.csv"
}
pct() {	# change of $2 against $1 in percent
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "–"; else if (a == 0) print (b == 0 ? "±0 %" : "+∞"); else printf "%+.0f %%\n", 100 * (b - a) / a }'
}

# ---- targets ----------------------------------------------------------------
# does scenario $1 fragment memory?  (first policy's cells, fragmentation phase:
# unusable index at order 9 up by >= 50 per 1000, or free order-9 blocks down >= 20 %)
fragments() {
	awk -F, -v s="$1" -v p="$(pols_of "$1" | head -1)" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		$c["scenario"] == s && $c["policy"] == p { n++; a += $c["free9_start"]; b += $c["free9_after_frag"]; x += $c["unusable9_start_pm"]; y += $c["unusable9_after_frag_pm"] }
		END { exit !(n && (y / n - x / n >= 50 || (a > 0 && b <= 0.8 * a))) }' "$out/cells.csv"
}
frag_scenarios=$(for s in $scenarios; do fragments "$s" && echo "$s"; done)
# target BASE VALUE GOAL_PCT: the change in %, then ✓ or the miss in points
target() {
	awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN {
		if (a == "" || b == "") { print "–"; exit }
		if (a == 0) { print (b == 0 ? "±0 % (none in the default)" : "+∞ ✗"); exit }
		d = 100 * (b - a) / a
		if (d <= g) printf "%+.0f %% ✓\n", d; else printf "%+.0f %% ✗ (missed by %.0f pts)\n", d, d - g }'
}
bloat_target() {
	awk -v b="$1" 'BEGIN { if (b == "") print "–"; else if (b <= 2.5) printf "%+.1f %% ✓\n", b; else printf "%+.1f %% ✗ (missed by %.1f pts)\n", b, b - 2.5 }'
}
# oracle_share BASE POLICY ORACLE: the policy's gain as a share of the oracle's
oracle_share() {
	awk -v a="$1" -v p="$2" -v o="$3" 'BEGIN {
		if (a == "" || p == "" || o == "") { print "–"; exit }
		if (a - o <= 0) { print "– (the oracle gained nothing)"; exit }
		r = 100 * (a - p) / (a - o)
		if (r >= 90) printf "%.0f %% ✓\n", r; else printf "%.0f %% ✗ (missed by %.0f pts)\n", r, 90 - r }'
}
# worse SCENARIO POLICY: " **worse**" when the policy's mean faulter huge share is
# below the lowest seed of the default
worse() {
	local lo mu
	lo=$(get "$1" always faulter_huge_pct min) mu=$(get "$1" "$2" faulter_huge_pct mean)
	awk -v lo="$lo" -v mu="$mu" 'BEGIN { if (lo != "" && mu != "" && mu + 0 < lo + 0) print " **worse than the default**" }'
}

# ---- figures ----------------------------------------------------------------
have_gp=1
command -v gnuplot >/dev/null || { have_gp=0; echo "report: gnuplot not installed (make deps): no figures" >&2; }
bars() {	# NAME METRIC TITLE YLABEL
	local f=$fig/$1
	{
		printf 'scenario'; for p in $policies; do printf '\t%s' "$p"; done; printf '\n'
		for s in $scenarios; do
			printf '%s' "$s"
			for p in $policies; do v=$(get "$s" "$p" "$2" mean); printf '\t%s' "${v:-?}"; done
			printf '\n'
		done
	} >"$f.dat"
	cat >"$f.gp" <<-EOF
	set terminal pngcairo size 900,420 font ",10"
	set output "$f.png"
	set title "$3 (mean over seeds)"
	set ylabel "$4"
	set style data histogram
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set datafile missing "?"
	set key outside right top
	${5:-set yrange [0:*]}
	set grid ytics
	plot for [i=2:$(($(echo $policies | wc -w) + 1))] "$f.dat" using i:xtic(1) title columnhead(i)
	EOF
	[ $have_gp = 1 ] && gnuplot "$f.gp" 2>>"$fig/gnuplot.log"
}
timeline_fig() {	# SCENARIO: THP success, mixed pageblocks, free order-9 blocks, stalls, fallbacks over time, first seed
	local s=$1 f=$fig/timeline-$1 p1="" p2="" p3="" p4="" p5="" seed
	seed=$(awk -F, -v s="$s" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["scenario"] == s { print $c["seed"]; exit }' "$out/cells.csv")
	for p in $(pols_of "$s"); do
		local t=$out/cells/$s.$p.s$seed/timeline.csv
		[ -r "$t" ] || continue
		# columns: t, THP success % since the start, free o9, fallbacks, stalls, mixed
		# (older timelines lack the last two: "?")
		awk -F, 'NR == 2 { a0 = $2; f0 = $3; e0 = $6; c0 = $7 }
			 NR >= 2 { a = $2 - a0; f = $3 - f0
				   printf "%s %s %s %s %s %s\n", $1, (a + f) ? 100 * a / (a + f) : "?", $4, $6 - e0,
					  $7 != "" ? $7 - c0 : "?", $8 != "" ? $8 : "?" }' "$t" >"$f.$p.dat"
		p1+="${p1:+, }\"$f.$p.dat\" using 1:2 with lines lw 2 title \"$p\""
		p2+="${p2:+, }\"$f.$p.dat\" using 1:6 with linespoints lw 2 title \"$p\""
		p3+="${p3:+, }\"$f.$p.dat\" using 1:3 with lines lw 2 title \"$p\""
		p4+="${p4:+, }\"$f.$p.dat\" using 1:5 with lines lw 2 title \"$p\""
		p5+="${p5:+, }\"$f.$p.dat\" using 1:4 with lines lw 2 title \"$p\""
	done
	[ -n "$p1" ] || return
	cat >"$f.gp" <<-EOF
	set terminal pngcairo size 900,1300 font ",10"
	set output "$f.png"
	set datafile missing "?"
	set multiplot layout 5,1 title "$s, seed $seed (guest seconds; the faulter starts at 2/5 of the cell)"
	set key outside right top
	set grid
	set ylabel "THP success %"
	set yrange [0:105]
	plot $p1
	set yrange [0:*]
	set ylabel "mixed pageblocks"
	plot $p2
	set ylabel "free order-9 blocks"
	plot $p3
	set ylabel "compaction stalls"
	plot $p4
	set ylabel "migratetype fallbacks"
	set xlabel "t (s)"
	plot $p5
	unset multiplot
	EOF
	[ $have_gp = 1 ] && gnuplot "$f.gp" 2>>"$fig/gnuplot.log"
}
bars thp_success thp_success_pct "THP fault success: alloc / (alloc + fallback)" "%"
bars faulter_huge faulter_huge_pct "Faulter's 2 MB regions backed by a huge page" "%"
bars unusable9 unusable9_end_pm "Unusable free-space index at order 9, end of cell" "per 1000"
bars free9 free9_end "Free order-9 blocks, end of cell" "blocks"
bars stalls stalls_per_kregion "Direct-compaction stalls per 1000 faulted 2 MB regions" "stalls / kregion"
bars extfrag extfrag_per_kregion "Migratetype fallbacks (kmem:mm_page_alloc_extfrag) per 1000 faulted 2 MB regions" "events / kregion"
bars regions faulter_regions "2 MB regions the faulter faulted in its time" "regions"
bars mixed mixed "Mixed pageblocks, end of cell" "pageblocks"
bars bloat bloat_vs_never_pct "Anonymous memory (+swap) of the scenario against THP never" "% over never" "set yrange [*:*]"
for s in $scenarios; do timeline_fig "$s"; done
# ---- models: accuracy on held-out data (the trainer's reports) ---------------
mdir=$(cd "$edir/../.." && pwd)/model/defaults
have_jq=1
command -v jq >/dev/null || { have_jq=0; echo "report: jq not installed (make deps): no model accuracy tables" >&2; }
models_list=""
# model_rows JQ: one jq program over every shipped model's report, with $h (the
# hook), $src (real or synthetic data) and f (3 decimals, "–" for null)
model_rows() {
	local h src
	for h in $models_list; do
		src="real ($(jq .data.rows "$mdir/$h.json") rows)"
		grep -q 'SYNTHETIC' "$mdir/$h.md" 2>/dev/null && src="**synthetic** (fragml-synth: no kernel measured, see $h.md)"
		jq -r --arg h "$h" --arg src "$src" 'def f: if . == null then "–" else (. * 1000 | round / 1000 | tostring) end; '"$1" "$mdir/$h.json"
	done
}
[ $have_jq = 1 ] && for h in thp_fault compaction lifetime fallback; do [ -r "$mdir/$h.json" ] && models_list+="$h "; done
if [ -n "$models_list" ]; then
	# accuracy and F1 per held-out workload (leave-one-workload-out), per model
	for h in $models_list; do
		jq -r --arg h "$h" '.leave_one_workload_out[] | select(.rows >= 20) |
			[$h + ":" + .workload, (.accuracy // "?"), (.f1 // "?")] | @tsv' "$mdir/$h.json"
	done | awk -F'\t' 'BEGIN { print "source\taccuracy\tF1" } { print }' >"$fig/accuracy_source.dat"
	cat >"$fig/accuracy_source.gp" <<-EOF
	set terminal pngcairo size 1100,480 font ",9"
	set output "$fig/accuracy_source.png"
	set termoption noenhanced
	set title "Shipped models: accuracy and F1 on each held-out source (leave-one-workload-out, >= 20 rows)"
	set style data histogram
	set style histogram clustered gap 1
	set style fill solid 0.8 border -1
	set datafile missing "?"
	set datafile separator "\t"
	set xtics rotate by -60 scale 0
	set yrange [0:1.05]
	set grid ytics
	set key outside right top
	plot "$fig/accuracy_source.dat" using 2:xtic(1) title columnhead(2), "" using 3 title columnhead(3)
	EOF
	[ $have_gp = 1 ] && gnuplot "$fig/accuracy_source.gp" 2>>"$fig/gnuplot.log"
fi

# ---- host: ns per inference, bytes per model, observe-mode overhead -----------
hdir=$out/host
if [ -r "$hdir/bench-infer.md" ]; then
	# nodes, in-kernel ns, C reference ns, native if-else ns (full-depth vectors)
	# two blocks: single trees (and the single leaf), then ensembles of depth-6 trees
	for blk in single ensemble; do
		awk -F'|' -v blk=$blk '$4 ~ /full depth/ { gsub(/ /, "", $3); gsub(/^ +| +$/, "", $2)
			if ((blk == "ensemble") != ($2 ~ /trees, depth/)) next
			printf "%s\t%s\t%s\t%s\t%s\n", $3, $7 + 0, $5 + 0, $6 + 0, $2 }' "$hdir/bench-infer.md"
		printf '\n\n'
	done >"$fig/inference_cost.dat"
	[ $have_jq = 1 ] && for h in $models_list; do
		jq -r --arg h "$h" '[.model.nodes, .model.trees, .model.bytes, $h] | @tsv' "$mdir/$h.json"
	done >"$fig/inference_models.dat"
	cat >"$fig/inference_cost.gp" <<-EOF
	set terminal pngcairo size 900,480 font ",10"
	set output "$fig/inference_cost.png"
	set termoption noenhanced
	set title "ns per decision against model size (host, full-depth vectors, medians); shipped models marked"
	set logscale xy
	set xlabel "nodes"
	set ylabel "ns per decision"
	set grid
	set key left top
	set datafile separator "\t"
	set xrange [0.8:20000]
	set yrange [1:*]
	plot "$fig/inference_cost.dat" index 0 using 1:2 with linespoints lw 2 pt 7 lc 1 title "in-kernel (BPF), one tree", \\
	     "" index 1 using 1:2 with linespoints lw 2 pt 7 lc 2 title "in-kernel (BPF), depth-6 ensembles (4..64 trees)", \\
	     "" index 0 using 1:3 with linespoints lw 1 pt 5 lc 1 dt 2 title "C reference, one tree", \\
	     "" index 1 using 1:3 with linespoints lw 1 pt 5 lc 2 dt 2 title "C reference, ensembles", \\
	     "$fig/inference_models.dat" using 1:(1.5 * 1.9 ** \$0):(sprintf("%s: %d trees, %d B", stringcolumn(4), \$2, \$3)) with labels point pt 2 ps 2 lc 7 left offset 1,0 title "shipped models (nodes)"
	EOF
	[ $have_gp = 1 ] && gnuplot "$fig/inference_cost.gp" 2>>"$fig/gnuplot.log"
fi

find "$fig" -name '*.png' -empty -delete	# a metric no cell has (e.g. bloat without `never`)

# ---- report -----------------------------------------------------------------
ncell=$(($(wc -l <"$out/cells.csv") - 1))
nfail=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "cell_ok") c = i; next } !c || $c != 1 { n++ } END { print n + 0 }' "$out/cells.csv")
mixed_src="the pageblock scan (\`fragml report --pageblocks\`)"
[ -z "$(rawcol mixed_blocks)" ] && mixed_src="/proc/kpageflags (\`evalwork pageblocks\`): pageblocks holding both movable (LRU/anon) pages and slab or page-table pages. The pageblock scan (\`fragml report --pageblocks\`) needs CONFIG_VMCORE_INFO and SPARSEMEM_VMEMMAP, which the guest kernel lacks; pipe, socket and kernel-stack pages carry no page flag and are not seen, so this undercounts the pipe and socket scenarios (their pollution shows in the fallback events and polluted blocks)"
{
	echo "# fragml evaluation report"
	echo
	echo "Generated by \`make eval\` (\`selftests/eval/\`) on $(date -u +%Y-%m-%d) from $ncell cells ($nfail without metrics)."
	echo "Raw data: \`cells.csv\` (one row per cell, every counter), \`summary.csv\` (mean, min, max, sd per scenario × policy) and each cell's counters and timeline, in \`build/eval/\` and, published, in \`docs/report/data/\`."
	echo "Every table and figure is rebuilt from them by one command: \`make eval-report\` (or \`make eval-report EVAL_OUT=docs/report/data\` for the published run); each figure's \`.gp\` and \`.dat\` sit next to its PNG."
	echo
	echo "## Method"
	echo
	echo "* **Guest.** The patched Linux $(rawcol kernel) (patch series + config hash \`$(rawcol patch_hash)\`, checkout \`$(rawcol commit)\`) in QEMU TCG with 2 vCPUs, a sparse swap disk per cell, SLUB, cgroup v2 with the memory controller, PSI; the shapes run, as each guest checked itself at boot (a cell on a guest missing any of it fails):"
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		!s[$c["machine"]]++ { n[$c["machine"]] = 0; g[$c["machine"]] = $c["guest"]; m[$c["machine"]] = $c["guest_mem"]; w[$c["machine"]] = $c["swap"] }
		{ n[$c["machine"]]++ }
		END { for (k in n) { x = g[k]; gsub(/;/, ",", x); gsub(/_/, " ", x); printf "  * machine `%s`, %s RAM, %s swap disk (%d cells): `%s`\n", k, m[k], w[k], n[k], x } }' "$out/cells.csv"
	echo "  The machine \`pc\` puts all of a 1 GB guest in ZONE_DMA32 (the kernel never sets ALLOC_NOFRAGMENT there); \`pc,max-ram-below-4g=512M\` gives it a ZONE_NORMAL above DMA32 (run with \`FRAGML_VM_MACHINE=pc,max-ram-below-4g=512M make eval\`)."
	echo "  One VM boot per cell, so every cell starts from the same state. The guest runs under emulation (10–30× slower than native): all figures are counts from the guest, no latencies."
	echo "* **Cell.** The policy is applied first (THP mode, sysctls, fragml models loaded, so their footprint counts), caches dropped, counters snapshot;"
	echo "  the scenario's fragmenters run alone for 2/5 of the cell ($(rawcol secs) s of guest time in all), then a MADV_HUGEPAGE faulter ($(rawcol fault_mb) MiB working set in 8 MiB chunks, every 4 KiB written, a random chunk replaced once full) runs alongside them until the end."
	echo "* **Seeds.** $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seed") c = i; next } !s[$c]++ { printf "%s%s", n++ ? ", " : "", $c }' "$out/cells.csv") (the fragmenters' and the faulter's random choices). Tables show mean (min–max) over seeds."
	echo "* **Metrics.** vmstat deltas over the cell (THP: \`thp_fault_alloc\`, \`thp_fault_fallback\`, \`thp_fault_declined\` = declined by the policy, apart from allocation failures; compaction, migration, reclaim, swap, OOM);"
	echo "  migratetype fallbacks = \`kmem:mm_page_alloc_extfrag\` events (tracefs ring-buffer entries + overruns, no per-event cost beyond the trace write), polluted pageblocks = distinct pageblocks of the fallbacks that did not claim the block (counted in the guest kernel by \`evalblocks\` where the cell has \`extfrag_bpf_events\`, else from the events kept in the ring buffer, which loses the oldest when it overflows: \`extfrag_lost\`; the polluting fallbacks of unmovable and reclaimable requests, which compaction cannot undo, apart as \`extfrag_nm_*\` in the CSVs);"
	echo "  free order-9 blocks and the unusable index at order 9 (the kernel's formula over all zones) from /proc/buddyinfo; mixed pageblocks from $mixed_src;"
	echo "  bloat = anonymous memory + swap in use by the scenario at the end of the fragmentation phase against THP \`never\` on the same scenario and seed. Model hashes (sha256, 12 digits): $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["models"] != "none" && !s[$c["policy"]]++ { printf "%s`%s`: %s", n++ ? "; " : "", $c["policy"], $c["models"] }' "$out/cells.csv")."
	echo
	if [ -r "$out/matrix.txt" ]; then
		echo "### Matrix \`$(cat "$out/matrix.name" 2>/dev/null)\`"
		echo
		echo "Which policies each scenario runs, and why (the matrix file's own words):"
		echo
		echo '```'
		sed -n 's/^# \{0,1\}//p' "$out/matrix.txt" | grep -v '^Keys:'
		echo
		grep -E '^(secs|seeds|fault_mb|cell) ' "$out/matrix.txt"
		echo '```'
		echo
	fi
	echo "### Policies"
	echo
	echo "| policy | what |"
	echo "|---|---|"
	for p in $policies; do echo "| \`$p\` | $(desc_of "$edir/policies/$p.policy" desc) |"; done
	echo
	echo "### Scenarios, and whether each fragments memory"
	echo
	echo "Under the first policy of each scenario, before the faulter starts (mean over seeds): free order-9 blocks and unusable index at order 9 at the start and after the fragmentation phase. \"fragments\" = the index rose by ≥ 50 per 1000 or the free order-9 blocks fell by ≥ 20 %."
	echo
	echo "The criterion counts a scenario that only *uses* memory (free order-9 blocks fall as pages are taken) as fragmenting; the unusable index, the migratetype fallbacks and whether the THP faulter still gets huge pages (last columns, whole cell) tell real fragmentation from use."
	echo
	echo "| scenario | what | policy | seeds | free order-9: start → after | unusable9 ‰: start → after | fallback events | fragments | faulter huge % | THP fallbacks |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for s in $scenarios; do
		p=$(pols_of "$s" | head -1)
		read -r f0 f1 u0 u1 < <(awk -F, -v s="$s" -v p="$p" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
			$c["scenario"] == s && $c["policy"] == p { n++; a += $c["free9_start"]; b += $c["free9_after_frag"]; x += $c["unusable9_start_pm"]; y += $c["unusable9_after_frag_pm"] }
			END { if (n) printf "%.0f %.0f %.0f %.0f\n", a / n, b / n, x / n, y / n; else print "0 0 0 0" }' "$out/cells.csv")
		yes="**no**"
		fragments "$s" && yes=yes
		echo "| \`$s\` | $(desc_of "$edir/scenarios/$s.sh" desc) | \`$p\` | $(nseeds "$s" "$p") | $f0 → $f1 | $u0 → $u1 | $(fmt "$s" "$p" extfrag_events) | $yes | $(fmt "$s" "$p" faulter_huge_pct 1) | $(fmt "$s" "$p" vm_thp_fault_fallback) |"
	done
	echo
	echo "## Results per scenario"
	echo
	echo "THP % = thp_fault_alloc / (alloc + fallback) over the whole cell (all processes); faulter % = the faulter's 2 MB regions backed by a huge page; regions = 2 MB regions the faulter faulted in its time (cells are bounded by time: a policy that spends less time in compaction faults more, and its event counts grow with that work); declined = THP faults the policy declined; fallbacks = migratetype fallback events; polluted = pageblocks they polluted; mixed, free o9 and unusable9 at the end of the cell; stalls = direct-compaction stalls; reclaim = pages stolen by reclaim; bloat against THP never."
	for s in $scenarios; do
		echo
		echo "### $s"
		echo
		echo "| policy | THP % | faulter % | regions | THP fallback | declined | fallbacks | polluted | mixed | free o9 | unusable9 ‰ | stalls | reclaim | swap-out | OOM | bloat % |"
		echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
		for p in $(pols_of "$s"); do
			echo "| \`$p\` | $(fmt "$s" "$p" thp_success_pct 1) | $(fmt "$s" "$p" faulter_huge_pct 1) | $(fmt "$s" "$p" faulter_regions) | $(fmt "$s" "$p" vm_thp_fault_fallback) | $(fmt "$s" "$p" vm_thp_fault_declined) | $(fmt "$s" "$p" extfrag_events) | $(fmt "$s" "$p" extfrag_polluted_blocks) | $(fmt "$s" "$p" mixed) | $(fmt "$s" "$p" free9_end) | $(fmt "$s" "$p" unusable9_end_pm) | $(fmt "$s" "$p" vm_compact_stall) | $(fmt "$s" "$p" pgsteal_total) | $(fmt "$s" "$p" vm_pswpout) | $(fmt "$s" "$p" vm_oom_kill) | $(fmt "$s" "$p" bloat_vs_never_pct 1) |"
		done
	done
	echo
	if [ -n "$DECISIONS" ]; then
		echo "## Decisions per hook and action"
		echo
		echo "The patched kernel's counters of what the attached policy decided (vmstat deltas over the cell, means over seeds; columns whose every mean is 0 left out). THP faults: \`thp_fault_declined\` is in the scenario tables."
		echo
		cols=""
		for k in $DECISIONS; do
			awk -F, -v k="${k}_mean" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next } c && $c != "" && $c + 0 != 0 { f = 1 } END { exit !f }' "$out/summary.csv" && cols+="$k "
		done
		if [ -n "$cols" ]; then
			printf '| scenario | policy |'; for k in $cols; do printf ' %s |' "${k#vm_}"; done; echo
			printf '|---|---|'; for k in $cols; do printf -- '---|'; done; echo
			for s in $scenarios; do for p in $(pols_of "$s"); do
				printf '| `%s` | `%s` |' "$s" "$p"
				for k in $cols; do printf ' %s |' "$(fmt "$s" "$p" "$k")"; done
				echo
			done; done
		else
			echo "No policy decision was counted in these cells."
		fi
		echo
	fi
	echo "## Headline: targets against the kernel default, on the scenarios that fragment"
	echo
	echo "Means over seeds; change against \`always\` on the same scenario and seeds. Targets (issue 12): THP fault fallbacks −75 % (as a share of THP faults: cells are bounded by time), mixed pageblocks −50 %, direct-compaction stalls −70 % (per 1000 faulted 2 MB regions), bloat ≤ +2.5 % over THP \`never\`, ≥ 90 % of the oracle's gain (on the THP fallback share), no scenario worse than the default (faulter's huge-page share not below the default's lowest seed)."
	echo "✓ = target met; otherwise the miss in percentage points. Scenarios that did not fragment, and THP \`never\` (the bloat baseline), are left out here (their rows are in the per-scenario tables)."
	echo
	echo "Cells are bounded by time and the policies do different amounts of work in that time, so counts are normalised: THP fallbacks as a share of THP faults, stalls and migratetype fallbacks per 1000 faulted 2 MB regions (kregion); mixed pageblocks are the state at the end of the cell."
	echo
	echo "| scenario | policy | seeds | THP fallback share (−75 %) | mixed pageblocks (−50 %) | stalls / kregion (−70 %) | bloat vs never (≤ +2.5 %) | of the oracle's gain (≥ 90 %) | migratetype fallbacks / kregion | faulter huge %: default → policy |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	for s in $frag_scenarios; do
		pols_of "$s" | grep -qx always || continue
		for p in $(pols_of "$s"); do
			# the baselines: the default itself, and THP never (bloat's zero)
			[ "$p" = always ] || [ "$p" = never ] && continue
			echo "| \`$s\` | \`$p\` | $(nseeds "$s" "$p") | $(target "$(get "$s" always thp_fallback_pct mean)" "$(get "$s" "$p" thp_fallback_pct mean)" -75) | $(target "$(get "$s" always mixed mean)" "$(get "$s" "$p" mixed mean)" -50) | $(target "$(get "$s" always stalls_per_kregion mean)" "$(get "$s" "$p" stalls_per_kregion mean)" -70) | $(bloat_target "$(get "$s" "$p" bloat_vs_never_pct mean)") | $(oracle_share "$(get "$s" always thp_fallback_pct mean)" "$(get "$s" "$p" thp_fallback_pct mean)" "$(get "$s" oracle thp_fallback_pct mean)") | $(pct "$(get "$s" always extfrag_per_kregion mean)" "$(get "$s" "$p" extfrag_per_kregion mean)") | $(fmt "$s" always faulter_huge_pct 1) → $(fmt "$s" "$p" faulter_huge_pct 1)$(worse "$s" "$p") |"
		done
	done
	echo
	if [ -r "$edir/findings.md" ]; then
		cat "$edir/findings.md"
		echo
	fi
	echo "## The oracle"
	echo
	echo "\`policies/oracle.policy\` (key \`oracle always\`) replays the outcomes recorded in the \`always\` cell of the same scenario and seed, which the matrix runs first:"
	echo
	echo "* **THP faults, keyed by process and 2 MB region.** The faulter records each region's outcome in fault order (\`faulter-regions.txt\`: 1 huge, 0 not). Its fault sequence is a function of the seed alone, so region *i* is the same logical region in both runs even though addresses and timing differ under TCG. In the oracle cell the faulter declines (MADV_NOHUGEPAGE: base pages at once, no compaction) every region that got no huge page before, and asks as usual (MADV_HUGEPAGE) elsewhere and past the end of the record (a cell that stalls less faults more regions)."
	echo "* **Not keyed: the applications' own THP faults.** redis, postgres, gcc and the file walkers fault from several threads in an order that depends on timing and eviction, which differ between runs under TCG: the oracle leaves them to the kernel default. So it bounds what a policy can gain on the THP user, not on the applications."
	echo "* **Compaction, by the recorded outcome.** Direct compactions are not keyed individually (their order is timing-dependent too): when every direct compaction of the recorded run failed (\`compact_success\` = 0), the oracle skips direct compaction (a \`compaction\` model \`is_kcompactd<1?skip:run\`); otherwise it leaves compaction to the kernel."
	echo "* It is a hindsight policy, not an upper bound on every metric: region outcomes can differ between two runs of the same seed (kcompactd and reclaim timing), and a declined region is counted under \`faulter %\` as not huge."
	echo
	if [ -n "$models_list" ]; then
		echo "## Model accuracy (held-out data, the trainer's reports)"
		echo
		echo "From \`model/defaults/*.json\` (\`fragml-train\`, docs/trainer.md): the integer model as the kernel runs it, scored on the validation split, the in-distribution test split (later in time than training) and the cross-workload test (workloads never trained on). *Per source* = leave-one-workload-out: the model retrained without that workload and scored on it (the sources of pages and faults are the workloads). Positive class: label 1 of the hook (docs/dataset.md)."
		echo
		echo "| model | data | trees | nodes | bytes (model.bin) | features used | validation acc / F1 | test acc / F1 | cross-workload acc / F1 (rows) |"
		echo "|---|---|---|---|---|---|---|---|---|"
		model_rows '"| `\($h)` | \($src) | \(.model.trees) | \(.model.nodes) | \(.model.bytes) | \(.model.features_used | join(", ")) | \(.metrics.validation.accuracy | f) / \(.metrics.validation.f1 | f) | \(.metrics.test.accuracy | f) / \(.metrics.test.f1 | f) | \(.metrics.cross_workload.accuracy | f) / \(.metrics.cross_workload.f1 | f) (\(.metrics.cross_workload.rows // 0)) |"' 

		echo
		echo "Per class (test split; lifetime: allocation class, thp_fault: anon; compaction and fallback have one class):"
		echo
		echo "| model | class | rows | accuracy | precision | recall | F1 |"
		echo "|---|---|---|---|---|---|---|"
		model_rows '(.by_class.test // {}) | to_entries[] | "| `\($h)` | \(.key) | \(.value.rows) | \(.value.accuracy | f) | \(.value.precision | f) | \(.value.recall | f) | \(.value.f1 | f) |"' 

		echo
		echo "Per source (leave-one-workload-out; sources with fewer than 20 rows left out of the figure):"
		echo
		echo "| model | held-out source | rows | label=1 | accuracy | F1 |"
		echo "|---|---|---|---|---|---|"
		model_rows '.leave_one_workload_out[] | "| `\($h)` | \(.workload) | \(.rows) | \((.tp // 0) + (.fn // 0)) | \(.accuracy | f) | \(.f1 | f) |"' 

		echo
		[ -s "$fig/accuracy_source.png" ] && echo "![accuracy per source](report/accuracy_source.png)" && echo
	fi
	echo "## Cost on the host: ns per inference, bytes per model, observe-mode overhead"
	echo
	if [ -r "$hdir/bench-infer.md" ]; then
		echo "Measured on the host (Linux $(cat "$hdir/kernel.txt" 2>/dev/null || echo "?"), BPF JIT), not in the guest: the guest runs under emulation. \`make eval-host\` ($(cat "$hdir/date.txt" 2>/dev/null)): \`make bench-infer\` (11 interleaved rounds, medians) and \`make bench-collect\` (15 runs, min and median); the host's CPU: $(cat "$hdir/cpu.txt" 2>/dev/null || echo "?"); load average when the benches began: $(cat "$hdir/load.txt" 2>/dev/null || echo "?") (on a shared, loaded host the userspace columns move by up to 2× between runs, the in-kernel column by ≈ 5 %: docs/performance.md)."
		echo
		echo "### ns per decision and bytes per model (\`make bench-infer\`)"
		echo
		grep '^|' "$hdir/bench-infer.md"
		echo
		grep -h -i 'BPF_PROG_TEST_RUN call\|loop cost' "$hdir/bench-infer.md" | sed 's/^/* /'
		echo "* map bytes: the kernel's memory for one model slot (a fixed-size BPF array value, the same for every model); the model files themselves: $(for h in $models_list; do printf '`%s` %s B (%s trees, %s nodes); ' "$h" "$(jq .model.bytes "$mdir/$h.json")" "$(jq .model.trees "$mdir/$h.json")" "$(jq .model.nodes "$mdir/$h.json")"; done | sed 's/; $//')."
		echo
		[ -s "$fig/inference_cost.png" ] && echo "![inference cost against model size](report/inference_cost.png)" && echo
	else
		echo "No host benchmark in \`$hdir\`: run \`make eval-host\`."
		echo
	fi
	if [ -r "$hdir/bench-collect.md" ]; then
		echo "### Observe-mode and collection overhead (\`make bench-collect\`)"
		echo
		echo "CPU time of an allocation-heavy and a fault-heavy loop with fragml's tracepoint programs attached (observe: features + model in shadow; collect: the dataset collector) against detached."
		echo
		grep '^|' "$hdir/bench-collect.md"
		echo
	fi
	echo "## Against published numbers"
	echo
	echo "Their setups differ from this one in every case: they run on bare metal or large VMs with gigabytes to terabytes of memory, real production or benchmark workloads and native speed; this evaluation runs a 1 GB guest under TCG emulation for a minute per cell with seeded synthetic drivers of real applications. Only the direction and rough size of a change compare; the absolute counts do not."
	echo
	echo "| work | mechanism | their setup | their result (as published) | here (closest row) | how the setups differ |"
	echo "|---|---|---|---|---|---|"
	echo "| migratetype hygiene (Linux 6.10, 2024) | keeps the buddy free lists' migratetype accounting exact, so fallbacks and pageblock claims do what the policy intends | kernel builds and THP-heavy tests on servers | fewer fallbacks polluting pageblocks and higher THP success; no single headline number is quoted here | the baseline: the guest kernel (6.12) already contains it | ours measures on top of it, not against it |"
	echo "| defrag_mode (Linux 6.15, 2025) | \`vm.defrag_mode\`: the allocator reclaims and compacts whole pageblocks before falling back into another migratetype | kernel-build + THP workload, production-like server | THP fault fallbacks −75 % (21 911 → 5 412), swap-outs +130 % | \`defrag-rule\` (the same rule through the fallback gate) where run: see the tables above and docs/report-gate.md | ours: 1 GB, minutes, TCG; the rule is enforced through our gate hook, not their allocator changes |"
	echo "| Learned C++ allocator (Maas et al., ASPLOS'20, LLAMA) | a model predicts object lifetimes from allocation call stacks; huge pages are filled with objects of like lifetime | Google server workloads, userspace allocator | fragmentation (memory held vs used in huge pages) −78 % | \`fragml-models\`: the \`lifetime\` model predicts kernel page lifetimes; the rows above | theirs places userspace objects inside huge pages; ours decides THP faults, compaction and fallbacks in the kernel |"
	echo "| Ingens (Kwon et al., OSDI'16) | huge pages only for regions ≥ 90 % utilised; asynchronous promotion; fairness | KVM/Linux servers, SPEC, redis, databases | lower bloat and fewer THP latency spikes than Linux \`always\` | \`ingens\`: the utilisation threshold as a fragml rule (\`task_density_ppk<922?decline\`) | ours has the threshold only: no asynchronous promotion, no fairness |"
	echo "| THP shrinker (Linux 6.12, 2024) | splits THPs whose subpages are mostly zero-filled under memory pressure (\`thp_deferred_split_page\`, \`thp_underused_max_ptes_none\`) | Meta production servers | lower THP memory bloat at the same THP coverage | the guest kernel has it; bloat vs \`never\` above includes its effect | a bloat fix, orthogonal to fragmentation; ours measures bloat at the end of the fragmentation phase |"
	echo
	echo "## Figures"
	echo
	for f in thp_success faulter_huge regions free9 unusable9 mixed extfrag stalls bloat; do
		[ -s "$fig/$f.png" ] && echo "![$f](report/$f.png)" && echo
	done
	for s in $scenarios; do
		[ -s "$fig/timeline-$s.png" ] && echo "![timeline $s](report/timeline-$s.png)" && echo
	done
	echo "## Time per cell (host)"
	echo
	echo "| scenario | policy | cells | seconds per cell, mean (min–max) |"
	echo "|---|---|---|---|"
	for s in $scenarios; do for p in $(pols_of "$s"); do
		echo "| \`$s\` | \`$p\` | $(nseeds "$s" "$p") | $(fmt "$s" "$p" host_cell_s) |"
	done; done
	echo
	echo "Total: $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "host_cell_s") c = i; next } { t += $c } END { printf "%d min", t / 60 }' "$out/cells.csv") of VM time for $ncell cells."
} >"$out/report.md"
echo "# eval: $out/report.md, $out/cells.csv, $out/summary.csv, $(ls "$fig"/*.png 2>/dev/null | wc -l) figures" >&2
[ "$nfail" = 0 ]
