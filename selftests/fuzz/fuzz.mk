# selftests/fuzz/: libFuzzer targets (clang, ASan + UBSan) for every input
# fragml reads.  Not part of `make check`: `make fuzz` runs each target
# FUZZ_SECONDS (default 60), two at a time; `make fuzz-ci` first replays every
# committed corpus input (the regression inputs of past findings), then fuzzes
# each target 60 s, two at a time, and prints the wall time.  The library
# sources a target reads through are compiled into it with the sanitizers.

FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_JOBS	?= 2
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	:= -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
		   -DFRAGML_VERSION_STR='"$(FRAGML_VERSION)"' \
		   -I$(TOP)/model -I$(TOP)/loader -I$(TOP)/trainer -I$(TOP)/selftests/fuzz
FUZZ_LIBS	:= -ljson-c -lz -lcrypto -lm

FUZZ_TARGETS	:= fuzz_model fuzz_dataset fuzz_analyze fuzz_proc fuzz_feed fuzz_frag_alert fuzz_site_table
FUZZ_BINS	:= $(patsubst %,$(FUZZ_DIR)/%,$(FUZZ_TARGETS))

# library sources each target reads through
FUZZ_SRC_model		:= model/model.c model/error.c model/text.c model/digest.c model/site_table.c
FUZZ_SRC_dataset	:= $(FUZZ_SRC_model) trainer/dataset.c
FUZZ_SRC_analyze	:= $(FUZZ_SRC_dataset) trainer/analyze.c
FUZZ_SRC_proc		:= $(FUZZ_SRC_model) loader/snapshot.c
FUZZ_SRC_feed		:= $(FUZZ_SRC_dataset) loader/feed.c
FUZZ_SRC_frag_alert	:= $(FUZZ_SRC_feed)
FUZZ_SRC_site_table	:= $(FUZZ_SRC_model)

$(FUZZ_DIR)/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $<"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

define FUZZ_RULE
$(FUZZ_DIR)/fuzz_$(1): selftests/fuzz/fuzz_$(1).c $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRC_$(1)))
	@echo "  FUZZ    $$@"
	@$$(FUZZ_CC) $$(FUZZ_CFLAGS) $$(DEPFLAGS) -MF $$@.d -fsanitize=fuzzer -o $$@ $$< \
		$(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_SRC_$(1))) $$(FUZZ_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULE,$(t:fuzz_%=%))))

.PHONY: fuzz fuzz-build fuzz-ci
fuzz-build: $(FUZZ_BINS)

## fuzz: libFuzzer (ASan+UBSan) on every input fragml reads, FUZZ_SECONDS each (default 60), two at a time; prints executions per target
fuzz: fuzz-build
	@FUZZ_JOBS=$(FUZZ_JOBS) $(TOP)/selftests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

## fuzz-ci: replay the committed corpora (regressions), then fuzz each target 60 s two at a time; prints the wall time
fuzz-ci: fuzz-build
	@FUZZ_JOBS=2 FUZZ_REPLAY=1 $(TOP)/selftests/fuzz/run.sh $(FUZZ_DIR) 60 $(FUZZ_TARGETS)
