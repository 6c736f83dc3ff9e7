# desc: redis-server (maxmemory 256 MB, allkeys-random eviction, THP left to the policy, seeded SET/DEL churn of 4 KiB - 1 MiB values over 3000 keys) on a machine whose kernel memory is already scattered: pipe buffers of one page each (MemAvailable / 8 KiB of them, at most 150000), a seeded 1 in 8 kept open and churned, as the pipes scenario
scenario_start() {
	local n=${FRAGML_EVAL_PIPES:-$(awk '$1 == "MemAvailable:" { n = int($2 / 8); print (n > 150000 ? 150000 : n) }' /proc/meminfo)}
	"$EW" pipes "$n" "$SEED" "$WORK/pipes.ready" &
	bg_pid $!
	wait_ready "$WORK/pipes.ready"
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
		--maxmemory 256mb --maxmemory-policy allkeys-random --disable-thp no \
		--daemonize no --logfile "$WORK/redis.log" &
	bg_pid $!
	"$EW" kv 6379 "$SEED" 3000 1048576 4096 &
	bg_pid $!
}
