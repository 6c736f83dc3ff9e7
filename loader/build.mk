# loader/: the loading, collection and identification stages of libfragml and
# their commands: fragml-load, fragml (the operator CLI), fragml-collect.
LIBFRAGML_SRCS += loader/load.c loader/compile.c loader/kmem.c loader/probe.c loader/guard.c \
		  loader/policy.c loader/libbpf_log.c loader/canary.c
# collection and identification (docs/dataset.md, docs/identification.md)
LIBFRAGML_SRCS += loader/csv.c loader/snapshot.c loader/identify.c loader/collect.c \
		  loader/collect_label.c loader/collect_summary.c loader/u64map.c \
		  loader/pageblock.c loader/gatelog.c
# the identification feed (docs/feed.md)
LIBFRAGML_SRCS += loader/feed.c loader/feed_serve.c
BINS += $(BIN)/fragml-load $(BIN)/fragml $(BIN)/fragml-collect

LIBFRAGML_LDLIBS = $(LDLIBS_BPF) -ljson-c -lm

$(BIN)/fragml-load: $(OBJ)/loader/load_main.o $(OBJ)/loader/load_cmd.o $(OBJ)/loader/cli.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

FRAGML_CMD_OBJS := $(addprefix $(OBJ)/loader/,load_cmd.o inspect_cmd.o top.o feed_cmd.o analyze_cmd.o)
FRAGML_CMD_OBJS += $(OBJ)/loader/daemon.o $(OBJ)/loader/daemon_conf.o
$(BIN)/fragml: $(OBJ)/loader/fragml.o $(OBJ)/loader/cli.o $(FRAGML_CMD_OBJS) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

## fragml-collect: trace a workload into labelled CSV datasets (docs/dataset.md)
$(BIN)/fragml-collect: $(OBJ)/loader/collect_main.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(LIBFRAGML_LDLIBS)

# `make install` also installs the watchdog's systemd unit and an example config
# (kept when one is there; it names the models model/build.mk installs).  SYSTEMD_UNITDIR and SYSCONFDIR override.
SYSTEMD_UNITDIR	?= $(PREFIX)/lib/systemd/system
SYSCONFDIR	?= /etc
.PHONY: install-service
install: install-service
install-service:
	install -d $(DESTDIR)$(SYSTEMD_UNITDIR) $(DESTDIR)$(SYSCONFDIR)/fragml \
		$(DESTDIR)$(PREFIX)/share/doc/fragml
	sed 's|@BINDIR@|$(PREFIX)/bin|g' loader/systemd/fragml.service.in > $(DESTDIR)$(SYSTEMD_UNITDIR)/fragml.service
	sed 's|/usr/local/share/fragml|$(PREFIX)/share/fragml|g' docs/examples/fragml.conf > $(BUILD)/fragml.conf
	chmod 644 $(DESTDIR)$(SYSTEMD_UNITDIR)/fragml.service $(BUILD)/fragml.conf
	install -m 644 $(BUILD)/fragml.conf $(DESTDIR)$(PREFIX)/share/doc/fragml/fragml.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/fragml/fragml.conf ] || \
		install -m 644 $(BUILD)/fragml.conf $(DESTDIR)$(SYSCONFDIR)/fragml/fragml.conf
