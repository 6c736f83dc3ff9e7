// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Collector CSV reader (fragml_dataset_read_csv), then the split the trainer
 * runs on what it read.  The first byte picks the options.
 */
#include <string.h>

#include "fragml_dataset.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragml_read_opts ro = { .hook = -1 };
	struct fragml_err err = { 0 };
	struct fragml_dataset ds;
	const char *path;
	uint8_t *part;

	if (size < 1)
		return 0;
	ro.allow_missing_columns = data[0] & 1;
	if (data[0] & 0x80) {	/* another label column (fragml-train --label) */
		ro.label_column = data[0] & 0x40 ? "life_class" : "pollutes";
		ro.label_min = 1 + (data[0] >> 4 & 1);
	}
	ro.hook = (data[0] >> 1 & 7) < FRAGML_NR_HOOKS ? (data[0] >> 1 & 7) : -1;
	path = fuzz_as_file(data + 1, size - 1);
	fragml_dataset_init(&ds);
	if (fragml_dataset_read_csv(&ds, path, &ro, &err)) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort();
	} else if (ds.n_rows) {
		part = malloc(ds.n_rows);
		if (part) {
			fragml_dataset_split(&ds, NULL, part, &err);
			free(part);
		}
		fragml_dataset_check_float32(&ds, &err);
	}
	fragml_dataset_free(&ds);
	return 0;
}
