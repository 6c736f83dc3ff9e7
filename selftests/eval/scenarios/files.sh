# desc: file-tree walk and page-cache/slab churn: find over /usr, tar of /usr/share read over 9p, and seeded create/delete of 0-64 KiB files in 256 folders on a 256 MB tmpfs
scenario_start() {
	mkdir -p "$WORK/tree"
	mount -t tmpfs -o size=256m tmpfs "$WORK/tree" || return 1
	"$EW" files "$WORK/tree" "$SEED" &
	bg_pid $!
	(while :; do find /usr -xdev >/dev/null 2>&1; done) &
	bg_pid $!
	(while :; do tar cf - /usr/share 2>/dev/null | cat >/dev/null; done) &
	bg_pid $!
}
