# loader/: fragml-load and the operator CLI; the loading stage of libfragml.
LIBFRAGML_SRCS += loader/load.c loader/kmem.c loader/probe.c loader/guard.c
BINS += $(BIN)/fragml-load $(BIN)/fragml

-include loader/collect.mk

LIBFRAGML_LDLIBS = $(LDLIBS_BPF) -ljson-c -lm

$(BIN)/fragml-load: $(OBJ)/loader/load_main.o $(OBJ)/loader/load_cmd.o $(OBJ)/loader/cli.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

FRAGML_CMD_OBJS += $(OBJ)/loader/load_cmd.o $(OBJ)/loader/inspect_cmd.o
FRAGML_CMD_OBJS += $(OBJ)/loader/daemon.o $(OBJ)/loader/daemon_conf.o
$(BIN)/fragml: $(OBJ)/loader/fragml.o $(OBJ)/loader/cli.o $(FRAGML_CMD_OBJS) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

# The guard's skeleton embeds its BPF object: rebuild guard.o when it changes.
$(OBJ)/loader/guard.o: $(GEN)/fragml_guard.skel.h
