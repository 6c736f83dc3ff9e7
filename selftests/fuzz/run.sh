#!/usr/bin/env bash
# Run libFuzzer targets, FUZZ_JOBS (default 2) at a time.
#   run.sh FUZZ_BUILD_DIR SECONDS TARGET...
# Seeds: selftests/fuzz/corpus/<target>/ (read only); new inputs go to
# FUZZ_BUILD_DIR/corpus/<target>/, crashes to FUZZ_BUILD_DIR/artifacts/.
# FUZZ_REPLAY=1 first runs every committed corpus input once (regressions).
# Prints executions per target and the wall time; exits 1 on any finding.
set -u
dir=$1 secs=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
jobs=${FUZZ_JOBS:-2}
mkdir -p "$dir/logs" "$dir/artifacts"
start=$(date +%s)
fail=0

if [ "${FUZZ_REPLAY:-0}" = 1 ]; then
	for t in "$@"; do
		seeds=("$here/corpus/$t"/*)
		[ -e "${seeds[0]}" ] || continue
		if ! "$dir/$t" -runs=0 "${seeds[@]}" >"$dir/logs/$t.replay" 2>&1; then
			echo "not ok - $t: a committed corpus input fails (log: $dir/logs/$t.replay)"
			fail=1
		else
			echo "ok - $t: ${#seeds[@]} corpus inputs replayed"
		fi
	done
fi

one() {	# $1 = target
	local t=$1
	mkdir -p "$dir/corpus/$t" "$here/corpus/$t"
	"$dir/$t" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "$here/corpus/$t" \
		>"$dir/logs/$t.log" 2>&1
	echo $? >"$dir/logs/$t.rc"
}
export -f one
export dir secs here
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'one {}'

printf '%-18s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "$@"; do
	log=$dir/logs/$t.log
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	corp=$(ls "$dir/corpus/$t" | wc -l)
	rc=$(cat "$dir/logs/$t.rc" 2>/dev/null || echo 1)
	res=ok
	if [ "$rc" != 0 ]; then
		res="FINDING (exit $rc): $(grep -m1 -E 'ERROR:|runtime error:|deadly signal' "$log")"
		fail=1
	fi
	printf '%-18s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corp" "$res"
done
echo "fuzz: $# targets x ${secs} s, $jobs at a time: wall time $(( $(date +%s) - start )) s"
[ "$fail" = 0 ]
