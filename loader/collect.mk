# loader/collect.mk (included by loader/build.mk): collection + identification
# stages, fragml-collect, `fragml top`/`fragml report`, workloads, tests, bench.

LIBFRAGML_SRCS	+= loader/csv.c
BPF_PROGS	+= fragml_collect fragml_kread fragml_gatelog
LIBFRAGML_SRCS	+= loader/snapshot.c loader/identify.c loader/collect.c loader/pageblock.c loader/gatelog.c
BINS		+= $(BIN)/fragml-collect
FRAGML_CMD_OBJS	+= $(OBJ)/loader/top.o

$(BIN)/fragml-collect: $(OBJ)/loader/collect_main.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm

## fragml-collect: trace a workload into labelled CSV datasets (docs/dataset.md)

# workloads (selftests/workloads/run.sh drives them)
BINS		+= $(BIN)/fragml-work
$(BIN)/fragml-work: selftests/workloads/fragml-work.c
	@mkdir -p $(@D)
	$(CC) -O2 -g -Wall -Wextra -Werror -o $@ $<

HOST_TESTS	+= $(BUILD)/selftests/host/test_collect
$(BUILD)/selftests/host/test_collect: $(OBJ)/selftests/host/test_collect.o $(OBJ)/selftests/host/testlib.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm

BENCH_COLLECT	:= $(BUILD)/selftests/bench/bench_collect
BENCH_TARGETS	+= bench-collect
$(BENCH_COLLECT): $(OBJ)/selftests/bench/bench_collect.o $(OBJ)/selftests/host/testlib.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lm -lpthread

## bench-collect: slowdown of alloc- and fault-heavy loops with identification attached vs detached
.PHONY: bench-collect
bench-collect: $(BENCH_COLLECT)
	@$(BENCH_COLLECT) | tee $(BUILD)/bench-collect.md

# Objects embed their skeletons: rebuild them when a BPF program changes (the
# generic rule only orders skeletons before objects).  Listed here for every
# object that embeds a program whose headers this stage shares
# (bpf/fragml_features.bpf.h, bpf/fragml_track.bpf.h).
$(OBJ)/loader/collect.o: $(GEN)/fragml_collect.skel.h
$(OBJ)/loader/gatelog.o: $(GEN)/fragml_gatelog.skel.h
$(OBJ)/loader/pageblock.o: $(GEN)/fragml_kread.skel.h
$(OBJ)/loader/load.o: $(GEN)/fragml_core.skel.h $(GEN)/fragml_observe.skel.h
$(OBJ)/loader/feed_serve.o: $(GEN)/fragml_feed.skel.h
$(OBJ)/selftests/bench/bench_collect.o: $(GEN)/fragml_observe.skel.h
$(OBJ)/loader/probe.o: $(GEN)/fragml_probe.skel.h
