# selftests/: host selftests (kselftest harness), the test runner, workloads,
# benchmarks; the VM tests (selftests/vm/), the evaluation runner
# (selftests/eval/) and the fuzz targets (selftests/fuzz/) have fragments of
# their own, included at the end.

# ---- host selftests: build/selftests/host/<name> from selftests/host/<name>.c + testlib.c ----
HOST_TESTS += $(addprefix $(HOST_TEST_DIR)/,test_model test_load test_cli test_collect \
		test_feed test_analyze test_trainer test_deps.sh test_models.sh)

$(HOST_TEST_DIR)/%: $(OBJ)/selftests/host/%.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lz -lm -lpthread

# The trainer's test links libfragml-train (XGBoost).
$(HOST_TEST_DIR)/test_trainer: $(OBJ)/selftests/host/test_trainer.o $(TESTLIB_OBJ) $(LIBTRAIN_A) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lxgboost -ljson-c -lz -lm $(LDLIBS_BPF)

# Scripts run by `make check` from the build tree, like the binaries.
$(HOST_TEST_DIR)/%.sh: selftests/host/%.sh
	@mkdir -p $(@D)
	@cp $< $@ && chmod +x $@

CHECK_SCRIPTS += $(TOP)/selftests/install/install-test.sh $(TOP)/selftests/install/deps-test.sh

# ---- workloads (selftests/workloads/run.sh drives them) ----
BINS += $(BIN)/fragml-work
$(BIN)/fragml-work: selftests/workloads/fragml-work.c
	@mkdir -p $(@D) $(OBJ)/selftests/workloads
	$(CC) -O2 -g -Wall -Wextra -Werror $(DEPFLAGS) -MF $(OBJ)/selftests/workloads/fragml-work.d -o $@ $<

# ---- benchmarks (`make bench`; tables in docs/performance.md) ----
BENCH_INFER := $(BUILD)/selftests/bench/bench_infer
BENCH_TARGETS += bench-infer

$(BENCH_INFER): $(OBJ)/selftests/bench/bench_infer.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm

# The benchmark models as native if-else C, generated at build time.
GEN_IFELSE := $(BUILD)/selftests/bench/gen_ifelse
$(GEN_IFELSE): $(OBJ)/selftests/bench/gen_ifelse.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm
$(GEN)/bench_ifelse.h: $(GEN_IFELSE)
	@echo "  GEN     $(@F)"
	@$(GEN_IFELSE) > $@.tmp && mv $@.tmp $@
$(OBJ)/selftests/bench/bench_infer.o: $(GEN)/bench_ifelse.h

## bench-infer: ns per decision in the kernel vs the C reference and native if-else code, map bytes per model
.PHONY: bench-infer
bench-infer: $(BENCH_INFER)
	@$(BENCH_INFER) | tee $(BUILD)/bench-infer.md

BENCH_VERIFIER := $(BUILD)/selftests/bench/bench_verifier
BENCH_TARGETS += bench-verifier
$(BENCH_VERIFIER): $(OBJ)/selftests/bench/bench_verifier.o
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF)

## bench-verifier: instructions the verifier processes and its time, per program of the objects the host loads
.PHONY: bench-verifier
bench-verifier: $(BENCH_VERIFIER) $(addprefix $(BUILD)/bpf/,fragml_core.bpf.o fragml_observe.bpf.o fragml_collect.bpf.o)
	@$(BENCH_VERIFIER) $(filter %.bpf.o,$^) | tee $(BUILD)/bench-verifier.md

BENCH_DATASET := $(BUILD)/selftests/bench/bench_dataset
BENCH_TARGETS += bench-dataset

$(BENCH_DATASET): $(OBJ)/selftests/bench/bench_dataset.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm

## bench-dataset: CSV reader and workload split on 20 000 rows of distinct names
.PHONY: bench-dataset
bench-dataset: $(BENCH_DATASET)
	@$(BENCH_DATASET) | tee $(BUILD)/bench-dataset.md

BENCH_COLLECT	:= $(BUILD)/selftests/bench/bench_collect
BENCH_TARGETS	+= bench-collect
$(BENCH_COLLECT): $(OBJ)/selftests/bench/bench_collect.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm -lpthread

## bench-collect: slowdown of alloc- and fault-heavy loops with identification attached vs detached
.PHONY: bench-collect
bench-collect: $(BENCH_COLLECT)
	@$(BENCH_COLLECT) | tee $(BUILD)/bench-collect.md

include $(TOP)/selftests/vm/build.mk
include $(TOP)/selftests/eval/build.mk
include $(TOP)/selftests/fuzz/fuzz.mk

.PHONY: host-tests
## host-tests: build the host selftests (`make check` runs them, then the VM tests)
host-tests: $(HOST_TESTS)
