# selftests/vm: the VM runner and the enforce-mode selftests that run inside
# the patched kernel (kernel-patches/).  `make vmtest` boots it in QEMU.
# Included from selftests/build.mk.

VMTEST_DIR	:= $(BUILD)/selftests/vm
VMTEST_MMDIR	:= $(VMTEST_DIR)/mm
VMTEST_OUT	:= $(BUILD)/vmtest
VMTEST_KHDR	:= $(VMTEST_DIR)/kheaders
MMSEL		:= $(KSRC)/tools/testing/selftests/mm
# The kernel's own mm selftests, from the same tarball.
MM_SELFTESTS	:= compaction_test transhuge-stress split_huge_page_test khugepaged
VMTEST_BINS	:= $(VMTEST_DIR)/policy_test $(VMTEST_DIR)/gate_test $(VMTEST_DIR)/guard_test \
		   $(VMTEST_DIR)/watchdog_test $(VMTEST_DIR)/canary_test \
		   $(VMTEST_DIR)/wrong_type.bpf.o $(VMTEST_DIR)/gate_compare \
		   $(VMTEST_DIR)/alloc_events.bpf.o $(VMTEST_DIR)/vmdemo \
		   $(addprefix $(VMTEST_MMDIR)/,$(MM_SELFTESTS)) \
		   $(VMTEST_DIR)/fragml_policy-patched.bpf.o \
		   $(BIN)/fragml-load $(BIN)/fragml $(BIN)/fragml-mkmodel $(BPFTOOL)
VMTEST_ENV	= FRAGML_BIN=$(BIN) FRAGML_TESTDIR=$(VMTEST_DIR) FRAGML_MMDIR=$(VMTEST_MMDIR) \
		  FRAGML_BPFTOOL=$(BPFTOOL)

# Each VM test binary (and gate_compare): its own source plus the shared vmlib.c.
$(VMTEST_DIR)/gate_compare $(VMTEST_DIR)/stress_swap: $(VMTEST_DIR)/%: selftests/vm/%.c selftests/vm/vmlib.c $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -MF $@.d -Iselftests/vm -o $@ $< selftests/vm/vmlib.c $(LIBFRAGML_A) $(LDLIBS_BPF) -ljson-c -lm

$(VMTEST_DIR)/%_test: selftests/vm/%_test.c selftests/vm/vmlib.c $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -MF $@.d -Iselftests/vm -o $@ $< selftests/vm/vmlib.c $(LIBFRAGML_A) $(LDLIBS_BPF) -ljson-c -lm

$(VMTEST_DIR)/vmdemo: selftests/vm/vmdemo.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -MF $@.d -o $@ $<

$(VMTEST_DIR)/%.bpf.o: selftests/vm/%.bpf.c $(VMLINUX_PATCHED_H) | $(LIBBPF_A)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

# The enforcing policy built against the patched kernel's BTF: proves the CO-RE
# mirror it is built with for libfragml (bpf/fragml_policy_kern.h) matches the kernel.
$(VMTEST_DIR)/fragml_policy-patched.bpf.o: bpf/fragml_policy.bpf.c $(VMLINUX_PATCHED_H) | $(LIBBPF_A)
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -DFRAGML_VMLINUX_PATCHED -c $< -o $@

# uapi headers of the patched kernel: the mm selftests need newer ones than Debian's.
# (plain `make`, not $(MAKE): `make -n` must not run it in a tree being built)
$(VMTEST_KHDR)/.stamp: $(KBUILD_DIR)/.fragml-built
	@mkdir -p $(@D)
	@make -s -C $(KBUILD_DIR) ARCH=x86_64 headers_install INSTALL_HDR_PATH=$(VMTEST_KHDR) >/dev/null
	@touch $@

$(VMTEST_MMDIR)/%: $(MMSEL)/%.c $(VMTEST_KHDR)/.stamp
	@mkdir -p $(@D)
	$(CC) -O2 -D_GNU_SOURCE -w -isystem $(VMTEST_KHDR)/include -I$(KSRC)/tools/testing/selftests \
		-include $(KSRC)/tools/testing/selftests/kselftest.h \
		-o $@ $< $(MMSEL)/vm_util.c $(MMSEL)/thp_settings.c -lm

