# bpf/: programs that run on any kernel with BTF (observe mode + test runs).
BPF_PROGS += fragml_core fragml_observe fragml_probe
