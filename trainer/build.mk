# trainer/: dataset stage (libfragml, no XGBoost), training stage (libfragml-train,
# XGBoost C API), fragml-train, fragml-mkmodel and the shipped default models.

BINS += $(BIN)/fragml-mkmodel

$(BIN)/fragml-mkmodel: $(OBJ)/trainer/mkmodel_main.o $(LIBFRAGML_A)
	@mkdir -p $(@D)
	$(CC) -o $@ $^ -lz -lm

## fragml-mkmodel: hand-written models, e.g. `fragml-mkmodel --hook thp_fault --const decline -o m.bin`
