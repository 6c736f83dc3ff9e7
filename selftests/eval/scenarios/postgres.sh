# desc: PostgreSQL 15 on a warm page cache: a pgbench scale-3 database (built on the host by `make eval-deps`, copied to tmpfs), shared_buffers 256 MB, seeded TPC-B-like writes from 3 clients (pgbench -T, --random-seed) beside a reporting query sorting 1.5 M rows in memory (work_mem 256 MB), over and over
scenario_start() {
	local pg=/usr/lib/postgresql/15/bin tmpl=${FRAGML_EVAL_PGDATA:-$(dirname "$EW")/pgdata}
	[ -x "$pg/postgres" ] || { log "postgres: $pg/postgres missing (make deps installs postgresql-15)"; return 1; }
	[ -r "$tmpl/PG_VERSION" ] || { log "postgres: no template cluster $tmpl (make eval-deps builds it)"; return 1; }
	cp -a "$tmpl" "$WORK/pgdata" && mkdir -p "$WORK/pgsock" && chown postgres "$WORK/pgsock" || return 1
	runuser -u postgres -- "$pg/postgres" -D "$WORK/pgdata" -k "$WORK/pgsock" -c listen_addresses= \
		-c shared_buffers=256MB -c work_mem=256MB -c huge_pages=off -c fsync=off -c synchronous_commit=off \
		-c full_page_writes=off -c dynamic_shared_memory_type=sysv -c min_wal_size=2MB -c max_wal_size=32MB \
		-c checkpoint_timeout=30s -c logging_collector=off >"$WORK/postgres.log" 2>&1 &
	bg_pid $!
	local i
	for i in $(seq 60); do
		"$pg/pg_isready" -q -h "$WORK/pgsock" && break
		sleep 1
	done
	"$pg/pg_isready" -q -h "$WORK/pgsock" || { log "postgres did not start: $(tail -2 "$WORK/postgres.log")"; return 1; }
	warm_cache 8 "$frag_secs"
	runuser -u postgres -- "$pg/pgbench" -h "$WORK/pgsock" -n -c 3 -j 1 -T $((SECS * 2)) \
		--random-seed="$SEED" postgres >"$WORK/pgbench.log" 2>&1 &
	bg_pid $!
	(
		local n=0
		while :; do
			n=$((n + 1))
			runuser -u postgres -- "$pg/psql" -h "$WORK/pgsock" -qAt -c "SELECT setseed(0.$SEED$n); SELECT count(*) FROM (SELECT md5(random()::text) AS k FROM generate_series(1, 1500000) ORDER BY 1) s" postgres >/dev/null 2>&1 || sleep 1
		done
	) &
	bg_pid $!
}
