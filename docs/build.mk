# docs/: the identification feed, `fragml analyze`, the example consumers and
# their selftests (fragment of the feed/analysis stage; docs/feed.md).
BPF_PROGS	+= fragml_feed
LIBFRAGML_SRCS	+= loader/feed.c loader/feed_serve.c trainer/analyze.c
FRAGML_CMD_OBJS	+= $(OBJ)/loader/feed_cmd.o $(OBJ)/loader/analyze_cmd.o

# The skeleton is named fragml_feed_bpf: `struct fragml_feed` is the consumer
# handle of the public API (loader/fragml_feed.h).
$(GEN)/fragml_feed.skel.h: $(BUILD)/bpf/fragml_feed.bpf.o | $(BPFTOOL)
	@echo "  SKEL    $(@F)"
	@$(BPFTOOL) gen skeleton $< name fragml_feed_bpf > $@.tmp && mv $@.tmp $@
include $(TOP)/docs/examples/build.mk
