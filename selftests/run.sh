#!/usr/bin/env bash
# Run KTAP-producing selftests and print the closing "N passed, N failed, N skipped".
#   run.sh [TEST_BINARY ...] [--cmd 'shell command' ...]
# A test binary that exits non-zero without reporting a failure counts as one failure.
set -u
passed=0 failed=0 skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

tally() {	# $1 = name, $2 = exit status; reads $log
	local p f s
	p=$(grep -cE '^ok [0-9]+' "$log" | tr -d ' ')
	s=$(grep -cE '^ok [0-9]+ .*# SKIP' "$log" | tr -d ' ')
	f=$(grep -cE '^not ok [0-9]+' "$log" | tr -d ' ')
	p=$((p - s))
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $1 exited with status $2 without reporting a failure"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

while [ $# -gt 0 ]; do
	if [ "$1" = --cmd ]; then
		name=$2; shift 2
		echo "# running: $name"
		bash -c "$name" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
	else
		name=$1; shift
		echo "# running: $name"
		"$name" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
	fi
	tally "$name" "$rc"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
