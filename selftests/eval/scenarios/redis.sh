# desc: redis-server (maxmemory 256 MB, allkeys-random eviction, THP left to the policy: disable-thp no) under seeded SET/DEL key churn of 64 B - 16 KiB values over 200000 keys
scenario_start() {
	redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" \
		--maxmemory 256mb --maxmemory-policy allkeys-random --disable-thp no \
		--daemonize no --logfile "$WORK/redis.log" &
	bg_pid $!
	"$EW" kv 6379 "$SEED" 200000 16384 &
	bg_pid $!
}
