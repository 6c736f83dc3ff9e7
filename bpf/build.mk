# bpf/: programs that run on any kernel with BTF (observe mode + test runs).
BPF_PROGS += fragml_core fragml_observe fragml_probe
# The guard (BPF-LSM): built everywhere, loaded only where LSM programs are
# allowed (loader/guard.c).  -mcpu=v3: its log takes slots with fetch-and-add.
BPF_PROGS += fragml_guard
$(BUILD)/bpf/fragml_guard.bpf.o: BPF_CFLAGS += -mcpu=v3
