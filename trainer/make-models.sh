#!/bin/bash
# Regenerate the shipped default models: model/defaults/<hook>.{bin,json,md}.
# Called by `make models`.  By default the models are trained on the
# collection committed in the repository (REPO_DATA, default trainer/data:
# apps-{lifetime,thp_fault,compaction}.csv.gz from `make collect-apps`, trimmed
# by trainer/trim-collection.sh); a hook whose committed data are too few is
# trained on fragml-synth's SYNTHETIC data.  With COLLECT_DIR=<merged
# fragml-collect output> the models are trained on that collection instead.
# Deterministic: same data + seed -> byte-identical .bin, .json and .md files
# (ONLY_HOOKS=lifetime,... regenerates some of them: selftests/host/test_models.sh).
set -euo pipefail

: "${FRAGML_BIN:?}" "${MODELS_DIR:?}" "${MODELS_DATA:?}"
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=models.conf
. "$here/models.conf"
TRAIN_SEED=${TRAIN_SEED:-1}
SYNTH_ROWS=${SYNTH_ROWS:-40000}
COLLECT_DIR=${COLLECT_DIR:-}
REPO_DATA=${REPO_DATA:-$here/data}
ONLY_HOOKS=${ONLY_HOOKS:-lifetime,thp_fault,compaction}
from_repo=0
if [ -z "$COLLECT_DIR" ] && [ -z "${SYNTHETIC:-}" ] && [ -r "$REPO_DATA/apps-lifetime.csv.gz" ]; then
	# the committed application collection, unpacked under the build directory
	from_repo=1
	COLLECT_DIR=$MODELS_DATA/apps
	mkdir -p "$COLLECT_DIR"
	for hook in lifetime thp_fault compaction; do
		# brought to the running registry (features registered since the collection: empty)
		"$here/pad-features.sh" "$REPO_DATA/apps-$hook.csv.gz" "$COLLECT_DIR/$hook.csv"
	done
	# compaction: real only when the guest compacted often enough to train and test on
	cpos=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") l = i; next } { n++; p += ($l > 0) } END { print (n >= 200 && p >= 20 && n - p >= 20) ? "ok" : n + 0 ":" p + 0 }' "$COLLECT_DIR/compaction.csv")
	[ "$cpos" = ok ] || SYNTH_HOOKS=${SYNTH_HOOKS-compaction}
	# held out (never trained on): a database and the file-tree walks; --loo holds out each
	# application in turn
	TEST_lifetime=${TEST_lifetime-$APPS_TEST}
	TEST_thp_fault=${TEST_thp_fault-$APPS_TEST}
	TEST_compaction=${TEST_compaction-$APPS_TEST}
