# loader/: fragml-load and the operator CLI; the loading stage of libfragml.
LIBFRAGML_SRCS += loader/load.c loader/compile.c loader/kmem.c loader/probe.c loader/guard.c loader/canary.c
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

# `make install` also installs the watchdog's systemd unit and an example config
# (kept when one is there).  SYSTEMD_UNITDIR and SYSCONFDIR override.
SYSTEMD_UNITDIR	?= $(PREFIX)/lib/systemd/system
SYSCONFDIR	?= /etc
.PHONY: install-service
install: install-service
install-service:
	install -d $(DESTDIR)$(SYSTEMD_UNITDIR) $(DESTDIR)$(SYSCONFDIR)/fragml \
		$(DESTDIR)$(PREFIX)/share/doc/fragml $(DESTDIR)$(PREFIX)/share/fragml/models
	install -m 644 model/defaults/*.bin $(DESTDIR)$(PREFIX)/share/fragml/models/
	sed 's|@BINDIR@|$(PREFIX)/bin|g' loader/systemd/fragml.service.in > $(DESTDIR)$(SYSTEMD_UNITDIR)/fragml.service
	sed 's|/usr/local/share/fragml|$(PREFIX)/share/fragml|g' docs/examples/fragml.conf > $(BUILD)/fragml.conf
	chmod 644 $(DESTDIR)$(SYSTEMD_UNITDIR)/fragml.service $(BUILD)/fragml.conf
	install -m 644 $(BUILD)/fragml.conf $(DESTDIR)$(PREFIX)/share/doc/fragml/fragml.conf.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/fragml/fragml.conf ] || \
		install -m 644 $(BUILD)/fragml.conf $(DESTDIR)$(SYSCONFDIR)/fragml/fragml.conf
