// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Site lifetime tables (fragml_site_table_read, what fragml-load --site-table
 * reads): an error is one line and leaves the table empty; what is accepted
 * holds the documented bounds and writes back to an equal table.
 */
#include <string.h>

#include "fragml_model.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fragml_site_counts t, back;
	struct fragml_err err = { 0 };
	const char *path = fuzz_as_file(data, size);

	if (fragml_site_table_read(path, &t, &err)) {
		if (!err.msg[0] || strchr(err.msg, '\n') || t.n || t.e)
			abort();
		return 0;
	}
	if (t.n > FRAGML_SITE_TABLE_MAX)
		abort();
	for (size_t i = 0; i < t.n; i++)
		if (!t.e[i].site || (uint64_t)t.e[i].long_cnt + t.e[i].short_cnt > t.e[i].allocs ||
		    !(t.e[i].long_cnt + t.e[i].short_cnt) || (i && t.e[i].site <= t.e[i - 1].site))
			abort();
	if (fragml_site_table_write(path, &t, &err) || fragml_site_table_read(path, &back, &err) ||
	    back.n != t.n || (t.n && memcmp(back.e, t.e, t.n * sizeof(t.e[0]))))
		abort();
	fragml_site_counts_free(&back);
	fragml_site_counts_free(&t);
	return 0;
}
