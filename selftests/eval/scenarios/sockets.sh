# desc: loopback TCP: 2000 connections, each holding up to 256 KiB unread in its socket buffers, a seeded 1 in 3 kept and churned (one replaced every 50 ms)
scenario_start() {
	"$EW" sockets "${FRAGML_EVAL_CONNS:-2000}" 262144 "$SEED" "$WORK/sockets.ready" &
	bg_pid $!
	wait_ready "$WORK/sockets.ready"
}
