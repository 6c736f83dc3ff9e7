# fragml — top-level build.  `make help` lists the targets.
#
# Each folder's build.mk builds that folder's stage and nothing else (docs/architecture.md);
# the fragments add to the lists below.  This file owns the toolchain, the generic
# rules, the names more than one stage uses (so the fragments can be read in any
# order) and the aggregate targets.  Header dependencies come from the compiler
# (-MMD -MP, build/**/*.d); selftests/host/test_deps.sh checks them.

SHELL		:= /bin/bash
.DEFAULT_GOAL	:= all
TOP		:= $(abspath .)
BUILD		:= $(TOP)/build
BIN		:= $(BUILD)/bin
OBJ		:= $(BUILD)/obj
LIBDIR		:= $(BUILD)/lib
GEN		:= $(BUILD)/include
PREFIX		?= /usr/local
FRAGML_VERSION	:= 0.1.0

# Cache for the kernel tarball tree, libbpf 1.5, bpftool 7.5 and built kernels.
FRAGML_CACHE	?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/fragml
KTARBALL	?= /usr/src/linux-source-6.12.tar.xz
KSRC		:= $(FRAGML_CACHE)/src/linux-source-6.12
TOOLS		:= $(FRAGML_CACHE)/tools
LIBBPF_A	:= $(TOOLS)/libbpf/libbpf.a
LIBBPF_PIC	:= $(TOOLS)/libbpf/sharedobjs/libbpf-in.o
LIBBPF_INC	:= $(TOOLS)/libbpf/root/include
BPFTOOL		:= $(TOOLS)/bpftool/bpftool
HARNESS_INC	:= $(KSRC)/tools/testing/selftests

# The patched kernel (kernel-patches/ builds it; selftests/vm and the trainer's
# guest collections boot it).  Cached outside the repo, keyed by the series and the config.
KPATCH_DIR	:= $(TOP)/kernel-patches
KCONFIG_FRAG	:= $(TOP)/selftests/config
KPATCHES	:= $(addprefix $(KPATCH_DIR)/,$(shell sed -e '/^\#/d' -e '/^$$/d' $(KPATCH_DIR)/series 2>/dev/null))
KHASH		:= $(shell cat $(KPATCH_DIR)/series $(KPATCHES) $(KCONFIG_FRAG) $(KPATCH_DIR)/build-kernel.sh 2>/dev/null | sha256sum | cut -c1-12)
KBUILD_DIR	:= $(FRAGML_CACHE)/kbuild-$(KHASH)
KBZIMAGE	:= $(KBUILD_DIR)/arch/x86/boot/bzImage
KVMLINUX	:= $(KBUILD_DIR)/vmlinux

# Debian packages the build, tests and demo need (installed by `make deps`, without
# Recommends: the VM runs -nographic, so QEMU needs no GUI; rsync is the one
# Recommends of linux-source-6.12 the build uses, by the kernel's headers_install;
# libclang-rt-14-dev, a Recommends of clang, holds the libFuzzer and sanitizer
# runtimes of `make fuzz`; redis-server and postgresql-15 are the applications of
# the evaluation's guest scenarios, which run the host's binaries over 9p; jq
# reads the trainer's reports into the evaluation report).
DEB_PKGS := build-essential clang llvm libelf-dev zlib1g-dev libjson-c-dev \
	libxgboost-dev linux-source-6.12 pkg-config pahole bc bison flex \
	libssl-dev cpio kmod rsync qemu-system-x86 busybox-static stress-ng \
	redis-server redis-tools postgresql-15 gnuplot-nox jq libclang-rt-14-dev

CC		?= cc
CLANG		?= clang
CFLAGS_COMMON	:= -DFRAGML_VERSION_STR='"$(FRAGML_VERSION)"' -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-format-truncation -fPIC \
		   -I$(TOP)/model -I$(TOP)/loader -I$(TOP)/trainer -I$(GEN) \
		   -isystem $(LIBBPF_INC) -isystem $(HARNESS_INC)
