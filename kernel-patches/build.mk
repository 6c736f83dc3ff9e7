# kernel-patches: the mm_policy_ops struct_ops series for Linux 6.12 and the
# patched kernel the VM selftests boot.  See docs/kernel-hooks.md.  The names
# of its outputs (KBUILD_DIR, KBZIMAGE, VMLINUX_PATCHED_H) are in the top
# Makefile: selftests/vm and the trainer's guest collections use them too.

.PHONY: kernel kernel-path
## kernel: build the patched 6.12 kernel (tinyconfig + selftests/config), cached in $(FRAGML_CACHE)/kbuild-<hash>
kernel: $(KBUILD_DIR)/.fragml-built $(VMLINUX_PATCHED_H)

# The folder's name is the hash of the series, the patches, the config fragment and
# build-kernel.sh (KHASH): a change to any of them is a new folder, so the stamp
# needs no timestamps of them (a fresh checkout's files are newer than any cache).
$(KBUILD_DIR)/.fragml-built: | $(KTARBALL)
	@mkdir -p $(FRAGML_CACHE)
	@# one build per tree: two checkouts of the same series share the folder
	@flock $(KBUILD_DIR).lock $(KPATCH_DIR)/build-kernel.sh $(KTARBALL) $(KPATCH_DIR) $(KCONFIG_FRAG) $(KBUILD_DIR)

# BTF of the patched kernel, for the enforcing policy (bpf/fragml_policy.bpf.c).
$(VMLINUX_PATCHED_H): $(KBUILD_DIR)/.fragml-built | $(BPFTOOL)
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(KVMLINUX) format c > $@.tmp && mv $@.tmp $@

## kernel-checkpatch: the tree's scripts/checkpatch.pl on every patch of the series
.PHONY: kernel-checkpatch
kernel-checkpatch: | $(KSRC)/Makefile
	@cd $(KSRC) && for p in $(KPATCHES); do \
		scripts/checkpatch.pl -q --ignore FILE_PATH_CHANGES $$p || exit 1; \
		echo "checkpatch: $$(basename $$p): 0 errors, 0 warnings"; done

## kernel-path: print the bzImage path of the cached patched kernel
kernel-path:
	@echo $(KBZIMAGE)
