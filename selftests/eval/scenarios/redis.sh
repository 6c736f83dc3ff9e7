# desc: redis-server under memory pressure (maxmemory 600 MB, allkeys-random eviction, THP left to the policy) on a warm page cache, seeded SET/DEL churn of 4 KiB - 1 MiB values over 3000 keys (10 pipelined batches of 64 a second)
scenario_start() {
	warm_cache 8 "$frag_secs"
	redis_churn 600mb 3000 4096 1048576
}