CFLAGS		+= $(CFLAGS_COMMON)
LDLIBS_BPF	:= $(LIBBPF_A) -lelf -lz -lcrypto
ARCH		:= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')
BPF_CFLAGS	:= -target bpf -g -O2 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		   -I$(GEN) -I$(TOP)/model -I$(TOP)/bpf -isystem $(LIBBPF_INC)
VMLINUX_H	:= $(GEN)/vmlinux.h
VMLINUX_PATCHED_H := $(GEN)/vmlinux-patched.h
# Header dependencies written by the compiler next to each object (.d).
DEPFLAGS	:= -MMD -MP

# Lists the fragments extend.
LIBFRAGML_SRCS	 :=	# -> libfragml.{a,so}
LIBFRAGML_TRAIN_SRCS :=	# -> libfragml-train.{a,so} (links XGBoost)
BPF_PROGS	 :=	# names: bpf/<name>.bpf.c -> build/bpf/<name>.bpf.o + <name>.skel.h
BINS		 :=	# build/bin/* programs
HOST_TESTS	 :=	# selftest binaries run on the host by `make check`
HOST_TEST_DIR	 := $(BUILD)/selftests/host
TESTLIB_OBJ	 := $(OBJ)/selftests/host/testlib.o
CHECK_DEPS	 :=	# extra things `make check` must build first
CHECK_SCRIPTS	 :=	# extra KTAP-producing commands run by `make check`
BENCH_TARGETS	 :=
HELP_LINES	 :=

# Goals that build need the Debian packages first.  `make deps` runs as a make of
# its own, then a second make builds the goals: make caches the directories it
# has read, so one make running while apt-get unpacks linux-source-6.12 would
# still miss the tarball.  FRAGML_DEPS_DONE=1 marks the second make (and every
# make under it); FRAGML_DEPS_CMD replaces the installation (selftests/install/deps-test.sh).
NODEPS_GOALS	:= deps tools clean help
ifeq ($(FRAGML_DEPS_DONE),)
ifneq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
FRAGML_FORWARD	:= 1
endif
endif

ifdef FRAGML_FORWARD
.PHONY: $(or $(MAKECMDGOALS),all) fragml-deps-then-goals
$(or $(MAKECMDGOALS),all): fragml-deps-then-goals
	@:
fragml-deps-then-goals:
	@$(MAKE) --no-print-directory FRAGML_DEPS_DONE=1 deps
	@$(MAKE) --no-print-directory FRAGML_DEPS_DONE=1 $(MAKECMDGOALS)
else

LIBFRAGML_A	:= $(LIBDIR)/libfragml.a
LIBFRAGML_SO	:= $(LIBDIR)/libfragml.so
LIBTRAIN_A	:= $(LIBDIR)/libfragml-train.a
LIBTRAIN_SO	:= $(LIBDIR)/libfragml-train.so

include $(wildcard */build.mk)

SKELS		:= $(patsubst %,$(GEN)/%.skel.h,$(BPF_PROGS))
LIB_OBJS	:= $(patsubst %.c,$(OBJ)/%.o,$(LIBFRAGML_SRCS))
LIBTRAIN_OBJS	:= $(patsubst %.c,$(OBJ)/%.o,$(LIBFRAGML_TRAIN_SRCS))

.PHONY: all deps tools check bench demo clean help install
# Keep generated objects and skeletons (they are intermediates of several chains).
.SECONDARY:
## all: build the commands, libraries, BPF programs and examples (the default)
all: $(BINS) $(SKELS)

## deps: install the Debian packages, build libbpf 1.5 + bpftool 7.5 from the kernel tarball (every building goal runs it first)
ifdef FRAGML_DEPS_CMD
deps:
	@$(FRAGML_DEPS_CMD)
else
deps:
	@if ! dpkg -s $(DEB_PKGS) >/dev/null 2>&1; then \
		echo "deps: installing Debian packages"; \
		[ "$$(id -u)" = 0 ] || { echo "deps: missing packages and not root: run 'sudo make deps'" >&2; exit 1; }; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends $(DEB_PKGS); \
	fi
	@$(MAKE) --no-print-directory tools
endif

tools: $(LIBBPF_A) $(LIBBPF_PIC) $(BPFTOOL)
	@:

$(KSRC)/Makefile: $(KTARBALL)
	@echo "  TAR     $(KTARBALL) -> $(FRAGML_CACHE)/src"
	@mkdir -p $(FRAGML_CACHE)/src && tar -C $(FRAGML_CACHE)/src -xf $< && touch $@

