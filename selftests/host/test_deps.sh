#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Header dependencies of the build (KTAP).  For every header of the tree,
# `make -n -W HEADER` (HEADER taken as just changed, the file left alone) must
# recompile exactly what the compiler's dependency files (build/**/*.d) say
# depends on it, directly or through a BPF skeleton whose program includes it,
# and nothing else.  Run after a build (`make check` builds first).
#
#   test_deps.sh [HEADER ...]     default: every *.h under the source folders
set -u

top=$(cd "$(dirname "$0")" && while [ "$PWD" != / ] && ! [ -f Makefile -a -d model -a -d bpf ]; do cd ..; done; pwd)
[ -f "$top/Makefile" ] || { echo "test_deps.sh: no fragml tree above $0" >&2; exit 1; }
cd "$top" || exit 1
build=$top/build
goals=(all host-tests)
folders=(model bpf loader trainer selftests docs)

echo "TAP version 13"
deps=$(mktemp) && universe=$(mktemp) && trap 'rm -f "$deps" "$universe"' EXIT

# "target dep spelling" from the first rule of every .d file of the goals'
# objects (the others are -MP's empty rules): target and dep relative to the
# top, without "dir/.."; spelling as the .d has it (make knows files by name).
find "$build/obj" "$build/bpf" "$build/examples" -name '*.d' 2>/dev/null |
while read -r d; do
	sed -e ':a' -e '/\\$/{N;s/\\\n/ /;ba' -e '}' "$d" | head -1
done | awk -v top="$top/" '
function canon(p) {
	sub("^" top, "", p)
	while (sub(/[^\/.][^\/]*\/\.\.\//, "", p)) ;
	return p
}
{
	t = canon($1); sub(/:$/, "", t)
	for (i = 2; i <= NF; i++) print t, canon($i), $i
}' > "$deps"
if ! [ -s "$deps" ]; then
	echo "1..1"
	echo "not ok 1 dependency files # no build/**/*.d: run 'make all' first"
	exit 1
fi

# What the .d files say HEADER rebuilds: objects naming it, then, for every BPF
# object among them, the objects naming its skeleton.
expected() {
	local want=("$1") seen="" t s
	while [ ${#want[@]} -gt 0 ]; do
		local h=${want[0]}; want=("${want[@]:1}")
		for t in $(awk -v h="$h" '$2 == h { print $1 }' "$deps" | sort -u); do
			case " $seen " in *" $t "*) continue ;; esac
			seen="$seen $t"
			case $t in build/bpf/*.bpf.o)
				s=${t#build/bpf/}; want+=("build/include/${s%.bpf.o}.skel.h") ;;
			esac
		done
	done
	# only what the goals build (an earlier `make bench` leaves .d files too)
	printf '%s\n' $seen | sed '/^$/d' | sort -u | comm -12 - "$universe"
}

# The outputs of the compiler runs in `make -n ARGS... goals`, relative to the top.
compiled() {
	make -n "$@" FRAGML_DEPS_DONE=1 "${goals[@]}" 2>&1 |
	awk -v top="$top/" '
		$1 ~ /^(echo|printf)$/ { next }
		/(^|[ \/])(cc|gcc|clang)[ ]/ && / [^ ]+\.c( |$)/ {
			for (i = 1; i < NF; i++) if ($i == "-o") { o = $(i + 1); sub("^" top, "", o); print o }
		}' | sort -u
}

# What make would recompile: HEADER taken as new under every spelling the .d files use.
rebuilt() {
	local w=(-W "$1") s
	for s in $(awk -v h="$1" '$2 == h && $3 != h { print $3 }' "$deps" | sort -u); do w+=(-W "$s"); done
	compiled "${w[@]}"
}

# every object the goals compile: all sources the .d files name taken as new
# (not -B: that would also remake the order-only tool builds)
mapfile -t srcw < <(awk '$3 ~ /\.c$/ { print "-W"; print $3 }' "$deps" | paste - - | sort -u | tr '\t' '\n')
compiled "${srcw[@]}" > "$universe"
echo "# $(wc -l < "$universe") objects compiled by: make ${goals[*]}"

if [ $# -gt 0 ]; then
	headers=("$@")
else
	mapfile -t headers < <(find "${folders[@]}" -name '*.h' | sort)
fi
echo "1..${#headers[@]}"

n=0 fail=0
for h in "${headers[@]}"; do
	n=$((n + 1))
	exp=$(expected "$h")
	got=$(rebuilt "$h")
	if [ "$exp" = "$got" ]; then
		echo "ok $n $h ($(printf '%s' "$exp" | grep -c .) objects)"
	else
		fail=$((fail + 1))
		echo "not ok $n $h"
		comm -23 <(printf '%s\n' "$exp") <(printf '%s\n' "$got") | sed '/^$/d; s/^/#   not rebuilt, though its .d names it: /'
		comm -13 <(printf '%s\n' "$exp") <(printf '%s\n' "$got") | sed '/^$/d; s/^/#   rebuilt, though no .d names it: /'
	fi
done
echo "# $((n - fail)) of $n headers rebuild exactly what their .d files say"
[ "$fail" -eq 0 ]
