# desc: page cache churn: host files (over 9p, kept in the guest's page cache) read in a seeded order, over and over, more than fits, beside a seeded write/delete of 1-32 MiB files on a tmpfs (dd), so that the file LRU turns over and reclaim runs all the time
scenario_start() {
	mkdir -p "$WORK/pc"
	(
		local round=0
		while :; do
			round=$((round + 1))
			find /usr/lib /usr/share -type f -size +16k 2>/dev/null | seeded_shuf $round | head -4000 |
				xargs -d '\n' cat >/dev/null 2>&1
		done
	) &
	bg_pid $!
	(
		local i=0 mb
		while :; do
			i=$((i + 1))
			mb=$(( ($(echo "$SEED $i" | cksum | cut -d' ' -f1) % 32) + 1 ))
			dd if=/dev/zero of="$WORK/pc/f$((i % 8))" bs=1M count=$mb 2>/dev/null
			[ $((i % 3)) = 0 ] && rm -f "$WORK/pc/f$(((i + 4) % 8))"
			sleep 0.2
		done
	) &
	bg_pid $!
}
