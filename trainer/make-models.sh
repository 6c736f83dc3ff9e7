#!/bin/bash
# Regenerate the shipped default models: model/defaults/<hook>.{bin,json,md}.
# Called by `make models`.  With COLLECT_DIR=<fragml-collect -o DIR> the models
# are trained on that real collection; without it on fragml-synth's SYNTHETIC
# data (until a collection is shipped).  Deterministic: same data + seed ->
# byte-identical .bin files.
set -euo pipefail

: "${FRAGML_BIN:?}" "${MODELS_DIR:?}" "${MODELS_DATA:?}"
TRAIN_SEED=${TRAIN_SEED:-1}
SYNTH_ROWS=${SYNTH_ROWS:-40000}
COLLECT_DIR=${COLLECT_DIR:-}
# COLLECT_<hook>=DIR: that hook's data from another collection (e.g. compaction from the VM,
# trainer/collect-vm-guest.sh), which then is not kept synthetic.
if [ -n "$COLLECT_DIR" ]; then
	# Defaults for a collection made by trainer/collect-real.sh (merged by
	# trainer/merge-collection.sh); override through the environment.
	# Compaction stays synthetic: the development machines (23 GB, mostly free) almost
	# never compact, so a bounded collection holds a handful of compaction rows.
	SYNTH_HOOKS=${SYNTH_HOOKS-$([ -n "${COLLECT_compaction:-}" ] || echo compaction)}
	# Held out (never trained on): every mixed scenario, and for lifetime the rest of the
	# machine (`background`: kernel builds and other tasks, trainer/merge-collection.sh).
	TEST_lifetime=${TEST_lifetime-background,mixed-app,mixed-sys,nothp-mixed-app,nothp-mixed-sys}
	TEST_thp_fault=${TEST_thp_fault-mixed-app,mixed-sys,nothp-mixed-app,nothp-mixed-sys}
fi
SYNTH_HOOKS=${SYNTH_HOOKS:-}
if [ -z "$COLLECT_DIR" ] && [ -z "${SYNTHETIC:-}" ]; then
	# A shipped model trained on a real collection is not replaced by a synthetic one by accident.
	for hook in lifetime thp_fault compaction; do
		if grep -q '^\*\*REAL\*\*' "$MODELS_DIR/$hook.md" 2>/dev/null; then
			echo "make-models: $MODELS_DIR/$hook.md: the shipped $hook model was trained on real data;" >&2
			echo "  retrain with 'make models COLLECT_DIR=<trainer/collect-real.sh OUT>/merged', or replace" >&2
			echo "  every model by synthetic ones with 'make models SYNTHETIC=1'" >&2
			exit 1
		fi
	done
fi
compaction_note=$(cat <<'EON'
Why so few: the development machines have 23 GB, mostly free, and never compact on their own (the
rows are the manual compaction at the end of mixed-sys). In a 1 GB QEMU guest (patched 6.12, no
policy) under pipe scatter the kernel does compact, but fragml-collect writes one row per
`mm_compaction_begin`/`mm_compaction_end` pair, and most direct compactions never get that far:
in one run tracefs counted 156 `mm_compaction_try_to_compact_pages` and 189
`mm_compaction_deferred` events but 16 begin/end pairs (the collector wrote all 16). A compaction
model needs the attempts the hook (`compaction_suitable()`) sees, deferred or skipped included.
EON
)
mkdir -p "$MODELS_DIR" "$MODELS_DATA"
rev=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo unknown)

