#!/bin/bash
# The enforce-mode part of `make demo`: build (or reuse) the patched kernel,
# boot it, create unmovable fragmentation, and compare a THP faulter under the
# kernel default with the same faulter under fragml models.
#
#   selftests/vm/demo.sh            (from the top of the repository)
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s --no-print-directory vmtest-deps
bz=$(make -s --no-print-directory kernel-path)
build=$(make -s --no-print-directory -p -n kernel-path 2>/dev/null | awk '$1 == "BUILD" && $2 == ":=" { print $3; exit }')
exec selftests/vm/run-vm.sh "$bz" "$build/vmdemo" demo \
	FRAGML_BIN="$build/bin" FRAGML_TESTDIR="$build/selftests/vm" \
	FRAGML_FRAG_PIPES="${FRAGML_FRAG_PIPES:-120000}" FRAGML_FAULT_MB="${FRAGML_FAULT_MB:-384}"
