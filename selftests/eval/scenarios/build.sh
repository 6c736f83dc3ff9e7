# desc: a C build on a warm page cache: fragml's own sources (model/, loader/, trainer/) compiled by gcc -O2 -g, two at a time in a seeded order, objects into tmpfs, archived with ar, over and over
scenario_start() {
	local flags=$(dirname "$EW")/build.cflags
	[ -r "$flags" ] || { log "build: $flags missing (make builds it with evalwork)"; return 1; }
	warm_cache 8 "$frag_secs"
	mkdir -p "$WORK/obj"
	(
		cd "$FRAGML_EVAL_TOP" || exit 1
		local round=0
		while :; do
			round=$((round + 1))
			ls model/*.c loader/*.c trainer/*.c | seeded_shuf $round |
				xargs -P 2 -I{} sh -c 'gcc $(cat "$1") -c "$2" -o "$3/$(echo "$2" | tr / _).o" 2>/dev/null' sh "$flags" {} "$WORK/obj"
			ar rcs "$WORK/libfragml-eval.a" "$WORK"/obj/*.o 2>/dev/null
			rm -f "$WORK"/obj/*.o
		done
	) &
	bg_pid $!
}
