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
	@$(KPATCH_DIR)/build-kernel.sh $(KTARBALL) $(KPATCH_DIR) $(KCONFIG_FRAG) $(KBUILD_DIR)

# BTF of the patched kernel, for the enforcing policy (bpf/fragml_policy.bpf.c).
$(VMLINUX_PATCHED_H): $(KBUILD_DIR)/.fragml-built | $(BPFTOOL)
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file $(KVMLINUX) format c > $@.tmp && mv $@.tmp $@

## kernel-path: print the bzImage path of the cached patched kernel
kernel-path:
	@echo $(KBZIMAGE)
