# desc: loopback TCP with large socket buffers: 1000 connections, each holding up to 1 MiB unread (tcp_mem raised to 768 MB), a seeded 1 in 3 kept and churned (one replaced every 50 ms), on a warm page cache
scenario_start() {
	echo "98304 147456 196608" >/proc/sys/net/ipv4/tcp_mem
	echo "4096 131072 2097152" >/proc/sys/net/ipv4/tcp_wmem
	echo "4096 131072 2097152" >/proc/sys/net/ipv4/tcp_rmem
	echo 2097152 >/proc/sys/net/core/wmem_max
	echo 2097152 >/proc/sys/net/core/rmem_max
	warm_cache 8 "$frag_secs"
	"$EW" sockets "${FRAGML_EVAL_CONNS:-1000}" 1048576 "$SEED" "$WORK/sockets.ready" &
	bg_pid $!
	wait_ready "$WORK/sockets.ready"
}
