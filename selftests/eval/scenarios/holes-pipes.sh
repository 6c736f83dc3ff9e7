# desc: movable memory scattered first (anonymous 4 KB pages over 60 % of free memory, every other one freed again: free memory in holes of movable pageblocks), then the pipes' unmovable burst, so that non-movable fallbacks take pages from partial movable blocks (the placement point)
scenario_start() {
	local mb i=0 n
	mb=$(awk '$1 == "MemFree:" { print int($2 * 60 / 100 / 1024) }' /proc/meminfo)
	"$FRAGML_BIN/fragml-work" --mb "$mb" --hold 600 holes >"$WORK/holes.out" &
	bg_pid $!
	while ! grep -q ready "$WORK/holes.out" 2>/dev/null && [ $i -lt 120 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	n=$(awk '$1 == "MemAvailable:" { n = int($2 / 8); print (n > 150000 ? 150000 : n) }' /proc/meminfo)
	"$EW" pipes "$n" "$SEED" "$WORK/pipes.ready" &
	bg_pid $!
	wait_ready "$WORK/pipes.ready"
}
