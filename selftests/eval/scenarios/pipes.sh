# desc: unmovable scatter: pipes holding one page each (MemAvailable / 8 KiB of them, at most 150000), a seeded 1 in 8 kept open and churned (one replaced every 20 ms)
# A scenario is sourced by eval-guest.sh with SEED, SECS, EW (the evalwork
# binary), WORK (a tmpfs folder) set.  It defines scenario_start, which starts
# the fragmenters in the background (bg_pid PID... so they are stopped at the
# end) and returns once they are set up; scenario_stop is optional.  The
# fragmenters run on while the THP faulter runs.
scenario_start() {
	# all pipes exist at once before 7 of 8 close, about 6 KiB each under
	# SLUB: an 8 KiB budget per pipe keeps the burst clear of the OOM killer
	local n=${FRAGML_EVAL_PIPES:-$(awk '$1 == "MemAvailable:" { n = int($2 / 8); print (n > 150000 ? 150000 : n) }' /proc/meminfo)}
	"$EW" pipes "$n" "$SEED" "$WORK/pipes.ready" &
	bg_pid $!
	wait_ready "$WORK/pipes.ready"
}
