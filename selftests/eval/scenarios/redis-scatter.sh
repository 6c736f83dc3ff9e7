# desc: redis-server (maxmemory 256 MB, allkeys-random eviction, THP left to the policy, seeded SET/DEL churn of 4 KiB - 1 MiB values over 3000 keys, 10 pipelined batches of 64 a second) on a machine whose kernel memory is already scattered: pipe buffers of one page each (MemAvailable / 8 KiB of them, at most 150000), a seeded 1 in 8 kept open and churned, as the pipes scenario
scenario_start() {
	local n=${FRAGML_EVAL_PIPES:-$(awk '$1 == "MemAvailable:" { n = int($2 / 8); print (n > 150000 ? 150000 : n) }' /proc/meminfo)}
	"$EW" pipes "$n" "$SEED" "$WORK/pipes.ready" &
	bg_pid $!
	wait_ready "$WORK/pipes.ready"
	redis_churn 256mb 3000 4096 1048576
}
