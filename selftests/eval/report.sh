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
	add("thp_fallback_pct"); add("extfrag_per_kregion"); add("stalls_per_kregion")
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
 extfrag_nonmovable_blocks vm_fallback_gate_defer vm_fallback_gate_defer_satisfied vm_fallback_gate_defer_fellback
 vm_placement_default vm_placement_claim vm_placement_claim_override vm_placement_skip vm_placement_steal vm_placement_narrowed"
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
desc_of() { sed -n "s/^$2 //p; s/^# $2: //p" "$1" | head -1; }
rawcol() {	# first value of a column in cells.csv
	awk -F, -v k="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == k) c = i; next } c && $c != "" { print $c; exit }' "$out/cells.csv"
}
pct() {	# change of $2 against $1 in percent
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "") print "–"; else if (a == 0) print (b == 0 ? "±0 %" : "+∞"); else printf "%+.0f %%\n", 100 * (b - a) / a }'
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
timeline_fig() {	# SCENARIO: THP success, free order-9 blocks and fallback events over time, first seed
	local s=$1 f=$fig/timeline-$1 plots1="" plots2="" plots3="" seed
	seed=$(awk -F, -v s="$s" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["scenario"] == s { print $c["seed"]; exit }' "$out/cells.csv")
	for p in $(pols_of "$s"); do
		local t=$out/cells/$s.$p.s$seed/timeline.csv
		[ -r "$t" ] || continue
		awk -F, 'NR == 2 { a0 = $2; f0 = $3; e0 = $6 }
			 NR >= 2 { a = $2 - a0; f = $3 - f0; printf "%s %s %s %s\n", $1, (a + f) ? 100 * a / (a + f) : "?", $4, $6 - e0 }' "$t" >"$f.$p.dat"
		plots1+="${plots1:+, }\"$f.$p.dat\" using 1:2 with lines lw 2 title \"$p\""
		plots2+="${plots2:+, }\"$f.$p.dat\" using 1:3 with lines lw 2 title \"$p\""
		plots3+="${plots3:+, }\"$f.$p.dat\" using 1:4 with lines lw 2 title \"$p\""
	done
	[ -n "$plots1" ] || return
	cat >"$f.gp" <<-EOF
	set terminal pngcairo size 900,900 font ",10"
	set output "$f.png"
	set datafile missing "?"
	set multiplot layout 3,1 title "$s, seed $seed (guest seconds; the faulter starts at 2/5 of the cell)"
	set key outside right top
	set grid
	set ylabel "THP success %"
	set yrange [0:105]
	plot $plots1
	set ylabel "free order-9 blocks"
	set yrange [0:*]
	plot $plots2
	set ylabel "migratetype fallbacks"
	set xlabel "t (s)"
	plot $plots3
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
	echo "Raw data: \`build/eval/cells.csv\` (one row per cell, every counter), \`build/eval/summary.csv\`"
	echo "(mean, min, max, sd per scenario × policy); every figure is re-plotted from them by \`make eval-report\`."
	echo
	echo "## Method"
	echo
	echo "* **Guest.** The patched Linux $(rawcol kernel) (patch series + config hash \`$(rawcol patch_hash)\`) in QEMU TCG, $(rawcol guest_mem) RAM, machine \`$(rawcol machine)\`, a $(rawcol swap) swap disk; as it checked itself at boot: \`$(rawcol guest | tr ';_' ', ')\`."
	echo "  One VM boot per cell, so every cell starts from the same state. The guest runs under emulation (10–30× slower than native): all figures are counts from the guest, no latencies."
	echo "* **Cell.** The policy is applied first (THP mode, sysctls, fragml models loaded, so their footprint counts), caches dropped, counters snapshot;"
	echo "  the scenario's fragmenters run alone for 2/5 of the cell ($(rawcol secs) s of guest time in all), then a MADV_HUGEPAGE faulter ($(rawcol fault_mb) MiB working set in 8 MiB chunks, every 4 KiB written, a random chunk replaced once full) runs alongside them until the end."
	echo "* **Seeds.** $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "seed") c = i; next } !s[$c]++ { printf "%s%s", n++ ? ", " : "", $c }' "$out/cells.csv") (the fragmenters' and the faulter's random choices). Tables show mean (min–max) over seeds."
	echo "* **Metrics.** vmstat deltas over the cell (THP: \`thp_fault_alloc\`, \`thp_fault_fallback\`, \`thp_fault_declined\` = declined by the policy, apart from allocation failures; compaction, migration, reclaim, swap, OOM);"
	echo "  migratetype fallbacks = \`kmem:mm_page_alloc_extfrag\` events (tracefs ring-buffer entries + overruns, no per-event cost beyond the trace write), polluted pageblocks = distinct pageblocks of the fallbacks that did not claim the block (from the events kept in the ring buffer);"
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
	echo "| scenario | what | policy | free order-9: start → after | unusable9 ‰: start → after | fallback events | fragments |"
	echo "|---|---|---|---|---|---|---|"
	for s in $scenarios; do
		p=$(pols_of "$s" | head -1)
		read -r f0 f1 u0 u1 < <(awk -F, -v s="$s" -v p="$p" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
			$c["scenario"] == s && $c["policy"] == p { n++; a += $c["free9_start"]; b += $c["free9_after_frag"]; x += $c["unusable9_start_pm"]; y += $c["unusable9_after_frag_pm"] }
			END { if (n) printf "%.0f %.0f %.0f %.0f\n", a / n, b / n, x / n, y / n; else print "0 0 0 0" }' "$out/cells.csv")
		yes=$(awk -v f0="$f0" -v f1="$f1" -v u0="$u0" -v u1="$u1" 'BEGIN { print (u1 - u0 >= 50 || (f0 > 0 && f1 <= 0.8 * f0)) ? "yes" : "**no**" }')
		echo "| \`$s\` | $(desc_of "$edir/scenarios/$s.sh" desc) | \`$p\` | $f0 → $f1 | $u0 → $u1 | $(fmt "$s" "$p" extfrag_events) | $yes |"
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
	echo "## Against the kernel default (\`always\`), means over seeds"
	echo
	echo "Targets (issue): THP fault fallbacks −75 %, mixed pageblocks −50 %, direct-compaction stalls −70 %, bloat ≤ +2.5 % over THP never, no scenario worse than the default."
	echo
	echo "Cells are bounded by time and the policies do different amounts of work in that time, so the counts are normalised:"
	echo "THP fallbacks as a share of THP faults, compaction stalls and migratetype fallbacks per 1000 faulted 2 MB regions; mixed pageblocks and free order-9 blocks are states at the end of the cell."
	echo
	echo "| scenario | policy | THP fallback share | mixed pageblocks | compaction stalls / kregion | migratetype fallbacks / kregion | free o9 at end | faulter huge % (default → policy) |"
	echo "|---|---|---|---|---|---|---|---|"
	for s in $scenarios; do
		pols_of "$s" | grep -qx always || continue
		for p in $(pols_of "$s"); do
			[ "$p" = always ] && continue
			echo "| \`$s\` | \`$p\` | $(pct "$(get "$s" always thp_fallback_pct mean)" "$(get "$s" "$p" thp_fallback_pct mean)") | $(pct "$(get "$s" always mixed mean)" "$(get "$s" "$p" mixed mean)") | $(pct "$(get "$s" always stalls_per_kregion mean)" "$(get "$s" "$p" stalls_per_kregion mean)") | $(pct "$(get "$s" always extfrag_per_kregion mean)" "$(get "$s" "$p" extfrag_per_kregion mean)") | $(pct "$(get "$s" always free9_end mean)" "$(get "$s" "$p" free9_end mean)") | $(fmt "$s" always faulter_huge_pct 1) → $(fmt "$s" "$p" faulter_huge_pct 1) |"
		done
	done
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
		echo "| \`$s\` | \`$p\` | $(awk -F, -v s="$s" -v p="$p" 'NR > 1 && $1 == s && $2 == p { print $3 }' "$out/summary.csv") | $(fmt "$s" "$p" host_cell_s) |"
	done; done
	echo
	echo "Total: $(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "host_cell_s") c = i; next } { t += $c } END { printf "%d min", t / 60 }' "$out/cells.csv") of VM time for $ncell cells."
} >"$out/report.md"
echo "# eval: $out/report.md, $out/cells.csv, $out/summary.csv, $(ls "$fig"/*.png 2>/dev/null | wc -l) figures" >&2
[ "$nfail" = 0 ]
