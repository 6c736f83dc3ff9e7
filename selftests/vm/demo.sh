#!/bin/bash
# The enforce-mode part of `make demo`: build (or reuse) the patched kernel,
# boot it, create unmovable fragmentation, and compare a THP faulter under the
# kernel default with the same faulter under fragml models (demo-guest.sh).
#
#   selftests/vm/demo.sh     FRAGML_FRAG_PIPES / FRAGML_FAULT_MB tune the run
set -euo pipefail
cd "$(dirname "$0")/../.."
exec make -s --no-print-directory demo-vm