for hook in lifetime thp_fault compaction; do
	cvar=COLLECT_$hook; cdir=${!cvar:-$COLLECT_DIR}
	real=0
	[ -n "$cdir" ] && [[ " $SYNTH_HOOKS " != *" $hook "* ]] && real=1
	case $hook in
	lifetime)   args=(--kind binary --trees 16 --max-depth 5) ;;
	thp_fault)  args=(--kind ordinal3 --trees 16 --max-depth 5 --compact-precision 0.95) ;;
	compaction) args=(--kind binary --trees 16 --max-depth 4) ;;
	esac
	if [ $real = 1 ]; then
		# Real data: options chosen by pooled leave-one-workload-out F1 over the
		# TRAINING workloads only (the held-out ones played no part).  Per-task rates
		# (task_alloc_rate) identify the workload rather than the allocation and did
		# not generalise; thp_fault needs larger leaves (min-child-weight 100).
		case $hook in
		lifetime)  args+=(--features order,migratetype,fallback_mt,alloc_class,gfp_bits,is_kthread,extfrag_rate,change_owner,task_long_ppk) ;;
		# thp_fault: only features of the region and the task's earlier regions. Machine
		# state (free_huge_blocks, unusable_ppk, compact_fail_ppk, extfrag_rate) does not
		# make a region dense: on the host it only told runs apart, and in a guest without a
		# NORMAL zone it is missing, which sent the old model to `decline` everywhere.
		# task_thp_rate and mm_rss_log2 tell PR_SET_THP_DISABLE runs (the only measurable
		# advised regions) from THP runs. Decline only where >= 98 % of the validation rows
		# declined are label 0; never compact (the label measures use, not compaction payoff).
		# task_density_ppk is left out too: only the collector (bpf/fragml_collect.bpf.c)
		# counts a task's regions and touches, so at the live hook it is always missing.
		thp_fault) args+=(--min-child-weight 100 --never-compact --decline-precision 0.98
				  --features order,vma_pages_log2,vma_huge_advised,region_in_vma) ;;
		esac
		tvar=TEST_$hook; test_wl=${!tvar:-}
		[ -n "$test_wl" ] && args+=(--test-workloads "$test_wl")
		csv=$cdir/$hook.csv
		[ -r "$csv" ] || { echo "make-models: $csv: missing (run fragml-collect -o $cdir)" >&2; exit 1; }
		gen="**REAL** data collected on $(cat "$cdir/kernel" 2>/dev/null || echo "an unrecorded kernel") by
