# selftests/eval: the evaluation runner.  One VM boot per cell of a
# scenario x policy x seed matrix (selftests/eval/*.matrix), policies as data
# (selftests/eval/policies/*.policy), scenarios as scripts
# (selftests/eval/scenarios/*.sh); raw and summary CSV, figures and the report
# under build/eval/.  Included from selftests/build.mk.
EVAL_OUT	?= $(BUILD)/eval
EVALWORK	:= $(BUILD)/selftests/eval/evalwork
EVAL_ENV	= FRAGML_BIN=$(BIN) FRAGML_EVAL_WORK=$(EVALWORK) FRAGML_EVAL_KHASH=$(KHASH)
EVAL_RUN	= $(EVAL_ENV) $(TOP)/selftests/eval/run-eval.sh
EVAL_MATRIX	?= $(TOP)/selftests/eval/full.matrix

$(EVALWORK): selftests/eval/evalwork.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DEPFLAGS) -MF $@.d -o $@ $< -lm

CHECK_DEPS	+= $(EVALWORK)

.PHONY: eval eval-quick eval-report eval-publish
## eval-quick: smoke run of the evaluation (5 cells, about 8 min) into build/eval/quick; fails when a cell yields no metrics
eval-quick: vmtest-deps $(EVALWORK) rules
	@$(EVAL_RUN) $(TOP)/selftests/eval/quick.matrix $(EVAL_OUT)/quick $(KBZIMAGE)

## eval: the evaluation matrix (EVAL_MATRIX, default selftests/eval/full.matrix: 51 cells, about 85 min) -> build/eval/report.md
eval: vmtest-deps $(EVALWORK) rules
	@$(EVAL_RUN) $(abspath $(EVAL_MATRIX)) $(EVAL_OUT) $(KBZIMAGE)

## eval-report: rebuild build/eval/{cells,summary}.csv, figures and report.md from the cells of the last `make eval`
eval-report:
	@$(TOP)/selftests/eval/report.sh $(EVAL_OUT)

## eval-publish: copy build/eval/report.md and its figures to docs/report.md and docs/report/
eval-publish:
	@test -s $(EVAL_OUT)/report.md || { echo "eval-publish: $(EVAL_OUT)/report.md missing: run 'make eval'" >&2; exit 1; }
	@mkdir -p $(TOP)/docs/report
	@rm -f $(TOP)/docs/report/*.png
	cp $(EVAL_OUT)/report.md $(TOP)/docs/report.md
	cp $(EVAL_OUT)/report/*.png $(TOP)/docs/report/