# `make check` runs this one-word script (CHECK_SCRIPTS entries are words).
# Rewritten every time: it names the kernel of the current series' hash.
.PHONY: $(VMTEST_DIR)/vmtest-check.sh
$(VMTEST_DIR)/vmtest-check.sh:
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nexec %s %s %s tests %s\n' '$(TOP)/selftests/vm/run-vm.sh' \
		'$(KBZIMAGE)' '$(VMTEST_OUT)' '$(VMTEST_ENV)' > $@ && chmod +x $@

# The gate's tests again in the other guest shape: a 1 GB guest whose upper
# 512 MB are ZONE_NORMAL, where the kernel itself sets ALLOC_NOFRAGMENT (the
# default shape's memory is all ZONE_DMA32, where it never does).
VMTEST_NORMAL_MACHINE	:= pc,max-ram-below-4g=512M
VMTEST_NORMAL_ONLY	:= gate.forced_actions_enforced,gate.atomic_allocations_never_deferred,$\
			   gate.detach_restores_default,gate.asked_under_pressure,$\
			   gate.compact_deferral_never_reclaims
.PHONY: $(VMTEST_DIR)/vmtest-normal-check.sh
$(VMTEST_DIR)/vmtest-normal-check.sh:
	@mkdir -p $(@D)
	@printf '#!/bin/sh\nFRAGML_VM_MACHINE=%s exec %s %s %s tests %s FRAGML_VM_ONLY=%s\n' \
		'$(VMTEST_NORMAL_MACHINE)' '$(TOP)/selftests/vm/run-vm.sh' '$(KBZIMAGE)' \
		'$(BUILD)/vmtest-normal' '$(VMTEST_ENV)' '$(VMTEST_NORMAL_ONLY)' > $@ && chmod +x $@

.PHONY: vmtest vmtest-deps vmtest-normal
vmtest-deps: kernel $(VMTEST_BINS) $(VMTEST_DIR)/vmtest-check.sh $(VMTEST_DIR)/vmtest-normal-check.sh

## vmtest: boot the patched kernel in QEMU and run the enforce-mode selftests (KTAP)
vmtest: vmtest-deps
	@$(TOP)/selftests/vm/run-vm.sh $(KBZIMAGE) $(VMTEST_OUT) tests $(VMTEST_ENV)

## vmtest-normal: the fallback gate's VM selftests in a guest with a ZONE_NORMAL (KTAP)
vmtest-normal: vmtest-deps
	@$(VMTEST_DIR)/vmtest-normal-check.sh

## demo-vm: boot the patched kernel, fragment memory, compare a THP faulter under the kernel default and fragml models
.PHONY: demo-vm
demo-vm: vmtest-deps
	@$(TOP)/selftests/vm/run-vm.sh $(KBZIMAGE) $(BUILD)/vmdemo demo $(VMTEST_ENV) \
		FRAGML_FRAG_PIPES=$${FRAGML_FRAG_PIPES:-110000} FRAGML_FAULT_MB=$${FRAGML_FAULT_MB:-384} \
		FRAGML_MODELS=$(TOP)/model/defaults \
		$${FRAGML_DEMO_LEARNED_GATE:+FRAGML_DEMO_LEARNED_GATE=1}

## stress: 10 000 model swaps under a faulting workload in the VM, then a host collection (STRESS_SECS, default 60; 600 for the 10-minute run); not in CI
.PHONY: stress
stress: vmtest-deps $(VMTEST_DIR)/stress_swap $(BIN)/fragml-collect $(BIN)/fragml-work
	@BPFTOOL=$(BPFTOOL) $(TOP)/selftests/vm/stress.sh $(KBZIMAGE) $(BUILD)/stress $(VMTEST_ENV)

CHECK_DEPS	+= vmtest-deps
CHECK_SCRIPTS	+= $(VMTEST_DIR)/vmtest-check.sh $(VMTEST_DIR)/vmtest-normal-check.sh

