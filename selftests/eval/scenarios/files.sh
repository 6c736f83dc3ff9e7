# desc: file-tree walks on a warm page cache: /usr/include and /usr/share/doc copied to a tmpfs tree, then git add/commit, find + grep, tar and a seeded delete/re-extract of subtrees, over and over; seeded create/delete of 0-64 KiB files in 256 folders
scenario_start() {
	warm_cache 8 "$frag_secs"
	mkdir -p "$WORK/tree"
	mount -t tmpfs -o size=384m tmpfs "$WORK/tree" || return 1
	mkdir -p "$WORK/tree/churn"
	"$EW" files "$WORK/tree/churn" "$SEED" &
	bg_pid $!
	(
		cd "$WORK/tree" || exit 1
		cp -a /usr/include /usr/share/doc . 2>/dev/null
		git init -q . && git config user.email eval@localhost && git config user.name eval
		git add -A include doc >/dev/null 2>&1 && git commit -qm base >/dev/null 2>&1
		local round=0
		while :; do
			round=$((round + 1))
			find include doc -type f | seeded_shuf $round | head -2000 | xargs grep -l define >/dev/null 2>&1
			tar cf - include | cat >/dev/null
			for d in $(ls -d include/* doc/* | seeded_shuf $round | head -40); do
				rm -rf "$d"
			done
			git status --short >/dev/null 2>&1
			git checkout -q -- . 2>/dev/null
			git gc -q --auto 2>/dev/null
		done
	) &
	bg_pid $!
}
