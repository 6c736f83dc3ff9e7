# selftests/eval: the evaluation runner.  One VM boot per cell of a
# scenario x policy x seed matrix (selftests/eval/*.matrix), policies as data
# (selftests/eval/policies/*.policy), scenarios as scripts
# (selftests/eval/scenarios/*.sh); raw and summary CSV, figures and the report
# under build/eval/.  Included from selftests/build.mk.
EVAL_OUT	?= $(BUILD)/eval
EVALWORK	:= $(BUILD)/selftests/eval/evalwork
# migratetype fallbacks counted in the guest kernel (nothing lost to a full ring)
EVALBLOCKS	:= $(BUILD)/selftests/eval/evalblocks $(BUILD)/selftests/eval/extfrag_blocks.bpf.o
EVAL_ENV	= FRAGML_BIN=$(BIN) FRAGML_EVAL_WORK=$(EVALWORK) FRAGML_EVAL_KHASH=$(KHASH)
EVAL_RUN	= $(EVAL_ENV) $(TOP)/selftests/eval/run-eval.sh
EVAL_MATRIX	?= $(TOP)/selftests/eval/full.matrix

EVAL_CFLAGS	:= $(BUILD)/selftests/eval/build.cflags
EVAL_PGDATA	:= $(BUILD)/selftests/eval/pgdata
PG_BIN		:= /usr/lib/postgresql/15/bin

$(EVALWORK): selftests/eval/evalwork.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -MF $@.d -o $@ $< -lm

