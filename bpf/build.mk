# bpf/: the BPF programs (build/bpf/<name>.bpf.o) and their skeletons
# (build/include/<name>.skel.h); the generic rules are in the top Makefile.
# Observe mode, test runs, collection, identification and the feed: any kernel with BTF.
BPF_PROGS += fragml_core fragml_observe fragml_probe fragml_collect fragml_kread fragml_gatelog
# The guard (BPF-LSM): built everywhere, loaded only where LSM programs are
# allowed (loader/guard.c).  -mcpu=v3: its log takes slots with fetch-and-add.
BPF_PROGS += fragml_guard
$(BUILD)/bpf/fragml_guard.bpf.o: BPF_CFLAGS += -mcpu=v3

# The identification feed.  Its skeleton is named fragml_feed_bpf: `struct
# fragml_feed` is the consumer handle of the public API (loader/fragml_feed.h).
BPF_PROGS += fragml_feed
$(GEN)/fragml_feed.skel.h: $(BUILD)/bpf/fragml_feed.bpf.o | $(BPFTOOL)
	@echo "  SKEL    $(@F)"
	@$(BPFTOOL) gen skeleton $< name fragml_feed_bpf > $@.tmp && mv $@.tmp $@

# Enforce mode: the struct_ops policy.  Only the loader's policy.c loads it, and
# only on a kernel with kernel-patches/ (it probes BTF first).  Built against the
# CO-RE mirror of the kernel types (bpf/fragml_policy_kern.h), so libfragml builds
# without a kernel build; selftests/vm also builds it against the patched
# kernel's BTF to prove the mirror matches the kernel.
BPF_PROGS += fragml_policy
