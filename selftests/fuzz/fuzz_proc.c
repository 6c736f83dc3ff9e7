// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The /proc and debugfs parsers on any stream: /proc/buddyinfo, then
 * debugfs extfrag_index / unusable_index against the zones it found, and
 * /proc/pagetypeinfo.  The first byte picks which stream gets the input.
 */
#include <string.h>

#include "fragml_collect.h"
#include "fuzz_common.h"

static const char buddy[] =
	"Node 0, zone      DMA      0      0      0      0      0      0      0      0      1      1      2\n"
	"Node 0, zone    DMA32      4      3      5      2      4      3      4      4      3      2    432\n"
	"Node 0, zone   Normal   1010    466    266    113     75     38     23     12      6      7   1401\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fragml_snapshot s;
	struct fragml_err err = { 0 };
	int64_t blocks[6];
	unsigned int which;
	FILE *f;

	if (size < 1)
		return 0;
	which = data[0] % 3;
	data++, size--;
	memset(&s, 0, sizeof(s));
	/* buddyinfo: the input, or a real one the index files refer to */
	f = which == 0 ? fmemopen((void *)data, size, "r") : fmemopen((void *)buddy, sizeof(buddy) - 1, "r");
	if (!f)
		return 0;
	fragml_buddyinfo_parse(f, &s);
	fclose(f);
	if (s.n_zones > FRAGML_MAX_ZONES_SNAP)
		abort();
	if (which == 1 && size) {
		f = fmemopen((void *)data, size, "r");
		if (f) {
			fragml_index_parse(f, &s, 1);
			rewind(f);
			fragml_index_parse(f, &s, 0);
			fclose(f);
		}
	}
	if (which == 2 && size) {
		f = fmemopen((void *)data, size, "r");
		if (f) {
			if (fragml_pagetypeinfo_parse(f, "fuzz", blocks, &err) == 0)
				for (int i = 0; i < 6; i++)
					if (blocks[i] < -1)
						abort();
			fclose(f);
		}
	}
	f = fopen("/dev/null", "w");
	if (f) {
		fragml_snapshot_json(&s, f);
		fclose(f);
	}
	return 0;
}