fi
# COLLECT_<hook>=DIR: that hook's data from another collection (e.g. compaction from the VM,
# trainer/collect-vm-guest.sh), which then is not kept synthetic.
if [ -n "$COLLECT_DIR" ] && [ $from_repo = 0 ]; then
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
# The leave-one-workload-out lines of a fragml-train table as a markdown table
loo_table() {
	echo "| held-out application | rows | label=1 | precision | recall | F1 | ROC-AUC |"
	echo "|---|---:|---:|---:|---:|---:|---:|"
	awk '/leave-one-workload-out/ { on = 1; next }
	     on && $2 == "f1" && NF >= 13 { printf "| %s | %s | %s | %s | %s | %s | %s |\n", $1, $11, $13, $9, $5, $3, $7 }' "$1"
}
# The per-application held-out runs pooled: their confusion counts summed over
# every application (the synthetic pipes left out), from a report's
# leave_one_workload_out.  loo_pooled REPORT.json -> "F1 f (precision p, recall r; tp/fp/fn)"
loo_pooled() {
	jq -r '[.leave_one_workload_out[] | select(.workload != "pipes")] |
	       {tp: (map(.tp) | add), fp: (map(.fp) | add), fn: (map(.fn) | add)} |
	       (if .tp + .fp > 0 then .tp / (.tp + .fp) else 0 end) as $p |
	       (if .tp + .fn > 0 then .tp / (.tp + .fn) else 0 end) as $r |
	       def f3: . * 1000 | round / 1000 | tostring;
	       "F1 \(if $p + $r > 0 then 2 * $p * $r / ($p + $r) else 0 end | f3) (precision \($p | f3), recall \($r | f3); \(.tp) true, \(.fp) false positives, \(.fn) missed)"' "$1"
}
# What the shipped thp_fault model declines, per kind of region (advised or
# not): fragml-train --eval on the rows of each kind, its confusion matrix
# (columns: decline, no_compact, compact).  thp_declines CSV MODEL.bin
thp_declines() {
	local csv=$1 bin=$2 a tmp out=()
	tmp=$(mktemp -d)
	for a in 0 1; do
		awk -F, -v a=$a 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "vma_huge_advised") c = i; print; next } $c == a' \
			"$csv" >"$tmp/$a.csv"
		"$FRAGML_BIN"/fragml-train -q --hook thp_fault --data "$tmp/$a.csv" --eval "$bin" -r "$tmp/$a.json" >/dev/null 2>&1 ||
			{ rm -rf "$tmp"; echo "(not evaluated)"; return; }
		out+=("$(jq -r '.metrics | "\(.confusion | map(.[0]) | add) of the \(.rows) (\(.confusion[1] | add) of them label 1)"' "$tmp/$a.json")")
	done
	rm -rf "$tmp"
	printf 'declines %s eligible regions not advised\n  and %s advised ones' "${out[0]}" "${out[1]}"
}
# A model of the lifetime model's shape on the pollutes label (trainer/pollutes.awk):
# MODELS_DATA/pollutes.{csv,bin,json,table}.  pollutes_model CSV FRAGML-TRAIN-ARGS...
pollutes_model() {
	local csv=$1
	shift
	awk -F, -v OFS=, -f "$here/pollutes.awk" -f <(cat <<'EOA'
NR == 1 { pollutes_header(); print; next }
{ $PCOL["label"] = pollutes() ? 1 : 0; print }
EOA
	) "$csv" >"$MODELS_DATA/pollutes.csv"
	"$FRAGML_BIN"/fragml-train --hook lifetime --data "$MODELS_DATA/pollutes.csv" -o "$MODELS_DATA/pollutes.bin" \
		-r "$MODELS_DATA/pollutes.json" --seed "$TRAIN_SEED" --loo "$@" 2>"$MODELS_DATA/pollutes.err" >"$MODELS_DATA/pollutes.table"
}
pollutes_count() {
	awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "label") l = i; next } { p += $l } END { print p + 0 }' "$MODELS_DATA/pollutes.csv"
}
# What the committed application data are (trainer/data/apps-*.csv.gz)
apps_notes() {
	case $1 in
	lifetime) cat <<'EON'
* Row: one unmovable or reclaimable page allocation (`fragml-collect -T 2 -s 1`: every one is
  tracked) and every migratetype fallback (`mm_page_alloc_extfrag`), system-wide in the guest:
  the application, its helpers (the evalwork client, the scenario's shell loops), the THP
  faulter of the cell's second part, the pressure ballast (`fragml-work holes`: 60 % of free
  memory in 4 KB anonymous pages, every other one freed) and kernel threads, all under the
  scenario's name. Label: still allocated T = 2 s after the allocation.
* The held-out test is by application: the applications of `APPS_TEST` (trainer/models.conf)
  are never trained on; `--loo` retrains once per application with it held out (table
  "Per application" below). `pipes` is a synthetic extra (evalwork), never a test set of its own
  choosing.
* Trimmed: at most CAP_ROWS rows per application and class (every k-th in time), every
  fallback row kept, so classes with many rows (net, slab) are thinned and fallbacks are
  over-represented against the raw stream (trainer/data/apps-collection.md has both counts).
* "pollutes" (trainer/pollutes.awk, docs/dataset.md): a non-movable page taken by a fallback
  from a movable pageblock without claiming it, still allocated at T. The shipped model
  predicts the lifetime label; the pollutes figures below come from a model of the same shape
  and features trained on the pollutes label (build/models-data/pollutes.bin, not shipped).
* How much an application pollutes varies by boot (trainer/data/apps-collection.md, per cell:
  fallbacks and polluted blocks); the "pollutes" column above counts each application's
  polluting pages. The held-out pollutes figure of an application with a handful of them says
  little; the pooled figure rests on those with many; `pipes` (synthetic) is the test trained
  on applications only.
