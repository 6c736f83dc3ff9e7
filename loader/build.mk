# loader/: the loading, collection and identification stages of libfragml and
# their commands: fragml-load, fragml (the operator CLI), fragml-collect.
LIBFRAGML_SRCS += loader/load.c loader/compile.c loader/kmem.c loader/probe.c loader/guard.c \
		  loader/policy.c loader/libbpf_log.c
# collection and identification (docs/dataset.md, docs/identification.md)
LIBFRAGML_SRCS += loader/csv.c loader/snapshot.c loader/identify.c loader/collect.c \
		  loader/collect_label.c loader/collect_summary.c loader/u64map.c \
		  loader/pageblock.c loader/gatelog.c
# the identification feed (docs/feed.md)
LIBFRAGML_SRCS += loader/feed.c loader/feed_serve.c
BINS += $(BIN)/fragml-load $(BIN)/fragml $(BIN)/fragml-collect

LIBFRAGML_LDLIBS = $(LDLIBS_BPF) -ljson-c -lm

$(BIN)/fragml-load: $(OBJ)/loader/load_main.o $(OBJ)/loader/load_cmd.o $(OBJ)/loader/cli.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

FRAGML_CMD_OBJS := $(addprefix $(OBJ)/loader/,load_cmd.o inspect_cmd.o top.o feed_cmd.o analyze_cmd.o)
$(BIN)/fragml: $(OBJ)/loader/fragml.o $(OBJ)/loader/cli.o $(FRAGML_CMD_OBJS) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

## fragml-collect: trace a workload into labelled CSV datasets (docs/dataset.md)
$(BIN)/fragml-collect: $(OBJ)/loader/collect_main.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)
