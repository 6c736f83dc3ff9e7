# docs/man/: one manual page per command (roff, man(7) macros).  `make man`
# (part of `make all`) checks each with groff (warnings are errors) or, without
# groff, with `man -l`, and copies them to build/man/man1/; `make install`
# installs them under $(PREFIX)/share/man/man1.
MAN_PAGES	:= $(wildcard docs/man/*.1)
MAN_OUT		:= $(patsubst docs/man/%,$(BUILD)/man/man1/%,$(MAN_PAGES))

$(BUILD)/man/man1/%.1: docs/man/%.1
	@mkdir -p $(@D)
	@if command -v groff >/dev/null; then \
		out=$$(groff -man -Tutf8 -ww -z $< 2>&1); \
		[ -z "$$out" ] || { echo "$<: groff: $$out" >&2; exit 1; }; \
	elif command -v man >/dev/null; then \
		man -l $< >/dev/null || exit 1; \
	else echo "  MAN     $<: no groff or man here: not checked"; fi
	@cp $< $@

.PHONY: man
## man: check the manual pages (docs/man/*.1) with groff or man -l; copy them to build/man
man: $(MAN_OUT)
all: man
