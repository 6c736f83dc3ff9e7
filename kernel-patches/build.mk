# kernel-patches: the mm_policy_ops struct_ops series for Linux 6.12 and the
# patched kernel the VM selftests boot.  See docs/kernel-hooks.md.

KPATCH_DIR	:= $(TOP)/kernel-patches
KCONFIG_FRAG	:= $(TOP)/selftests/config
KPATCHES	:= $(addprefix $(KPATCH_DIR)/,$(shell sed -e '/^\#/d' -e '/^$$/d' $(KPATCH_DIR)/series 2>/dev/null))
# The build is cached outside the repo, keyed by the series and the config.
KHASH		:= $(shell cat $(KPATCH_DIR)/series $(KPATCHES) $(KCONFIG_FRAG) $(KPATCH_DIR)/build-kernel.sh 2>/dev/null | sha256sum | cut -c1-12)
KBUILD_DIR	:= $(FRAGML_CACHE)/kbuild-$(KHASH)
KBZIMAGE	:= $(KBUILD_DIR)/arch/x86/boot/bzImage
KVMLINUX	:= $(KBUILD_DIR)/vmlinux
VMLINUX_PATCHED_H := $(GEN)/vmlinux-patched.h

.PHONY: kernel kernel-path
## kernel: build the patched 6.12 kernel (tinyconfig + selftests/config), cached in $(FRAGML_CACHE)/kbuild-<hash>
kernel: $(KBUILD_DIR)/.fragml-built $(VMLINUX_PATCHED_H)

$(KBUILD_DIR)/.fragml-built: $(KPATCH_DIR)/series $(KPATCHES) $(KCONFIG_FRAG) $(KPATCH_DIR)/build-kernel.sh | $(KTARBALL)
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

# ---- the enforcing struct_ops policy (bpf/fragml_policy.bpf.c) ----
# Its own object, outside BPF_PROGS: observe mode never loads it.  Built
# against the CO-RE mirror of the kernel types (bpf/fragml_policy_kern.h) so
# libfragml builds without a kernel build; the VM tests also build it against
# vmlinux-patched.h to prove the mirror matches the kernel.
POLICY_BPF_DIR	:= $(BUILD)/bpf-enforce
POLICY_DEPS	:= bpf/fragml_policy.bpf.c $(wildcard bpf/*.h) $(wildcard model/*.h)

$(POLICY_BPF_DIR)/fragml_policy.bpf.o: $(POLICY_DEPS) $(VMLINUX_H) | $(LIBBPF_A)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(POLICY_BPF_DIR)/fragml_policy-patched.bpf.o: $(POLICY_DEPS) $(VMLINUX_PATCHED_H) | $(LIBBPF_A)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -DFRAGML_VMLINUX_PATCHED -c $< -o $@

$(GEN)/fragml_policy.skel.h: $(POLICY_BPF_DIR)/fragml_policy.bpf.o | $(BPFTOOL)
	$(BPFTOOL) gen skeleton $< name fragml_policy > $@.tmp && mv $@.tmp $@

LIBFRAGML_SRCS += loader/policy.c
$(OBJ)/loader/policy.o: $(GEN)/fragml_policy.skel.h

# The VM runner and selftests (two levels down, so included from here).
include $(TOP)/selftests/vm/build.mk
