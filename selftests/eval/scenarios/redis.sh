# desc: redis-server under memory pressure (maxmemory 600 MB, allkeys-random eviction, THP left to the policy) on a warm page cache, seeded SET/DEL churn of 4 KiB - 1 MiB values over 3000 keys
scenario_start() {
	warm_cache 8 "$frag_secs"
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
		--maxmemory 600mb --maxmemory-policy allkeys-random --disable-thp no \
		--daemonize no --logfile "$WORK/redis.log" &
	bg_pid $!
	"$EW" kv 6379 "$SEED" 3000 1048576 4096 &
	bg_pid $!
}