* `site_long_ppk` and `path_long_ppk` are the values the collector computed: the site lifetime
  table (a site's record, and its kernel path's across processes) learned online at T, from
  empty, in each cell (a fresh boot), as `fragml-load` without `--site-table` has it. A
  table seeded from training data would give a held-out application's known sites a value
  from their first allocation.
* The pollutes label is half structure, half lifetime: `fallback_mt`, `change_owner` and
  `migratetype` are features (known at the fallback), so the model only has to learn which
  fallback pages live past T. The in-sample bound is vacuous where feature vectors are nearly
  unique (pipes: compare "distinct vectors" with "rows" below; through `extfrag_rate`,
  `task_long_ppk`, the site's and the path's records and the owner's age and size).
EON
	;;
	thp_fault) cat <<'EON'
* Row: one 2 MB anonymous region at its first user fault, every process of the guest (the
  application, its helpers, the THP faulter, the ballast), only where the live hook runs:
  the region whole in its VMA (`ONLY_thp_fault`, trainer/models.conf). The other regions
  (most rows, nearly all sparse) taught the model to decline every region not advised.
* Label: at least 768 of 1024 parts of the region touched and the region lived >= 1 s; for a
  region that got a huge page at its first fault (huge=1, its density cannot be measured):
  the huge page lived >= 1 s. These rows are kept (unlike the host collection's): under THP
  `always` most eligible regions got a huge page at once, and with only the regions that
  fell back to 4 KB (mostly sparse) a model learnt to decline every region not advised
  (753 of 753 such regions), where the kernel default gives them huge pages.
EON
		echo "  This model $(thp_declines "$csv" "$MODELS_DIR/thp_fault.bin") (\`fragml-train --eval\`"
		echo "  on the rows of each kind; where advised it answers no_compact: \`--never-compact\`)."
		cat <<'EON'
* Features: only the region's own (trainer/models.conf; the reasons are those of the host
  model, kept below in trainer/make-models.sh).
EON
	;;
	compaction) cat <<'EON'
* Row: one compaction run (direct or kcompactd) in the guest during a cell; label = the
  requested order became available (docs/dataset.md). Real data now (the guest under the
  pressure ballast and the THP faulter compacts: "Rows" below); the host collection
  had too few rows, so the model before this one was synthetic.
* Features: those both the observe programs and the enforcing policy compute
  (trainer/models.conf).
EON
	;;
	esac
}
mkdir -p "$MODELS_DIR" "$MODELS_DATA"

for hook in lifetime thp_fault compaction; do
	[[ ",$ONLY_HOOKS," == *",$hook,"* ]] || continue
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
		fvar=FEATURES_$hook
		case $hook in
		lifetime)  args+=(--features "${!fvar}") ;;
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
				  --features "${!fvar}") ;;
		compaction) args+=(--features "${!fvar}") ;;
		esac
		tvar=TEST_$hook; test_wl=${!tvar:-}
		[ -n "$test_wl" ] && args+=(--test-workloads "$test_wl")
		# the pollutes model: the lifetime model's shape, its own threshold (below)
		pargs=("${args[@]}")
		tfv=THRESHOLD_FROM_$hook
		[ -n "${!tfv:-}" ] && args+=(--threshold-from "${!tfv}")
		csv=$cdir/$hook.csv
		[ -r "$csv" ] || { echo "make-models: $csv: missing (run fragml-collect -o $cdir)" >&2; exit 1; }
		gen="**REAL** data collected on $(cat "$cdir/kernel" 2>/dev/null || echo "an unrecorded kernel") by
