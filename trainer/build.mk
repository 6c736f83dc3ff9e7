# trainer/: dataset and analysis stage (libfragml, no XGBoost), training stage
# (libfragml-train, XGBoost C API), the commands fragml-train / fragml-mkmodel /
# fragml-synth, and `make models`, which regenerates the shipped defaults in
# model/defaults/.

LIBFRAGML_SRCS += trainer/dataset.c trainer/analyze.c
LIBFRAGML_TRAIN_SRCS += trainer/train.c trainer/train_compile.c trainer/train_threshold.c \
			trainer/train_metrics.c trainer/train_report.c
BINS += $(BIN)/fragml-train $(BIN)/fragml-mkmodel $(BIN)/fragml-synth

$(BIN)/fragml-train: $(OBJ)/trainer/train_main.o $(LIBTRAIN_A) $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lxgboost -ljson-c -lz -lm

$(BIN)/fragml-mkmodel: $(OBJ)/trainer/mkmodel_main.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lz -lm

$(BIN)/fragml-synth: $(OBJ)/trainer/synth_main.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lz -lm

# ---- shipped default models ----
MODELS_DIR	:= $(TOP)/model/defaults
MODELS_DATA	?= $(BUILD)/models-data
TRAIN_SEED	?= 1

## models: retrain model/defaults/{lifetime,thp_fault,compaction}.{bin,json,md} from trainer/data/apps-*.csv.gz (byte-identical)
models: $(BIN)/fragml-train $(BIN)/fragml-synth
	@mkdir -p $(MODELS_DIR) $(MODELS_DATA)
	FRAGML_BIN=$(BIN) MODELS_DIR=$(MODELS_DIR) MODELS_DATA=$(MODELS_DATA) \
		TRAIN_SEED=$(TRAIN_SEED) $(TOP)/trainer/make-models.sh

## fragml-train: train a model from collector CSV (docs/trainer.md); fragml-mkmodel: hand-written models
.PHONY: models

# ---- the fallback gate's learned model (docs/trainer.md "Fallback gate") ----
GATE_DATA	?= $(TOP)/trainer/data

## collect-gate: collect fallback-gate training data in the QEMU guest -> trainer/data/fallback*.csv.gz
collect-gate: vmtest-deps
	$(TOP)/trainer/collect-gate.sh $(KBZIMAGE) $(BUILD)/collect-$(or $(GATE_NAME),gate) $(GATE_DATA)

## fallback-model: retrain model/defaults/fallback.{bin,json,md} from trainer/data (byte-identical)
fallback-model: $(BIN)/fragml-train $(BIN)/fragml-synth
	FRAGML_BIN=$(BIN) TRAIN_SEED=$(TRAIN_SEED) $(TOP)/trainer/make-fallback-model.sh \
		$(GATE_DATA) $(MODELS_DIR) $(BUILD)/fallback-model

## compare-gate: no policy vs the defrag_mode rule vs the learned gate, QEMU guest, 3 seeds
compare-gate: vmtest-deps rules
	@FRAGML_VM_TIMEOUT=$${FRAGML_VM_TIMEOUT:-3000} $(TOP)/selftests/vm/run-vm.sh $(KBZIMAGE) \
		$(BUILD)/compare-gate script FRAGML_SCRIPT=$(TOP)/trainer/compare-gate-guest.sh \
		$(VMTEST_ENV) FRAGML_MODELS_DIR=$(TOP)/model \
		$(foreach v,GATE_SEEDS GATE_CMP_WORKLOAD GATE_CMP_STRIDE GATE_PCP_FRACTION,$(if $($(v)),$(v)=$($(v))))
	@$(TOP)/trainer/compare-gate-table.sh $(BUILD)/compare-gate/output.txt
.PHONY: collect-gate fallback-model compare-gate

# ---- real applications in the guest (docs/trainer.md "Application data") ----
## collect-apps: real applications under memory pressure in the QEMU guest (eval runner, policy collect; two guest shapes, ~40 min each; not in CI) -> trainer/data/apps-*.csv.gz
collect-apps: vmtest-deps eval-deps
	$(EVAL_ENV) $(TOP)/trainer/collect-apps.sh $(KBZIMAGE) $(BUILD)/collect-apps $(GATE_DATA)

## source-report: who pollutes pageblocks (system sources, applications, processes) with the held-out precision per source, from trainer/data/apps-lifetime.csv.gz -> build/source-report/sources.md
source-report: $(BIN)/fragml-train $(BIN)/fragml-synth
	FRAGML_BIN=$(BIN) TRAIN_SEED=$(TRAIN_SEED) $(TOP)/trainer/source-report.sh $(GATE_DATA)/apps-lifetime.csv.gz $(BUILD)/source-report
.PHONY: collect-apps source-report