$(KTARBALL):
	@echo "missing $@: run 'make deps' (Debian package linux-source-6.12)" >&2; exit 1

$(LIBBPF_A): | $(KSRC)/Makefile
	@echo "  LIBBPF  1.5 from the kernel tarball"
	@mkdir -p $(TOOLS)/libbpf
	@$(MAKE) -s -C $(KSRC)/tools/lib/bpf OUTPUT=$(TOOLS)/libbpf/ DESTDIR=$(TOOLS)/libbpf/root \
		prefix= install_headers $(TOOLS)/libbpf/libbpf.a >/dev/null

# Position-independent libbpf objects, linked into libfragml.so.
$(LIBBPF_PIC): | $(LIBBPF_A)
	@$(MAKE) -s -C $(KSRC)/tools/lib/bpf OUTPUT=$(TOOLS)/libbpf/ $(TOOLS)/libbpf/libbpf.so >/dev/null

$(BPFTOOL): | $(KSRC)/Makefile
	@echo "  BPFTOOL 7.5 from the kernel tarball"
	@mkdir -p $(TOOLS)/bpftool
	@$(MAKE) -s -C $(KSRC)/tools/bpf/bpftool OUTPUT=$(TOOLS)/bpftool/ >/dev/null 2>&1 || \
		$(MAKE) -C $(KSRC)/tools/bpf/bpftool OUTPUT=$(TOOLS)/bpftool/

# ---- generic rules ----
$(VMLINUX_H): | $(BPFTOOL)
	@mkdir -p $(GEN)
	@[ -r /sys/kernel/btf/vmlinux ] || { echo "no /sys/kernel/btf/vmlinux: this kernel lacks BTF (CONFIG_DEBUG_INFO_BTF)" >&2; exit 1; }
	@echo "  GEN     vmlinux.h (host kernel BTF)"
	@$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

# Each object waits for the skeletons its source includes and no other: one
# "object:skeleton" rule per `#include "<name>.skel.h"` line of the tree.
SKEL_INCLUDES	:= $(shell grep -rE --include='*.c' '^\#include "[A-Za-z0-9_]+\.skel\.h"' model bpf loader trainer selftests docs | \
		   sed -E 's|^(.*)\.c:\#include "(.*)".*|$(OBJ)/\1.o:$(GEN)/\2|')
$(foreach r,$(SKEL_INCLUDES),$(eval $(r)))

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(VMLINUX_H) | $(LIBBPF_A)
	@mkdir -p $(@D)
	@echo "  BPF     $<"
	@$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(GEN)/%.skel.h: $(BUILD)/bpf/%.bpf.o | $(BPFTOOL)
	@echo "  SKEL    $(@F)"
	@$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

$(OBJ)/%.o: %.c | $(LIBBPF_A)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

DEP_DIRS	:= $(OBJ) $(BUILD)/bpf $(BUILD)/examples $(BUILD)/selftests $(BUILD)/fuzz
-include $(shell find $(DEP_DIRS) -name '*.d' 2>/dev/null)

$(LIBFRAGML_A): $(LIB_OBJS)
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
# The shared library carries libbpf 1.5 inside (Debian's libbpf1 is 1.1 with the
# same soname) and exports only fragml_* symbols.
$(BUILD)/fragml.map:
	@mkdir -p $(@D); printf '{ global: fragml_*; local: *; };\n' > $@
$(LIBFRAGML_SO): $(LIB_OBJS) $(BUILD)/fragml.map $(LIBBPF_PIC)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libfragml.so.0 -Wl,--version-script=$(BUILD)/fragml.map \
		-o $@ $(LIB_OBJS) $(LIBBPF_PIC) -lelf -lz -lcrypto -ljson-c -lm
# The installed static archive carries libbpf 1.5 too.
$(LIBDIR)/dist/libfragml.a: $(LIB_OBJS) $(LIBBPF_PIC)
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $(LIB_OBJS) $(LIBBPF_PIC)
$(LIBTRAIN_A): $(LIBTRAIN_OBJS)
	@mkdir -p $(@D); rm -f $@; ar rcs $@ $^