\`fragml-collect\`, $(cat "$cdir/started" 2>/dev/null || echo ?) .. $(cat "$cdir/finished" 2>/dev/null || echo ?) (UTC):
\`$(basename "$csv")\` of the merged collection (trainer/collect-real.sh, trainer/merge-collection.sh);
collector (fragml-collect, bpf/) built from commit $(cat "$cdir/collector-rev" 2>/dev/null || echo "unrecorded")."
		gencmd=$(cat "$cdir/command" 2>/dev/null || echo "trainer/collect-real.sh ${cdir%/merged}   # fresh collection + merge (root, stock kernel)")
	else
		csv=$MODELS_DATA/$hook.csv
		gencmd="fragml-synth --hook $hook --rows $SYNTH_ROWS --seed $TRAIN_SEED -o $hook.csv"
		"$FRAGML_BIN"/fragml-synth --hook $hook --rows "$SYNTH_ROWS" --seed "$TRAIN_SEED" -o "$csv"
		gen=""
		[ -n "$cdir" ] && [ -r "$cdir/$hook.csv" ] && gen="**Not trained on real data:** the real collection \`$cdir\` holds
only $(($(wc -l < "$cdir/$hook.csv") - 1)) $hook rows ($(awk -F, 'NR==1{for(i=1;i<=NF;i++)if($i=="label")l=i;next}{p+=($l>0)}END{print p+0}' "$cdir/$hook.csv") with label 1), too few to train or test on
(table below), so this model is still the synthetic one.
$([ $hook = compaction ] && printf '\n%s\n' "$compaction_note")"
		gen="${gen:+$gen$'\n\n'}**SYNTHETIC** data from \`fragml-synth\` (trainer/synth_main.c: registry-shaped rows,
labels from hand-written noisy rules, 8 invented workloads). No kernel was measured: these
figures show the pipeline works, not how well fragml predicts real allocations. Retrain with
\`make models COLLECT_DIR=<fragml-collect output>\` once a real collection exists."
	fi
	echo "  TRAIN   $hook ($csv)"
	cmd=(fragml-train --hook $hook --data "$(basename "$csv")" -o $hook.bin -r $hook.json
	     --seed "$TRAIN_SEED" --loo "${args[@]}")
	(cd "$MODELS_DIR" && "$FRAGML_BIN"/fragml-train --hook $hook --data "$csv" -o $hook.bin \
		-r $hook.json.tmp --seed "$TRAIN_SEED" --loo "${args[@]}" 2>/dev/null) > "$MODELS_DATA/$hook.table"
	# the report names the data file by its base name, so it does not depend on the build dir
	sed -e "s|\"$MODELS_DIR/||" "$MODELS_DIR/$hook.json.tmp" > "$MODELS_DIR/$hook.json"
	rm -f "$MODELS_DIR/$hook.json.tmp"
	cat "$MODELS_DATA/$hook.table"
	{
		echo "# Default model: $hook"
		echo
		echo "\`$hook.bin\` — $(stat -c %s "$MODELS_DIR/$hook.bin") bytes, sha256 \`$(sha256sum "$MODELS_DIR/$hook.bin" | cut -c1-16)…\`."
		echo "Generated by \`make models\` (trainer/make-models.sh) at commit $rev; do not edit by hand."
		echo
		echo "## Data"
		echo
		echo "$gen"
		echo
		if [ -n "$cdir" ] && [ -r "$cdir/collection.md" ]; then
			# this hook's table from the collection summary (trainer/merge-collection.sh)
			awk -v h="## $hook.csv" 'index($0, h) == 1 { on = 1 } on && /^## / && index($0, h) != 1 { on = 0 } on' \
				"$cdir/collection.md" | sed -e 's/^## /### Real collection: /'
			echo
		fi
		if [ $real = 1 ]; then
			echo "### What the data are, and are not"
			echo
			case $hook in
			lifetime) cat <<'EON'
* Label: page still allocated T = 2 s after its allocation (`collect-all.sh` runs
  `fragml-collect -T 2 -s 1`: every unmovable/reclaimable allocation is tracked); pages younger
  than T when a run ends are censored (not written, counted in each run's summary.json).
* The machine was never under memory pressure (23 GB, about half free), so migratetype
  fallbacks (`mm_page_alloc_extfrag`) were rare: a handful of rows carry `fallback_mt` /
  `change_owner`. The model is in effect trained on unmovable/reclaimable allocations, not on
  the placement fallbacks it is meant to steer; that part is untested on real data.
* Several workloads keep a random subset of identical objects (1 in 8 pipes and socket pairs,
  1 in 4 files): no allocation-time feature can tell a kept pipe page from a closed one, so the
  pipe and net figures are bounded far below 1 by the data, not by the model size.
* Rows are system-wide: a workload's own rows are those of its processes (comm, see
  trainer/merge-collection.sh); all other tasks of the machine (other engineers' kernel builds
  and tests, kernel threads) form the held-out workload `background`.
* `task_alloc_rate` is left out: it identified the workload rather than the allocation and made
  leave-one-workload-out F1 over the training workloads worse (0.42 with it, 0.56 without).
EON
			;;
			thp_fault) cat <<'EON'
* Label: at least 768 of 1024 parts of the region's 512 subpages touched (distinct 4 KB fault
  addresses) and the region lived >= 1 s. Regions that got a huge page at their first fault
  (huge=1) are dropped: their density cannot be measured (docs/dataset.md). MADV_HUGEPAGE
  regions are therefore represented by the nothp-* runs (PR_SET_THP_DISABLE), whose faults are
  4 KB. Everything else is THP `madvise` mode on non-advised memory.
* The in-kernel THP hook only fires where a huge page is possible (advised, whole region in the
  VMA); most rows here (kernel-build processes in `background`, pagetables' children) are
  non-advised, so the class prior at the real hook differs from this data.
* Host rows (r1) come from an unfragmented 23 GB machine; the guest rows (vm-*, 1 GB QEMU
  guest, trainer/collect-vm-thp.sh) were faulted under unmovable pipe scatter (vm-frag-*:
  unusable index ~0.92 at order 9, ~17 free order-9 blocks) and without it (vm-clean-*).
  Under the scatter most THP faults fall back to 4 KB, so the THP runs vm-frag-dense and
  vm-frag-sparse have measurable regions: they are held out as the out-of-distribution test
  closest to `make demo-vm`.
* Features: only the region's (order, vma_pages_log2, vma_huge_advised, region_in_vma).
  Machine state is left out: it does not make a region
  dense, it only told the host runs apart, and free_huge_blocks/unusable_ppk are missing where
  node 0 has no NORMAL zone (the 1 GB guest), which sent the previous model (trained with them
  on the host only) to `decline` on every fault of `make demo-vm`. task_thp_rate and
  mm_rss_log2 are left out because they tell the PR_SET_THP_DISABLE runs (where advised
  regions can be measured) from THP runs; with them the held-out vm-frag-sparse was scored
  dense. task_density_ppk (the share touched of the task's earlier regions, the one feature
  that tells a sparse advised region from a dense one) is left out because only the
  collector maintains it (bpf/fragml_collect.bpf.c counts regions and touches); at the live
  hook it is always missing, and a model trained with it (held-out F1 0.98) declined all 192
  faults of `make demo-vm`. So this model does NOT tell sparse advised regions from dense
  ones (nothp-sparse-adv, vm-frag-sparse: almost all given no_compact): it declines where
  the region itself says THP is not worth it (not advised, not whole in its VMA, small VMA).
  Declining sparse advised regions needs the touch/region counts in the policy programs.
* Decline rule (`--decline-precision 0.98`): the F1 threshold is lowered until at least 98 %
  of the validation rows it declines have label 0 (not dense); if no threshold reached that,
  the model would never decline.
* Never compact (`--never-compact`): the label measures use, not whether a direct-compaction
  stall pays off. No collection in hand shows it paying off at a THP fault: 1 success in 355
  stalls in vm-frag-dense (the guest under scatter), and the host never needs it. So a well-used
  region gets `no_compact` (a huge page if one is free, no stall); compaction is left to
  kcompactd/khugepaged and the compaction hook.
EON
			;;
			esac
			echo
		fi
		echo "Rows: $(($(wc -l < "$csv") - 1)), sha256 of the CSV \`$(sha256sum "$csv" | cut -c1-16)…\`."
		echo
		echo "## Commands"
		echo
		echo '```'
		echo "$gencmd"
		echo "${cmd[*]}"
		echo '```'
		echo
		if [ $real = 1 ]; then
			echo "Reproducible: \`make models COLLECT_DIR=DIR\` on the same merged CSVs (sha256 above) with seed"
			echo "$TRAIN_SEED gives this byte-identical .bin. The CSVs are not in the repository (tens of MB);"
			echo "a fresh \`trainer/collect-real.sh\` measures the kernel again and gives new data and a new model."
			echo
		fi
		echo "Split: workloads held out for the cross-workload test (\`--test-workloads\` if given, else every 4th by name; listed below),"
		echo "the rest split by time (65 % train, 15 % validation, 20 % in-distribution test); thresholds"
		echo "chosen on validation (docs/trainer.md). \`--loo\` retrains once per workload with it"
		echo "held out. Full metrics: \`$hook.json\`."
		echo
		evar=EVAL_$hook
		IFS=: read -ra edirs <<< "${!evar:-}"
		for edir in "${edirs[@]}"; do
		if [ $real = 1 ] && [ -n "$edir" ] && [ -r "$edir/$hook.csv" ]; then
			# the shipped model on a collection it never saw (another kernel, say)
			echo "## Scored on another collection: \`$edir/$hook.csv\`"
			echo
			echo "$(cat "$edir/kernel" 2>/dev/null || echo "kernel not recorded"); $(($(wc -l < "$edir/$hook.csv") - 1)) rows,"
			echo "sha256 \`$(sha256sum "$edir/$hook.csv" | cut -c1-16)…\`. Not used for training or for choosing anything."
			echo
			echo '```'
			[ -r "$edir/command" ] && cat "$edir/command"
			echo "fragml-train --hook $hook --data $hook.csv --eval $hook.bin"
			"$FRAGML_BIN"/fragml-train --hook $hook --data "$edir/$hook.csv" --eval "$MODELS_DIR/$hook.bin" 2>/dev/null |
				tail -n +2
			echo '```'
			echo
		fi
		done
		echo "## Against the targets (benchmark, not test: issue 4)"
		echo
		awk -v real=$real '
			/binary model|ordinal3 model|argmax model/ { for (i = 1; i <= NF; i++) { if ($(i+1) == "trees,") t = $i; if ($i == "depth") d = $(i+1) } sub(",", "", d) }
			$1 == "cross_workload" && NF == 7 { f1 = $6; auc = $7 }
			$1 == "cross_workload:" && $2 != "anon" && $2 != "system" && NF == 8 { rc = rc sprintf("%s %s %s", (rc == "" ? "" : ","), $2, $6) }
			$1 == "cross_workload:" && $2 == "system" { sys = $6 }
			END {
				printf "* held-out workloads (never trained on): F1 %s (target >= 0.90: %s), ROC-AUC %s\n", f1, (f1 + 0 >= 0.90 ? "met" : "NOT met"), auc
				if (sys != "") printf "* held-out recall of system sources: all system classes %s (target >= 0.90: %s); per class:%s\n", sys, (sys + 0 >= 0.90 ? "met" : "NOT met"), rc
				printf "* kernel budget: %s trees (<= 32), depth %s (<= 8)\n", t, d
				if (!real) print "* these figures are on SYNTHETIC data and say nothing about real kernels"
			}' "$MODELS_DATA/$hook.table"
		echo
		# measured with the model in the kernel (make demo-vm), kept beside the collection
		if [ $real = 1 ] && [ -r "$cdir/$hook.measured.md" ]; then
			cat "$cdir/$hook.measured.md"
			echo
		fi
		echo "## Metrics (integer model, as the kernel runs it)"
		echo
		echo '```'
		cat "$MODELS_DATA/$hook.table"
		echo '```'
	} > "$MODELS_DIR/$hook.md"
done
