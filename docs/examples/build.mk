# docs/examples/: consumers of the identification feed, built like an outside
# program would be: public headers only, linked against libfragml.
EXAMPLES_BIN	:= $(BUILD)/examples
EXAMPLES	:= $(EXAMPLES_BIN)/frag-alert $(EXAMPLES_BIN)/alloc-hint
BINS		+= $(EXAMPLES)
EXAMPLE_CFLAGS	:= -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(TOP)/model -I$(TOP)/loader

$(OBJ)/docs/examples/%.o: docs/examples/%.c
	@mkdir -p $(@D)
	@echo "  EXAMPLE $<"
	@$(CC) $(EXAMPLE_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(EXAMPLES_BIN)/%: $(OBJ)/docs/examples/%.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LDLIBS_BPF) -ljson-c -lz -lm

## examples: frag-alert and alloc-hint, the feed consumers of docs/examples/ (built by `make`)
.PHONY: examples
examples: $(EXAMPLES)