\`fragml-collect\`, $(cat "$cdir/started" 2>/dev/null || echo ?) .. $(cat "$cdir/finished" 2>/dev/null || echo ?) (UTC):
\`$(basename "$csv")\` of the merged collection (trainer/collect-real.sh, trainer/merge-collection.sh);
collector (fragml-collect, bpf/) built from commit $(cat "$cdir/collector-rev" 2>/dev/null || echo "unrecorded")."
		gencmd=$(cat "$cdir/command" 2>/dev/null || echo "trainer/collect-real.sh ${cdir%/merged}   # fresh collection + merge (root, stock kernel)")
		if [ $from_repo = 1 ]; then
			gen="**REAL** data in the repository: \`trainer/data/apps-$hook.csv.gz\` (sha256
\`$(sha256sum "$REPO_DATA/apps-$hook.csv.gz" | cut -c1-16)…\`), real applications (Debian packages started by
selftests/eval/scenarios/*.sh) under memory pressure in the 1 GB QEMU guest, traced by
\`fragml-collect\` through the evaluation runner (\`make collect-apps\`: policy \`collect\`,
selftests/eval/collect.matrix), merged and trimmed by trainer/trim-collection.sh.
$(sed -n 's/^Collected by /Collected by /p; s/^on \(.*\)(UTC),$/on \1(UTC),/p; s/^collector (fragml-collect, bpf\/) built from commit \(.*\)\.$/Collector (fragml-collect, bpf\/) built from commit \1./p' "$REPO_DATA/apps-collection.md")"
			gencmd="make collect-apps    # the data (QEMU guest, TCG; not needed to rebuild the model)
make models          # unpacks trainer/data/apps-$hook.csv.gz to $hook.csv, then:"
		fi
	else
		csv=$MODELS_DATA/$hook.csv
		gencmd="fragml-synth --hook $hook --rows $SYNTH_ROWS --seed $TRAIN_SEED -o $hook.csv"
		"$FRAGML_BIN"/fragml-synth --hook $hook --rows "$SYNTH_ROWS" --seed "$TRAIN_SEED" -o "$csv"
		gen=""
		[ -n "$cdir" ] && [ -r "$cdir/$hook.csv" ] && gen="**Not trained on real data:** the real collection \`$([ $from_repo = 1 ] && echo "trainer/data/apps-$hook.csv.gz" || echo "$cdir")\` holds
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
	# the data path reduced to its base name, the wall time (train_seconds) dropped: byte-reproducible
	sed -e "s|\"$MODELS_DIR/||" -e "s|\"$(dirname "$csv")/|\"|" -e '/^  "train_seconds":/d' \
		"$MODELS_DIR/$hook.json.tmp" > "$MODELS_DIR/$hook.json"
	rm -f "$MODELS_DIR/$hook.json.tmp"
	cat "$MODELS_DATA/$hook.table"
	{
		echo "# Default model: $hook"
		echo
		echo "\`$hook.bin\` — $(stat -c %s "$MODELS_DIR/$hook.bin") bytes, sha256 \`$(sha256sum "$MODELS_DIR/$hook.bin" | cut -c1-16)…\`."
		echo "Generated by \`make models\` (trainer/make-models.sh); do not edit by hand."
		echo
		echo "## Data"
		echo
		echo "$gen"
		echo
		if [ $from_repo = 1 ]; then
			# this hook's table from trainer/data/apps-collection.md
			awk -v h="## apps-$hook.csv.gz" 'index($0, h) == 1 { on = 1 } on && /^## / && index($0, h) != 1 { on = 0 } on' \
				"$REPO_DATA/apps-collection.md" | sed -e 's/^## /### Committed data: /'
			echo
		elif [ -n "$cdir" ] && [ -r "$cdir/collection.md" ]; then
			# this hook's table from the collection summary (trainer/merge-collection.sh)
			awk -v h="## $hook.csv" 'index($0, h) == 1 { on = 1 } on && /^## / && index($0, h) != 1 { on = 0 } on' \
				"$cdir/collection.md" | sed -e 's/^## /### Real collection: /'
			echo
		fi
		if [ $real = 1 ] && [ $from_repo = 1 ]; then
			echo "### What the data are, and are not"
			echo
			apps_notes $hook
			echo
		elif [ $real = 1 ]; then
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
		if [ $from_repo = 1 ] && [ $real = 1 ]; then
			# the committed file's hash: the unpacked CSV follows the registry (pad-features.sh)
			echo "Rows: $(($(wc -l < "$csv") - 1)), from \`trainer/data/apps-$hook.csv.gz\` (sha256 \`$(sha256sum "$REPO_DATA/apps-$hook.csv.gz" | cut -c1-16)…\`)."
		else
			echo "Rows: $(($(wc -l < "$csv") - 1)), sha256 of the CSV \`$(sha256sum "$csv" | cut -c1-16)…\`."
		fi
		echo
		echo "## Commands"
		echo
		echo '```'
		echo "$gencmd"
		echo "${cmd[*]}"
		echo '```'
		echo
		if [ $from_repo = 1 ] && [ $real = 1 ]; then
			echo "Reproducible: \`make models\` trains on the committed data with seed $TRAIN_SEED and gives this"
			echo "byte-identical .bin, .json and .md (checked by selftests/host/test_models.sh). A fresh"
			echo "\`make collect-apps\` measures the guest again and gives new data and a new model."
			echo
		elif [ $real = 1 ]; then
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
		if [ $real = 1 ]; then
			echo "## Per application (held out: trained without it, tested on it)"
			echo
			loo_table "$MODELS_DATA/$hook.table"
			echo
			echo "Every application held out once, pooled (confusion counts summed; the synthetic pipes left"
			echo "out): $(loo_pooled "$MODELS_DIR/$hook.json")."
			echo
		fi
		if [ $real = 1 ]; then
			fvar=FEATURES_$hook
			echo "## Bound from the data (trainer/label-bound.sh)"
			echo
			echo "The best F1 any model of these features could reach, in sample: rows with equal feature"
			echo "vectors get one answer (vectors ranked by their share of label 1, F1-best cut chosen on the"
			echo "same rows, so an upper bound). Where it is below 0.90, the features cannot tell the"
			echo "labels apart (pages of one kind of allocation with different lifetimes), whatever the model."
			echo
			"$here/label-bound.sh" "$csv" "${!fvar}"
			echo
			if [ $hook = lifetime ]; then
				echo "Per allocation class (the system sources; bound within each class). The last column"
				echo "is what the recall target costs: the precision of the first cut that reaches recall"
				echo "0.90; where it is near the class's share of label 1, only \"long\" for every page of"
				echo "the class reaches that recall."
				echo
				"$here/label-bound.sh" "$csv" "${!fvar}" class
				echo
			fi
		fi
		if [ $real = 1 ] && [ $hook = lifetime ]; then
			echo "## The pollutes label (same features and shape, label = pollutes)"
			echo
			if pollutes_model "$csv" "${pargs[@]}"; then
				echo "Rows with label pollutes = 1: $(pollutes_count) of $(($(wc -l <"$MODELS_DATA/pollutes.csv") - 1))."
				echo
				awk '$1 == "cross_workload" && NF == 7 { printf "* held-out applications (never trained on): F1 %s (target >= 0.90: %s), precision %s, recall %s, ROC-AUC %s\n", $6, ($6 + 0 >= 0.90 ? "met" : "NOT met"), $4, $5, $7 }' "$MODELS_DATA/pollutes.table"
				p=$(loo_pooled "$MODELS_DATA/pollutes.json")
				echo "* every application held out once, pooled (confusion counts summed; the synthetic pipes left out): $p (target >= 0.90: $(awk '{ print ($2 + 0 >= 0.90 ? "met" : "NOT met") }' <<<"$p"))"
				echo
				loo_table "$MODELS_DATA/pollutes.table"
				echo
				echo "Bound from the data (as above, label = pollutes):"
				echo
				"$here/label-bound.sh" "$MODELS_DATA/pollutes.csv" "$FEATURES_lifetime"
				echo
				echo '```'
				echo "awk -f trainer/pollutes.awk ... lifetime.csv > pollutes.csv   # label := pollutes"
				echo "fragml-train --hook lifetime --data pollutes.csv -o pollutes.bin --seed $TRAIN_SEED --loo ${pargs[*]}"
				cat "$MODELS_DATA/pollutes.table"
				echo '```'
			else
				echo "No model: $(pollutes_count) rows have label pollutes = 1 (fragml-train: $(tail -1 "$MODELS_DATA/pollutes.err"))."
			fi
			echo
		fi
		echo "## Metrics (integer model, as the kernel runs it)"
		echo
		echo '```'
		cat "$MODELS_DATA/$hook.table"
		echo '```'
	} > "$MODELS_DIR/$hook.md"
done
