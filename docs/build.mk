# docs/: the identification feed, `fragml analyze`, the example consumers and
# their selftests (fragment of the feed/analysis stage; docs/feed.md).
BPF_PROGS	+= fragml_feed
LIBFRAGML_SRCS	+= loader/feed.c loader/feed_serve.c trainer/analyze.c
FRAGML_CMD_OBJS	+= $(OBJ)/loader/feed_cmd.o $(OBJ)/loader/analyze_cmd.o
include $(TOP)/docs/examples/build.mk

# The skeleton is named fragml_feed_bpf: `struct fragml_feed` is the consumer
# handle of the public API (loader/fragml_feed.h).
$(GEN)/fragml_feed.skel.h: $(BUILD)/bpf/fragml_feed.bpf.o | $(BPFTOOL)
	@echo "  SKEL    $(@F)"
	@$(BPFTOOL) gen skeleton $< name fragml_feed_bpf > $@.tmp && mv $@.tmp $@


# Selftests (selftests/host/test_feed.c, test_analyze.c).  Paths spelled out:
# selftests/build.mk is read after this fragment.
FEED_TESTS	:= $(BUILD)/selftests/host/test_feed $(BUILD)/selftests/host/test_analyze
HOST_TESTS	+= $(FEED_TESTS)
CHECK_DEPS	+= $(EXAMPLES)

$(FEED_TESTS): $(BUILD)/selftests/host/%: $(OBJ)/selftests/host/%.o $(OBJ)/selftests/host/testlib.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lz -lm -lpthread

include $(TOP)/docs/man/man.mk
