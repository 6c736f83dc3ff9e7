# model/: the model format library (part of libfragml).
LIBFRAGML_SRCS += model/error.c model/model.c model/text.c model/digest.c model/site_table.c

# Hand-written rule models (model/rules/NAME.rule: fragml-mkmodel arguments,
# one per line, '#' comments), built into build/models/NAME.bin.
RULE_MODELS	:= $(patsubst model/rules/%.rule,$(BUILD)/models/%.bin,$(wildcard model/rules/*.rule))
$(BUILD)/models/%.bin: model/rules/%.rule $(BIN)/fragml-mkmodel
	@mkdir -p $(@D)
	@echo "  RULE    $(@F)"
	@grep -v '^#' $< | tr '\n' '\0' | xargs -0 $(BIN)/fragml-mkmodel -o $@ >/dev/null
.PHONY: rules
## rules: build the hand-written rule models (model/rules/*.rule) into build/models/
rules: $(RULE_MODELS)
all: rules

# `make install`: the shipped models, where the example config (docs/examples/fragml.conf) names them.
.PHONY: install-models
install: install-models
install-models:
	install -d $(DESTDIR)$(PREFIX)/share/fragml/models
	install -m 644 model/defaults/*.bin $(DESTDIR)$(PREFIX)/share/fragml/models/