$(LIBTRAIN_SO): $(LIBTRAIN_OBJS) $(LIBFRAGML_SO) $(BUILD)/fragml.map
	$(CC) -shared -Wl,-soname,libfragml-train.so.0 -Wl,--version-script=$(BUILD)/fragml.map \
		-o $@ $(LIBTRAIN_OBJS) -L$(LIBDIR) -lfragml -lxgboost -ljson-c -lm

# ---- install: libraries, public headers (one per stage), pkg-config, commands ----
PUBLIC_HEADERS += model/fragml_features.h model/fragml_abi.h model/fragml_error.h model/fragml_alloc_flags.h \
		  model/fragml_model.h loader/fragml_load.h \
		  $(wildcard loader/fragml_collect.h loader/fragml_identify.h loader/fragml_policy.h \
		  loader/fragml_feed.h trainer/fragml_dataset.h trainer/fragml_train.h trainer/fragml_analyze.h)
define PCFILE
prefix=$(PREFIX)
includedir=$${prefix}/include
libdir=$${prefix}/lib
Name: $(1)
Description: $(2)
Version: $(FRAGML_VERSION)
Cflags: -I$${includedir}/fragml
Libs: -L$${libdir} -l$(1)
Libs.private: $(3)
endef
export PC_FRAGML = $(call PCFILE,fragml,fragml model format and evaluator; loading; collection and identification,-lelf -lz -lcrypto -ljson-c -lm)
export PC_TRAIN = $(call PCFILE,fragml-train,fragml training stage (XGBoost C API),-lfragml -lxgboost -ljson-c -lz -lcrypto -lm -lelf)

## install: libraries, headers (include/fragml/), pkg-config files, commands and manual pages under $(DESTDIR)$(PREFIX)
install: all man $(LIBFRAGML_SO) $(LIBDIR)/dist/libfragml.a $(LIBTRAIN_A) $(LIBTRAIN_SO)
	install -d $(DESTDIR)$(PREFIX)/include/fragml $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/fragml/
	install -m 644 $(LIBDIR)/dist/libfragml.a $(LIBTRAIN_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(LIBFRAGML_SO) $(DESTDIR)$(PREFIX)/lib/libfragml.so.$(FRAGML_VERSION)
	install -m 755 $(LIBTRAIN_SO) $(DESTDIR)$(PREFIX)/lib/libfragml-train.so.$(FRAGML_VERSION)
	for l in libfragml libfragml-train; do \
		ln -sf $$l.so.$(FRAGML_VERSION) $(DESTDIR)$(PREFIX)/lib/$$l.so.0; \
		ln -sf $$l.so.0 $(DESTDIR)$(PREFIX)/lib/$$l.so; done
	printf '%s\n' "$$PC_FRAGML" > $(DESTDIR)$(PREFIX)/lib/pkgconfig/fragml.pc
	printf '%s\n' "$$PC_TRAIN" > $(DESTDIR)$(PREFIX)/lib/pkgconfig/fragml-train.pc
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man1/

## check: build everything and run every selftest (host, then VM); ends with "N passed, N failed"
check: all $(HOST_TESTS) $(CHECK_DEPS)
	@$(TOP)/selftests/run.sh $(HOST_TESTS) $(foreach s,$(CHECK_SCRIPTS),--cmd '$(s)')

## demo: load the shipped models (observe mode) under a fragmenting workload; then the VM enforce story
demo: all
	@$(TOP)/selftests/demo.sh
	@if [ -x $(TOP)/selftests/vm/demo.sh ] && [ -z "$(FRAGML_DEMO_HOST_ONLY)" ]; then \
		echo; echo "== enforce mode: the patched kernel in QEMU =="; $(TOP)/selftests/vm/demo.sh; fi

## bench: in-kernel inference and overhead benchmarks (tables in docs/performance.md)
bench: all $(BENCH_TARGETS)

## clean: remove build/ (the kernel and tools cache stay in $(FRAGML_CACHE))
clean:
	rm -rf $(BUILD)

## help: list the targets
help:
	@echo "fragml $(FRAGML_VERSION) — make targets:"
	@grep -h '^## ' $(MAKEFILE_LIST) | sed 's/^## /  /'

endif # FRAGML_FORWARD
