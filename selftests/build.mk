# selftests/: host selftests (kselftest harness) and the test runner.
HOST_TEST_DIR := $(BUILD)/selftests/host
TESTLIB_OBJ   := $(OBJ)/selftests/host/testlib.o
HOST_TESTS    += $(HOST_TEST_DIR)/test_model $(HOST_TEST_DIR)/test_load

$(HOST_TEST_DIR)/test_model: $(OBJ)/selftests/host/test_model.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm -lpthread

$(HOST_TEST_DIR)/test_load: $(OBJ)/selftests/host/test_load.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm -lpthread

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
$(OBJ)/selftests/bench/bench_infer.o: $(GEN)/bench_ifelse.h selftests/bench/bench_shapes.h

## bench-infer: ns per decision in the kernel vs the C reference and native if-else code, map bytes per model
.PHONY: bench-infer
bench-infer: $(BENCH_INFER)
	@$(BENCH_INFER) | tee $(BUILD)/bench-infer.md

CHECK_SCRIPTS += $(TOP)/selftests/install/install-test.sh $(TOP)/selftests/install/deps-test.sh

BENCH_DATASET := $(BUILD)/selftests/bench/bench_dataset
BENCH_TARGETS += bench-dataset

$(BENCH_DATASET): $(OBJ)/selftests/bench/bench_dataset.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm

## bench-dataset: CSV reader and workload split on 20 000 rows of distinct names
.PHONY: bench-dataset
bench-dataset: $(BENCH_DATASET)
	@$(BENCH_DATASET) | tee $(BUILD)/bench-dataset.md

HOST_TESTS += $(HOST_TEST_DIR)/test_cli
$(HOST_TEST_DIR)/test_cli: $(OBJ)/selftests/host/test_cli.o $(TESTLIB_OBJ) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm
-include selftests/fuzz/fuzz.mk

# The evaluation runner (two levels down, so included from here).
include $(TOP)/selftests/eval/build.mk
