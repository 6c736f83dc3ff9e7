// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `fragml analyze` input: a CSV read as the command reads it, summarised, its
 * drift against its own first half computed, and both reports (text and
 * JSON, which must parse) printed.
 */
#include <string.h>

#include <json-c/json.h>

#include "fragml_analyze.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragml_read_opts ro = { .hook = -1, .allow_missing_columns = 1 };
	struct fragml_dataset a, b;
	struct fragml_analysis an = { 0 };
	struct fragml_err err = { 0 };
	static struct fragml_drift d;
	char *buf = NULL;
	size_t len = 0;
	FILE *out;

	fragml_dataset_init(&a);
	fragml_dataset_init(&b);
	if (fragml_dataset_read_csv(&a, fuzz_as_file(data, size), &ro, &err) ||
	    fragml_analyze(&a, -1, &an, &err))
		goto done;
	for (size_t i = 0; i < a.n_rows / 2 + 1 && i < a.n_rows; i++)
		fragml_dataset_add_row(&b, a.ts_ns[i], a.workloads[a.workload[i]], a.hook[i], a.cls[i],
				       a.sources[a.source[i]], &a.x[i * FRAGML_MAX_FEATURES], a.label[i],
				       &err);
	if (fragml_drift_compute(&a, &b, an.hook, NULL, &d, &err))
		memset(&d, 0, sizeof(d));
	out = fopen("/dev/null", "w");
	if (out) {
		fragml_analysis_print(out, "fuzz", &an, &d, 0, false, &err);
		fclose(out);
	}
	out = open_memstream(&buf, &len);
	if (out) {
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o;

		fragml_analysis_print(out, "fuzz", &an, &d, 15, true, &err);
		fclose(out);
		/* --json must stay valid JSON, in valid UTF-8, for any input */
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		o = json_tokener_parse_ex(tok, buf, (int)len);
		if (!o)
			abort();
		json_object_put(o);
		json_tokener_free(tok);
		free(buf);
	}
done:
	fragml_analysis_free(&an);
	fragml_dataset_free(&a);
	fragml_dataset_free(&b);
	return 0;
}
