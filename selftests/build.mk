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

## bench-infer: ns per in-kernel inference vs the reference evaluator, map bytes per model
.PHONY: bench-infer
bench-infer: $(BENCH_INFER)
	@$(BENCH_INFER) | tee $(BUILD)/bench-infer.md

CHECK_SCRIPTS += $(TOP)/selftests/install/install-test.sh

# The evaluation runner (two levels down, so included from here).
include $(TOP)/selftests/eval/build.mk
