#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The shipped models are rebuilt from the repository (KTAP): one default model
# retrained by trainer/make-models.sh from the committed data
# (trainer/data/apps-*.csv.gz) into a scratch folder must equal
# model/defaults/<hook>.{bin,json,md} byte for byte, and so must the fallback
# gate's six (fallback, fallback-cost, fallback-pred, fallback-both, fallback-round2,
# fallback-lasting: trainer/make-fallback-model.sh, trainer/data/fallback*.csv.gz).
# Run after a build (`make check` builds first); needs build/bin/fragml-train.
#
#   test_models.sh [HOOK]       default: thp_fault (the smallest data)
set -u

top=$(cd "$(dirname "$0")" && while [ "$PWD" != / ] && ! [ -f Makefile -a -d model -a -d trainer ]; do cd ..; done; pwd)
[ -f "$top/Makefile" ] || { echo "test_models.sh: no fragml tree above $0" >&2; exit 1; }
bin=$top/build/bin hook=${1:-thp_fault}
tmp=$(mktemp -d) && trap 'rm -rf "$tmp"' EXIT

echo "TAP version 13"
echo "1..2"
fail=0
same() {	# N NAME DIR FILE...: the files of DIR equal model/defaults'
	local n=$1 name=$2 dir=$3 f bad=""
	shift 3
	for f in "$@"; do
		cmp -s "$dir/$f" "$top/model/defaults/$f" || bad="$bad $f"
	done
	if [ -z "$bad" ]; then
		echo "ok $n $name"
	else
		fail=$((fail + 1))
		echo "not ok $n $name"
		for f in $bad; do
			echo "#   $f differs from model/defaults/$f:"
			diff "$dir/$f" "$top/model/defaults/$f" 2>&1 | head -6 | sed 's/^/#     /'
		done
	fi
}
if [ ! -x "$bin/fragml-train" ]; then
	echo "ok 1 $hook model # SKIP no $bin/fragml-train (make first)"
	echo "ok 2 fallback model # SKIP no $bin/fragml-train (make first)"
	exit 0
fi
if [ -r "$top/trainer/data/apps-$hook.csv.gz" ]; then
	if FRAGML_BIN=$bin MODELS_DIR=$tmp/m MODELS_DATA=$tmp/d ONLY_HOOKS=$hook \
		"$top/trainer/make-models.sh" >"$tmp/log" 2>&1; then
		same 1 "$hook model rebuilt from trainer/data/apps-$hook.csv.gz" "$tmp/m" "$hook.bin" "$hook.json" "$hook.md"
	else
		fail=$((fail + 1))
		echo "not ok 1 $hook model: trainer/make-models.sh failed"
		tail -5 "$tmp/log" | sed 's/^/#   /'
	fi
else
	echo "ok 1 $hook model # SKIP no trainer/data/apps-$hook.csv.gz (make collect-apps)"
fi
if FRAGML_BIN=$bin "$top/trainer/make-fallback-model.sh" "$top/trainer/data" "$tmp/f" "$tmp/fw" >"$tmp/flog" 2>&1; then
	same 2 "fallback models rebuilt from trainer/data/fallback*.csv.gz" "$tmp/f" fallback.bin fallback.json fallback.md \
		fallback-cost.bin fallback-cost.json fallback-cost.md \
		fallback-pred.bin fallback-pred.json fallback-pred.md \
		fallback-both.bin fallback-both.json fallback-both.md \
		fallback-round2.bin fallback-round2.json fallback-round2.md \
		fallback-lasting.bin fallback-lasting.json fallback-lasting.md
else
	fail=$((fail + 1))
	echo "not ok 2 fallback model: trainer/make-fallback-model.sh failed"
	tail -5 "$tmp/flog" | sed 's/^/#   /'
fi
[ "$fail" -eq 0 ]