$(BUILD)/selftests/eval/evalblocks: selftests/eval/evalblocks.c | $(LIBBPF_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -MF $@.d -Iselftests/eval -o $@ $< $(LDLIBS_BPF)

$(BUILD)/selftests/eval/extfrag_blocks.bpf.o: selftests/eval/extfrag_blocks.bpf.c $(VMLINUX_PATCHED_H) | $(LIBBPF_A)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -Iselftests/eval -c $< -o $@

# The `build` scenario compiles this tree's C sources in the guest with these
# flags (read unquoted there: no spaces inside one flag).
$(EVAL_CFLAGS): selftests/eval/build.mk | $(VMLINUX_H)
	@mkdir -p $(@D)
	@echo '-std=gnu11 -O2 -g -w -fPIC -DFRAGML_VERSION_STR="$(FRAGML_VERSION)" -I$(TOP)/model -I$(TOP)/loader -I$(TOP)/trainer -I$(GEN) -isystem $(LIBBPF_INC) -isystem $(HARNESS_INC)' >$@

# The `postgres` scenario's database: a pgbench scale-3 cluster (1 MB WAL segments, so little WAL is copied) built once on
# the host (initdb + pgbench -i on a private socket, no TCP), copied to the
# guest's tmpfs in each cell.  The guest cannot build it in time under TCG.
$(EVAL_PGDATA)/PG_VERSION:
	@test -x $(PG_BIN)/postgres || { echo "eval: $(PG_BIN)/postgres missing: make deps (postgresql-15)" >&2; exit 1; }
	@rm -rf $(EVAL_PGDATA) $(EVAL_PGDATA).sock && mkdir -p $(EVAL_PGDATA) $(EVAL_PGDATA).sock
	@chown postgres $(EVAL_PGDATA) $(EVAL_PGDATA).sock && chmod 700 $(EVAL_PGDATA)
	@runuser -u postgres -- $(PG_BIN)/initdb -D $(EVAL_PGDATA) -N -A trust -E UTF8 --no-locale --wal-segsize=1 >/dev/null
	@runuser -u postgres -- $(PG_BIN)/pg_ctl -D $(EVAL_PGDATA) -w -l $(EVAL_PGDATA).sock/log \
		-o "-k $(EVAL_PGDATA).sock -c listen_addresses= -c fsync=off -c min_wal_size=2MB -c max_wal_size=16MB" start >/dev/null
	@runuser -u postgres -- $(PG_BIN)/pgbench -h $(EVAL_PGDATA).sock -i -q -s 3 postgres 2>&1 | tail -1; \
		rc=$${PIPESTATUS[0]}; runuser -u postgres -- $(PG_BIN)/pg_ctl -D $(EVAL_PGDATA) -w -m fast stop >/dev/null; \
		rm -rf $(EVAL_PGDATA).sock; exit $$rc

.PHONY: eval-deps
## eval-deps: what the guest scenarios read from the host (evalwork, the build scenario's flags, the postgres scenario's database)
eval-deps: $(EVALWORK) $(EVALBLOCKS) $(EVAL_CFLAGS) $(EVAL_PGDATA)/PG_VERSION

CHECK_DEPS	+= $(EVALWORK)

.PHONY: eval eval-quick eval-report eval-publish eval-host eval-host-load
# the load average before the benches run (eval-host's first prerequisite)
eval-host-load:
	@mkdir -p $(EVAL_OUT)/host
	@cut -d' ' -f1-3 /proc/loadavg >$(EVAL_OUT)/host/load.txt
## eval-host: the report's host figures (ns per inference, bytes per model, observe-mode overhead) into build/eval/host
eval-host: eval-host-load bench-infer bench-collect
	@mkdir -p $(EVAL_OUT)/host
	@cp $(BUILD)/bench-infer.md $(BUILD)/bench-collect.md $(EVAL_OUT)/host/
	@uname -r >$(EVAL_OUT)/host/kernel.txt
	@{ sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sort | uniq -c | sed 's/^ *\([0-9]*\) /\1 x /'; \
	  echo "meltdown: $$(cat /sys/devices/system/cpu/vulnerabilities/meltdown 2>/dev/null || echo ?)"; } | paste -sd';' >$(EVAL_OUT)/host/cpu.txt
	@date -u +%Y-%m-%dT%H:%MZ >$(EVAL_OUT)/host/date.txt

## eval-quick: smoke run of the evaluation (4 cells of 30 s, about 6 min on an idle machine) into build/eval/quick; fails when a cell yields no metrics
eval-quick: vmtest-deps eval-deps rules
	@$(EVAL_RUN) $(TOP)/selftests/eval/quick.matrix $(EVAL_OUT)/quick $(KBZIMAGE)

## eval: the evaluation matrix (EVAL_MATRIX, default selftests/eval/full.matrix: 57 cells, 89 min measured on 2 idle cores) -> build/eval/report.md
eval: vmtest-deps eval-deps rules
	@$(EVAL_RUN) $(abspath $(EVAL_MATRIX)) $(EVAL_OUT) $(KBZIMAGE)

## eval-report: rebuild build/eval/{cells,summary}.csv, figures and report.md from the cells of the last `make eval`
eval-report:
	@$(TOP)/selftests/eval/report.sh $(EVAL_OUT)

## eval-publish: copy build/eval/report.md, its figures and its raw data to docs/report.md, docs/report/ (re-plot: make eval-report EVAL_OUT=docs/report/data)
eval-publish:
	@test -s $(EVAL_OUT)/report.md || { echo "eval-publish: $(EVAL_OUT)/report.md missing: run 'make eval'" >&2; exit 1; }
	@mkdir -p $(TOP)/docs/report
	@rm -rf $(TOP)/docs/report/*.png $(TOP)/docs/report/data
	cp $(EVAL_OUT)/report.md $(TOP)/docs/report.md
	cp $(EVAL_OUT)/report/*.png $(TOP)/docs/report/
	@# the raw data: every cell's counters and timeline, the CSVs, the host benches
	@mkdir -p $(TOP)/docs/report/data/cells
	cp $(EVAL_OUT)/cells.csv $(EVAL_OUT)/summary.csv $(TOP)/docs/report/data/
	@for c in $(EVAL_OUT)/cells/*/; do n=$$(basename $$c); mkdir -p $(TOP)/docs/report/data/cells/$$n; \
		cp $$c/meta.txt $$c/metrics.txt $$c/timeline.csv $(TOP)/docs/report/data/cells/$$n/ 2>/dev/null; done; true
	@test ! -d $(EVAL_OUT)/host || cp -r $(EVAL_OUT)/host $(TOP)/docs/report/data/
	@test ! -r $(EVAL_OUT)/matrix.txt || cp $(EVAL_OUT)/matrix.txt $(EVAL_OUT)/matrix.name $(TOP)/docs/report/data/
